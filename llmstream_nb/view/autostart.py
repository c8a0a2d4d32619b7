"""`display(view)` of a view that has not started: start it the way `show()` would run it.

A StreamView made from a stream and displayed (`display(v)`, or `v` as the cell's last value)
used to sit at "waiting" for ever, waiting for a `run()` nobody knew to call. Now displaying
it runs it: on the kernel's loop for an async source, blocking for a sync one, as `show()`
does. A source it cannot read ends the view at once with the reason in its status line.
"""

from __future__ import annotations

from typing import Any, Protocol

from .. import runtime
from ..sources import is_async_source


class Startable(Protocol):
    """What this needs of a StreamView (not imported: the view imports this module)."""

    @property
    def source(self) -> Any: ...

    def start(self) -> Any: ...

    def run(self) -> Any: ...

    def refuse(self, error: BaseException) -> None: ...


def run_on_display(view: Startable) -> None:
    """Start `view` now (as a task for an async source on a running loop, else blocking)."""
    try:
        if is_async_source(view.source) and runtime.loop_is_running():
            view.start()
        else:
            view.run()
    except Exception as exc:  # the source cannot be read: say so in the view, not as a traceback
        view.refuse(exc)
