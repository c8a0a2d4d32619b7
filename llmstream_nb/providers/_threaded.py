"""A producer that runs in a worker thread, read from sync or async code through a queue.

A local model computes each token on the CPU for tens of milliseconds; done on the event loop that
would freeze a notebook's kernel, so the work runs in a thread and hands each piece over. Closing
the reader (leaving a `for` loop, `close()`, Ctrl-C, cancelling a task) sets `stop`, which the
producer checks between two tokens, so generation ends at once and the thread goes away.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from typing import AsyncIterator, Callable, Generic, Iterator, TypeVar

T = TypeVar("T")
Work = Callable[[Callable[[T], None], threading.Event], None]

_DONE = object()
#: How far a sync producer may run ahead of its reader: a reader that stops reading stops the model soon.
SYNC_AHEAD = 4
_PUT_WAIT = 0.05


class _Raised:
    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def iterate_in_thread(work: Work[T], name: str) -> Iterator[T]:
    """Run `work(emit, stop)` in a thread and yield what it emits; closing the iterator stops it."""
    items: queue.Queue[object] = queue.Queue(maxsize=SYNC_AHEAD)
    stop = threading.Event()

    def emit(item: object) -> None:
        while not stop.is_set():  # a reader that went away must not leave the producer blocked
            try:
                items.put(item, timeout=_PUT_WAIT)
                return
            except queue.Full:
                pass

    thread = threading.Thread(target=_run, args=(work, emit, stop), name=name, daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is _DONE:
                return
            if isinstance(item, _Raised):
                raise item.exc
            yield item  # type: ignore[misc]
    finally:
        stop.set()


async def aiterate_in_thread(work: Work[T], name: str) -> AsyncIterator[T]:
    """Async twin of `iterate_in_thread`: the loop only ever waits on a queue, never on the model.

    The queue is unbounded, but a generation is bounded by the model's context, so it holds at most
    one answer's tokens.
    """
    loop = asyncio.get_running_loop()
    items: asyncio.Queue[object] = asyncio.Queue()
    stop = threading.Event()

    def emit(item: object) -> None:
        if stop.is_set():
            return
        try:
            loop.call_soon_threadsafe(items.put_nowait, item)
        except RuntimeError:  # the loop closed between the check and the call: nobody is reading
            stop.set()

    thread = threading.Thread(target=_run, args=(work, emit, stop), name=name, daemon=True)
    thread.start()
    try:
        while True:
            item = await items.get()
            if item is _DONE:
                return
            if isinstance(item, _Raised):
                raise item.exc
            yield item  # type: ignore[misc]
    finally:
        stop.set()


def _run(work: Work[T], emit: Callable[[object], None], stop: threading.Event) -> None:
    try:
        work(emit, stop)
    except BaseException as exc:  # handed to the reader, raised there
        emit(_Raised(exc))
    emit(_DONE)
