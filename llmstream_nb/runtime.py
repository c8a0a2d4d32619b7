"""Where the code runs: in a Jupyter kernel or not, on a running event loop or not; and tasks kept alive.

One place for these so every view, the magic and the HTTP layer answer them the same way.
asyncio keeps only weak references to tasks, so a task nobody awaits (a view streaming after
its cell returned) must be held somewhere until it ends: `keep_alive` is that somewhere.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any, TypeVar

F = TypeVar("F", bound="asyncio.Future[Any]")

_ALIVE: set[asyncio.Future[Any]] = set()


def in_kernel() -> bool:
    """True inside a Jupyter kernel (widgets can render); False in a terminal IPython or plain Python."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and getattr(shell, "kernel", None) is not None


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running in this thread (a notebook cell's), or None."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def loop_is_running() -> bool:
    return running_loop() is not None


def keep_alive(task: F) -> F:
    """Hold `task` until it is done (the loop alone would let it be collected mid-run); returns it."""
    _ALIVE.add(task)
    task.add_done_callback(_ALIVE.discard)
    return task
