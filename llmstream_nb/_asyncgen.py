"""Closing the async generator a stream reads from, when the event loop may be closing it already.

A consumer that leaves `async for` without closing the stream abandons a chain of our generators
(stream, provider, HTTP body) at once. The event loop then closes each in a task of its own, in no
set order. If the inner one's task runs first and waits (on the socket's close), the outer one's
cleanup finds it mid-close, and a second `aclose()` raises "aclose(): asynchronous generator is
already running", which asyncio prints as "Task exception was never retrieved". The inner close is
under way by then, so there is nothing left to do but let it finish.
"""

from __future__ import annotations

from typing import Any


async def aclose_unless_closing(source: Any) -> None:
    """`await source.aclose()`, skipped while `source` is already running (that is, being closed)."""
    if getattr(source, "ag_running", False):
        return
    aclose = getattr(source, "aclose", None)
    if aclose is not None:
        await aclose()
