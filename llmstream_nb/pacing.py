"""`speed`: one meaning, one check, one schedule, for replays and for slow motion alike.

`speed` divides time: an item that arrived `a` seconds after the start is due at `start + a / speed`
(2 = twice as fast, 0.25 = four times slower). 0 means no waiting at all: every item is due at once
(a replay plays instantly, slow motion passes items on as they come). Each item is due at a time
scheduled from the start, never after a `sleep(gap)`, so a sleep that overshoots never delays the
items after it (no drift over a long answer). The clock is injectable, so tests need no real time.
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable

from .errors import ConfigurationError

Clock = Callable[[], float]

SPEED_HELP = "2 = twice as fast, 0.25 = four times slower, 0 = no waiting"


def check_speed(speed: Any, name: str = "speed") -> float:
    """`speed` as a float, 0 or more; a one-line `ConfigurationError` (a ValueError) otherwise."""
    if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not math.isfinite(speed) or speed < 0:
        raise ConfigurationError(f"{name} must be a number, 0 or more ({SPEED_HELP}), got {speed!r}")
    return float(speed)


def due_time(start: float, arrival: float, speed: float) -> float:
    """When an item that arrived `arrival` seconds after `start` is due (clock seconds); at once for speed 0."""
    return start if speed == 0 else start + arrival / speed


class Pacer:
    """The schedule: stamps arrivals from the start and says how long an item still waits."""

    def __init__(self, speed: float, clock: Clock = time.perf_counter) -> None:
        self.speed = check_speed(speed)
        self.clock = clock
        self.start = clock()

    def arrived(self) -> float:
        """Seconds since the start, now: the arrival of the item just read."""
        return self.clock() - self.start

    def wait(self, arrival: float) -> float:
        """Seconds left before the item that arrived at `arrival` is due (0 when it is due already)."""
        return max(0.0, due_time(self.start, arrival, self.speed) - self.clock())
