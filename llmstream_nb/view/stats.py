"""Running stream statistics, updated per chunk in O(1).

`Timings.from_chunks` walks every chunk; a view refreshes its stats line up to 30 times a
second during a 100,000-token answer, so it keeps running counters instead and reports
them with the same meaning (text chunks only; rate measured after the first token).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from ..chunks import Chunk, Timings, Usage, without_load


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

    def timings(self, elapsed: float, load: float | None = None) -> Timings:
        """`load` (the model's loading time, as the provider reported it) is left out of ttft."""
        rate = None
        if self.chunks > 1 and self.first is not None and self.last is not None and self.last > self.first:
            rate = (self.chunks - 1) / (self.last - self.first)
        ttft = None if self.first is None else without_load(self.first, load)
        return Timings(ttft=ttft, elapsed=elapsed, chunks=self.chunks, tokens_per_second=rate, load=load)

    def compact(self, elapsed: float) -> list[float | int | None]:
        """[chunks, ttft, tokens_per_second, elapsed], rounded: the live stats of a delta message."""
        t = self.timings(elapsed)
        return [t.chunks, _round(t.ttft, 3), _round(t.tokens_per_second, 1), _round(t.elapsed, 2)]


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


#: What the stats line says of a model that answered whole: one chunk is not a fast stream.
FALLBACK_NOTE = "1 chunk: this model does not stream"


def fallback_note(chunks: Iterable[Chunk]) -> str:
    """FALLBACK_NOTE when the answer came whole (a chunk marked `fallback`), else ""."""
    return FALLBACK_NOTE if any(c.fallback for c in chunks) else ""


def usage_stats(usage: Usage) -> dict[str, int]:
    """`input_tokens` / `output_tokens` for the stats, each only when the provider reported it."""
    counts = {"input_tokens": usage.prompt_tokens, "output_tokens": usage.completion_tokens}
    return {name: value for name, value in counts.items() if value is not None}


def format_stats(stats: Mapping[str, Any]) -> str:
    """A view's stats as one line, like the page's: the fallback note first when there is one.

    "3 chunks · first token 120 ms · 41.7 tokens/s · 0.31 s · tokens 12 in, 3 out" ("· loaded in 0.8 s" after
    the first token when the provider loaded the model first); for an answer that came whole
    "1 chunk: this model does not stream · first token 900 ms · 0.90 s" (no rate: there is none).
    """
    chunks = stats.get("chunks") or 0
    note = stats.get("note")
    parts = [note if note else f"{chunks} chunk{'' if chunks == 1 else 's'}"]
    if isinstance(stats.get("ttft"), (int, float)):
        parts.append(f"first token {round(stats['ttft'] * 1000)} ms")
    if isinstance(stats.get("load"), (int, float)):
        parts.append(f"loaded in {stats['load']:.1f} s")
    if isinstance(stats.get("tokens_per_second"), (int, float)) and not note:
        parts.append(f"{stats['tokens_per_second']:.1f} tokens/s")
    if isinstance(stats.get("elapsed"), (int, float)):
        parts.append(f"{stats['elapsed']:.2f} s")
    tokens = [
        f"{stats[name]} {word}" for name, word in (("input_tokens", "in"), ("output_tokens", "out")) if name in stats
    ]
    if tokens:
        parts.append("tokens " + ", ".join(tokens))
    return " \u00b7 ".join(parts)
