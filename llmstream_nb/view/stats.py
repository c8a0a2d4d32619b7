"""Running stream statistics, updated per chunk in O(1).

`Timings.from_chunks` walks every chunk; a view refreshes its stats line up to 30 times a
second during a 100,000-token answer, so it keeps running counters instead and reports
them with the same meaning (text chunks only; rate measured after the first token).
"""

from __future__ import annotations

from ..chunks import Chunk, Timings


class StatsTracker:
    """Counts text chunks and remembers the first and last arrival times."""

    def __init__(self) -> None:
        self.chunks = 0
        self.first: float | None = None
        self.last: float | None = None

    def add(self, chunk: Chunk) -> None:
        """Record one chunk that carries answer text."""
        self.chunks += 1
        if self.first is None:
            self.first = chunk.t
        self.last = chunk.t

    def timings(self, elapsed: float) -> Timings:
        rate = None
        if self.chunks > 1 and self.first is not None and self.last is not None and self.last > self.first:
            rate = (self.chunks - 1) / (self.last - self.first)
        return Timings(ttft=self.first, elapsed=elapsed, chunks=self.chunks, tokens_per_second=rate)

    def compact(self, elapsed: float) -> list[float | int | None]:
        """[chunks, ttft, tokens_per_second, elapsed], rounded: the live stats of a delta message."""
        t = self.timings(elapsed)
        return [t.chunks, _round(t.ttft, 3), _round(t.tokens_per_second, 1), _round(t.elapsed, 2)]


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)
