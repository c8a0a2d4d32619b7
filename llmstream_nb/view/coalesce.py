"""Coalescing token deltas in time, so widget traffic is bounded whatever the token rate.

Like rich's `Live`, the refresh rate belongs to the renderer: producers append pieces (text,
or chunks when a message carries more than the answer) and a `Coalescer` decides when the
buffer goes out. Two rules hold at once:

- at most one flush per `interval` (1/30 s by default), so a source producing 20,000
  tokens a second sends ~30 messages a second, not 20,000;
- no text waits longer than one `interval`, even if the source then stalls: a timer
  flushes what is left (this is why "flush when the next chunk comes" is not enough);
- the views streaming at once in one process share `SHARED_RATE` messages a second: up to
  8 get 30 each, and beyond that each one's interval grows, so 64 async views send ~240
  messages a second together rather than ~1,900 (each costs the kernel its serialising and
  signing, and the page a repaint; bench section 4 measured the difference).

`Coalescer` is the pure policy (an injectable clock makes it testable without sleeping);
`Flusher` adds the lock, the timer and the send. The timer is a thread in blocking mode
(the cell occupies the kernel's loop) and `loop.call_later` in async mode.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
import weakref
from typing import Callable, Generic, TypeVar

Clock = Callable[[], float]
Cancel = Callable[[], object]
#: schedule(delay_seconds, callback) -> cancel function
Schedule = Callable[[float, Callable[[], None]], Cancel]

DEFAULT_INTERVAL = 1 / 30
#: Messages a second that all flushers alive at once share (see the module docstring).
SHARED_RATE = 240.0

#: What is buffered: the policy never looks inside a piece.
P = TypeVar("P")


class Coalescer(Generic[P]):
    """Buffers pieces and says when they are due to be sent."""

    def __init__(self, interval: float = DEFAULT_INTERVAL, clock: Clock = time.monotonic) -> None:
        self.interval = interval
        self.clock = clock
        self._pending: list[P] = []
        self._last_flush = -math.inf
        self._due = math.inf

    def add(self, piece: P) -> None:
        if not self._pending:
            # Due now if the last flush is an interval old, else one interval after it.
            self._due = max(self._last_flush + self.interval, self.clock())
        self._pending.append(piece)

    @property
    def due(self) -> float | None:
        """When the buffered text must go out (None when nothing is buffered)."""
        return self._due if self._pending else None

    def ready(self) -> bool:
        return bool(self._pending) and self.clock() >= self._due

    def take(self) -> list[P]:
        """Hand over the buffer and start a new interval."""
        pieces, self._pending = self._pending, []
        self._last_flush = self.clock()
        return pieces


class Flusher(Generic[P]):
    """Sends coalesced pieces with `send(pieces)`, from the producer or from a timer.

    Thread-safe: in blocking mode the producer is the cell's thread and the timer runs
    on its own thread; the lock keeps messages in order and never sends one twice.
    """

    def __init__(
        self,
        send: Callable[[list[P]], None],
        schedule: Schedule,
        interval: float = DEFAULT_INTERVAL,
        clock: Clock = time.monotonic,
    ) -> None:
        self._send = send
        self._schedule = schedule
        self._interval = interval
        self._coalescer: Coalescer[P] = Coalescer(interval, clock)
        self._lock = threading.Lock()
        self._cancel_timer: Cancel | None = None
        self._closed = False
        self.flushes = 0
        _LIVE.add(self)

    def add(self, piece: P) -> None:
        with self._lock:
            if self._closed:
                return
            self._coalescer.interval = shared_interval(self._interval)
            self._coalescer.add(piece)
            if self._coalescer.ready():
                self._flush_locked()
            elif self._cancel_timer is None:
                self._arm_locked()

    def flush(self, then: Callable[[], None] | None = None) -> None:
        """Send what is buffered now, then run `then` before any later flush can interleave."""
        with self._lock:
            if self._coalescer.due is not None:
                self._flush_locked()
            if then is not None:
                then()

    def close(self) -> None:
        """Final flush; later pieces and timers are ignored."""
        with self._lock:
            if self._coalescer.due is not None:
                self._flush_locked()
            if self._cancel_timer is not None:
                self._cancel_timer()
                self._cancel_timer = None
            self._closed = True
        _LIVE.discard(self)

    def _arm_locked(self) -> None:
        due = self._coalescer.due
        assert due is not None
        delay = max(0.0, due - self._coalescer.clock())
        self._cancel_timer = self._schedule(delay, self._on_timer)

    def _on_timer(self) -> None:
        with self._lock:
            self._cancel_timer = None
            if self._closed or self._coalescer.due is None:
                return
            if self._coalescer.ready():
                self._flush_locked()
            else:  # armed for an earlier deadline that a producer flush already served
                self._arm_locked()

    def _flush_locked(self) -> None:
        self.flushes += 1
        self._send(self._coalescer.take())


#: The flushers not yet closed (weakly held: one dropped without `close()` leaves by itself).
_LIVE: weakref.WeakSet[Flusher] = weakref.WeakSet()


def shared_interval(interval: float) -> float:
    """`interval`, or longer while more flushers are alive than `SHARED_RATE` allows at that rate."""
    return max(interval, len(_LIVE) / SHARED_RATE)


def thread_schedule(delay: float, callback: Callable[[], None]) -> Cancel:
    """A timer thread: fires even while the cell's thread is blocked in the source."""
    timer = threading.Timer(delay, callback)
    timer.daemon = True
    timer.start()
    return timer.cancel


def loop_schedule(loop: asyncio.AbstractEventLoop) -> Schedule:
    """Timers on the event loop that runs the stream's task (async mode)."""

    def schedule(delay: float, callback: Callable[[], None]) -> Cancel:
        return loop.call_later(delay, callback).cancel

    return schedule
