"""The three ways a view consumes its source, shared by `StreamView` and `EventsView`.

- `consume_here`: blocking, on the cell's thread (a sync source). ipykernel handles no comm
  message while a cell runs, so Jupyter's interrupt (a KeyboardInterrupt here) is the way to stop.
- `start_task`: a task on the running loop (a notebook's): the cell returns at once, a Stop click
  cancels the task, which closes the source. docs/architecture.md: such a task outlives the cell and its widget
  updates and clicks work meanwhile.
- `consume_on_thread`: blocking for an async source: its own loop on a worker thread, cancelled
  on interrupt. The wait is an Event, not `Thread.join`: a join interrupted by Ctrl-C can mark a
  live thread as stopped (CPython 3.11, bpo-45274's fix), and the loop would be closed while running.

A consumer takes each item (`accept`), says whether a stop was asked for (`stop_requested`) and
is told once how the run ended (`end`). Closing the source never hides how the run ended.
"""

from __future__ import annotations

import asyncio
import threading
from typing import AsyncIterator, Callable, Iterator, Protocol, TypeVar

from .. import runtime
from ..sources.iterators import aclose_source
from ..status import Status

T = TypeVar("T")
T_contra = TypeVar("T_contra", contravariant=True)


class Consumer(Protocol[T_contra]):
    stop_requested: bool

    @property
    def active(self) -> bool: ...

    def accept(self, item: T_contra) -> None: ...

    def end(self, status: Status, error: BaseException | None = None) -> None: ...


def consume_here(items: Iterator[T], consumer: Consumer[T], close: Callable[[], object]) -> bool:
    """Feed `consumer` from `items` on this thread; True when Jupyter's interrupt stopped it."""
    status, error, interrupted = Status.DONE, None, False
    try:
        for item in items:
            if consumer.stop_requested:
                break
            consumer.accept(item)
    except KeyboardInterrupt:
        status, interrupted = Status.STOPPED, True
    except Exception as exc:
        status, error = Status.ERROR, exc
    else:
        status = Status.STOPPED if consumer.stop_requested else Status.DONE
    finally:
        try:
            close()
        except Exception:  # a failure to close must not hide how the stream ended
            pass
        consumer.end(status, error)
    return interrupted


async def consume_async(items: AsyncIterator[T], consumer: Consumer[T]) -> None:
    """Feed `consumer` from `items` on the loop. A cancellation we asked for (Stop) ends as "stopped";
    one from elsewhere (a timeout, a task group) is theirs and propagates."""
    status, error = Status.DONE, None
    try:
        async for item in items:
            if consumer.stop_requested:
                break
            consumer.accept(item)
    except (asyncio.CancelledError, KeyboardInterrupt):
        status = Status.STOPPED
        if not consumer.stop_requested:
            raise
        _uncancel_current_task()
    except Exception as exc:
        status, error = Status.ERROR, exc
    else:
        status = Status.STOPPED if consumer.stop_requested else Status.DONE
    finally:
        try:
            await aclose_source(items)
        except Exception:
            pass
        consumer.end(status, error)


def start_task(loop: asyncio.AbstractEventLoop, items: AsyncIterator[T], consumer: Consumer[T]) -> asyncio.Task[None]:
    """`consume_async` as a task on `loop`, kept alive until it ends."""
    task = runtime.keep_alive(loop.create_task(consume_async(items, consumer)))

    def ended(task: asyncio.Task[None]) -> None:  # cancelled before its first step: no handler ran
        if task.cancelled() and consumer.active:
            consumer.end(Status.STOPPED)

    task.add_done_callback(ended)
    return task


def consume_on_thread(items: AsyncIterator[T], consumer: Consumer[T]) -> bool:
    """Blocking mode for an async source (see the module doc); True when interrupted."""
    loop = asyncio.new_event_loop()
    task = start_task(loop, items, consumer)
    finished = threading.Event()

    def work() -> None:
        try:
            loop.run_until_complete(task)
        finally:
            finished.set()

    threading.Thread(target=work, name="llmstream-view", daemon=True).start()
    interrupted = False
    try:
        while not finished.wait(0.1):
            pass
    except KeyboardInterrupt:
        interrupted = True
        consumer.stop_requested = True
        loop.call_soon_threadsafe(task.cancel)
        finished.wait()
    finally:
        if finished.is_set():
            loop.close()
    return interrupted


def _uncancel_current_task() -> None:
    """We asked for this cancellation (Stop) and handled it; don't leave it counted (3.11+)."""
    task = asyncio.current_task()
    if task is not None and hasattr(task, "uncancel"):
        task.uncancel()
