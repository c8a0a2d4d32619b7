"""Crossing between sync and async code without touching the caller's event loop.

Inside a Jupyter kernel an event loop is already running, so a sync method cannot call
`asyncio.run`, and patching the loop (`nest_asyncio`) breaks ipykernel 7.3+ (see
docs/architecture.md). Like langchain_core, we run the coroutine side in a worker thread with a loop
of its own; the other direction hands each blocking `next()` to a thread so the caller's
loop keeps serving other tasks.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import AsyncIterator, Awaitable, Callable, Iterator, TypeVar

T = TypeVar("T")
_DONE = object()


def run_coroutine_sync(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion from sync code, whether or not a loop is running here."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_await(make))
    result: list[T] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            result.append(asyncio.run(_await(make)))
        except BaseException as exc:  # handed back to the caller below
            errors.append(exc)

    thread = threading.Thread(target=work, name="llmstream-sync-bridge", daemon=True)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]


async def _await(make: Callable[[], Awaitable[T]]) -> T:
    return await make()


def iterate_async_in_thread(make: Callable[[], AsyncIterator[T]]) -> Iterator[T]:
    """Iterate an async iterator from sync code; closing the generator stops the worker."""
    items: queue.Queue[object] = queue.Queue(maxsize=256)
    stop = threading.Event()

    async def pump() -> None:
        iterator = make()
        try:
            async for item in iterator:
                if stop.is_set():
                    break
                items.put(item)
        except BaseException as exc:
            items.put(_Raised(exc))
        finally:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                await aclose()
            items.put(_DONE)

    thread = threading.Thread(target=asyncio.run, args=(pump(),), name="llmstream-async-bridge", daemon=True)
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
        while thread.is_alive():  # drain so a blocked producer can finish
            try:
                items.get(timeout=0.05)
            except queue.Empty:
                pass


async def aiterate_sync_in_thread(iterator: Iterator[T]) -> AsyncIterator[T]:
    """Iterate a blocking iterator from async code, one `next()` per worker-thread call.

    One dedicated worker keeps `next()` and `close()` in order, and closing is not awaited,
    so cancelling the consumer never waits on a blocked read.
    """
    loop = asyncio.get_running_loop()
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llmstream-sync-iter")
    try:
        while True:
            item = await loop.run_in_executor(worker, next, iterator, _DONE)
            if item is _DONE:
                return
            yield item  # type: ignore[misc]
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            worker.submit(close)
        worker.shutdown(wait=False)


class _Raised:
    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc
