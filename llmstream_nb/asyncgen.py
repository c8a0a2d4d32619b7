"""Closing what a stream reads from, when the event loop may be closing it already.

A consumer that leaves `async for` without closing the stream abandons a chain of async generators
(stream, provider, HTTP body) at once. Should they be collected together, the event loop closes
each in a task of its own, in no set order. If the inner one's task runs first and waits (on the
socket's close), the outer one's cleanup finds it mid-close, and a second `aclose()` raises
"aclose(): asynchronous generator is already running", which asyncio prints as "Task exception was
never retrieved". The inner close is under way by then, so there is nothing left to do but let it
finish.
"""

from __future__ import annotations

import inspect
from typing import Any


async def aclose_source(obj: Any) -> None:
    """`aclose()`, or an async `close()` (the OpenAI and Anthropic SDKs' async streams have only that);
    nothing while `obj` is an async generator already running, that is, being closed."""
    if getattr(obj, "ag_running", False):
        return
    close = getattr(obj, "aclose", None) or getattr(obj, "close", None)
    if callable(close):
        result = close()
        if inspect.isawaitable(result):
            await result
