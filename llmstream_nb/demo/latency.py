"""A simulated serving latency profile: time to first token, tokens per second, jitter.

A real provider's stream has a pause before the first token (queueing, prompt processing) and then a
roughly steady rate with some unevenness. The demo model reproduces that shape so that streaming code
and widgets are exercised the way a real model exercises them; ``LatencyProfile.ZERO`` turns it off for
tests and benchmarks. This module only produces the numbers; the caller decides how to wait.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class LatencyProfile:
    """How long a simulated server takes: ``ttft`` seconds to the first token, then ``tokens_per_second``.

    ``jitter`` is the relative spread of every delay: each one is ``base × (1 + jitter × u)`` with ``u``
    uniform in [-1, 1] (so the mean stays ``base``; delays never go below zero). ``tokens_per_second``
    of 0 (or less) means no gap between tokens, and ``ttft`` of 0 no initial wait.
    """

    ttft: float = 0.35
    tokens_per_second: float = 40.0
    jitter: float = 0.25

    ZERO: ClassVar[LatencyProfile]

    def __post_init__(self) -> None:
        if self.ttft < 0 or self.jitter < 0:
            raise ValueError(f"ttft and jitter must be >= 0, got ttft={self.ttft}, jitter={self.jitter}")

    @property
    def is_zero(self) -> bool:
        """True when this profile never waits."""
        return self.ttft == 0 and self.tokens_per_second <= 0

    @property
    def gap(self) -> float:
        """The mean time between two tokens, in seconds (0 when there is no rate limit)."""
        return 1.0 / self.tokens_per_second if self.tokens_per_second > 0 else 0.0

    def delays(self, seed: int | None = None) -> Iterator[float]:
        """Endless delays in seconds: first the wait before token 1, then the gap before each next token.

        The same seed gives the same delays; ``None`` draws fresh ones.
        """
        rng = random.Random(seed)
        jitter = self.jitter

        def spread(base: float) -> float:
            if base <= 0:
                return 0.0
            if jitter == 0:
                return base
            return max(0.0, base * (1.0 + jitter * (2.0 * rng.random() - 1.0)))

        yield spread(self.ttft)
        gap = self.gap
        while True:
            yield spread(gap)


LatencyProfile.ZERO = LatencyProfile(0.0, 0.0, 0.0)
ZERO = LatencyProfile.ZERO
