"""Slow motion: any stream, live or replayed, shown slower (or faster) than it arrives.

`slow_motion(source, speed=0.25)` yields the source's items with their arrival gaps divided
by `speed`: an item that arrived `a` seconds after the start is passed on at `start + a / speed`.
The source is read ahead (a thread, or a task on the loop) so arrivals are measured when items
really come. Each item is due at a time scheduled from the start, never after a `sleep(gap)`, so a sleep
that overshoots never delays the items after it (no drift over a long answer). A live source
cannot be made faster than it arrives: with `speed > 1` an item is passed on as soon as it
arrives and is due; at speed 0 (pacing.py: no waiting) every item as soon as it arrives. The async wrapper waits with `asyncio.sleep`, so the event loop keeps
running; the sync one with `time.sleep`. Clock and sleeps are injectable for tests.

The view stamps what the wrapper yields by its own clock, so a view's `chunks` (and its
timings, and a recording saved from it) show the slowed arrival times; the wrapped stream
keeps its real ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from typing import Any, AsyncIterator, Awaitable, Callable, Iterator

from ..pacing import Clock, Pacer, check_speed
from .iterators import aclose_source, close_source

__all__ = ["AsyncSlowMotion", "Clock", "Pacer", "SlowMotion", "check_speed", "slow_motion"]

_END = object()


class SlowMotion:
    """A sync source, slowed: iterate it like the source; `close()` closes the source.

    The source is read ahead on a worker thread, so each item's arrival is when it really came,
    not when the slowed consumer got round to asking for it. A close asked for while the worker
    waits for the source takes effect after the item it is waiting for.
    """

    def __init__(
        self, source: Any, speed: float, *, clock: Clock = time.perf_counter, sleep: Callable[[float], Any] = time.sleep
    ) -> None:
        self.source = source
        self.speed = check_speed(speed)
        self._clock = clock
        self._sleep = sleep
        self._stop = threading.Event()
        self._started = False

    def __iter__(self) -> Iterator[Any]:
        return self._iterate()

    def _iterate(self) -> Iterator[Any]:
        self._started = True
        pacer = Pacer(self.speed, self._clock)
        arrivals: queue.Queue[tuple[float, Any, BaseException | None]] = queue.Queue()
        threading.Thread(target=self._read, args=(pacer, arrivals), name="llmstream-slow-motion", daemon=True).start()
        try:
            while True:
                arrival, item, error = arrivals.get()
                wait = pacer.wait(arrival)
                if wait > 0:
                    self._sleep(wait)
                if error is not None:
                    raise error
                if item is _END:
                    return
                yield item
        finally:
            self._stop.set()

    def _read(self, pacer: Pacer, arrivals: queue.Queue[tuple[float, Any, BaseException | None]]) -> None:
        try:
            for item in self.source:
                arrivals.put((pacer.arrived(), item, None))
                if self._stop.is_set():
                    break
        except BaseException as exc:  # handed to the consumer, raised at its slowed time
            arrivals.put((pacer.arrived(), _END, exc))
            return
        finally:
            if self._stop.is_set():
                close_source(self.source)
        arrivals.put((pacer.arrived(), _END, None))

    def close(self) -> None:
        self._stop.set()
        if not self._started:
            close_source(self.source)


class AsyncSlowMotion:
    """An async source, slowed, waiting with `asyncio.sleep`; `aclose()` closes the source.

    The source is read ahead by a task on the same loop, for the same reason as `SlowMotion`.
    """

    def __init__(
        self,
        source: Any,
        speed: float,
        *,
        clock: Clock = time.perf_counter,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.source = source
        self.speed = check_speed(speed)
        self._clock = clock
        self._sleep = sleep

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Any]:
        pacer = Pacer(self.speed, self._clock)
        arrivals: asyncio.Queue[tuple[float, Any, BaseException | None]] = asyncio.Queue()

        async def read() -> None:
            try:
                async for item in self.source:
                    arrivals.put_nowait((pacer.arrived(), item, None))
            except asyncio.CancelledError:
                raise
            except BaseException as exc:
                arrivals.put_nowait((pacer.arrived(), _END, exc))
                return
            arrivals.put_nowait((pacer.arrived(), _END, None))

        reader = asyncio.ensure_future(read())
        try:
            while True:
                arrival, item, error = await arrivals.get()
                wait = pacer.wait(arrival)
                if wait > 0:
                    await self._sleep(wait)
                if error is not None:
                    raise error
                if item is _END:
                    return
                yield item
        finally:
            reader.cancel()
            with contextlib.suppress(BaseException):
                await reader
            await aclose_source(self.source)

    async def aclose(self) -> None:
        await aclose_source(self.source)


def slow_motion(source: Any, speed: float, **clock_and_sleep: Any) -> SlowMotion | AsyncSlowMotion:
    """`source` (sync or async iterable) with its arrival gaps divided by `speed`."""
    from .iterators import is_async_source

    if is_async_source(source):
        if not hasattr(source, "__aiter__"):
            raise TypeError("slow motion needs an iterable stream; enter this context manager first")
        return AsyncSlowMotion(source, speed, **clock_and_sleep)
    if not hasattr(source, "__iter__"):
        raise TypeError(f"slow motion needs an iterable stream, not a {type(source).__name__}")
    return SlowMotion(source, speed, **clock_and_sleep)
