"""Timings as data: one row per text chunk, for a table, a plot or a lesson on latency.

`timeline(chunks)` works on any list of stamped chunks: a view's (`view.timings`), a finished
stream's (`timeline(stream.chunks)`) or a `Completion`'s (`timeline(completion.chunks)`).
Each row says when the chunk arrived (`t`, seconds since the request), how long after the
previous text chunk (`gap`; for the first one, the time to first token), how many text chunks
had arrived with it (`tokens`), and its `logprob` (None unless the model was asked for
logprobs). Reasoning and empty chunks are left out: the rows are the answer as it was read.

`to_pandas()` imports pandas only when called; without it, one line says how to get it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Iterable, Iterator

from .chunks import TEXT, Chunk

COLUMNS = ("index", "text", "t", "gap", "tokens", "logprob")
NO_PANDAS = "to_pandas() needs pandas: pip install pandas"


@dataclass(frozen=True, slots=True)
class TimelineRow:
    """One text chunk: its stream index, text, arrival `t`, `gap` since the previous text chunk,
    cumulative text-chunk count `tokens`, and `logprob`."""

    index: int
    text: str
    t: float
    gap: float
    tokens: int
    logprob: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Timeline:
    """The rows of one stream, in arrival order; `ttft` marks the first token (None before it)."""

    def __init__(self, rows: list[TimelineRow]) -> None:
        self.rows = rows

    @property
    def ttft(self) -> float | None:
        """Time to first token: the first row's arrival (None when no text arrived)."""
        return self.rows[0].t if self.rows else None

    @property
    def gaps(self) -> list[float]:
        """Gaps between consecutive tokens (the first row's gap, the ttft, excluded)."""
        return [row.gap for row in self.rows[1:]]

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[TimelineRow]:
        return iter(self.rows)

    def __getitem__(self, position: int) -> TimelineRow:
        return self.rows[position]

    def to_dicts(self) -> list[dict[str, Any]]:
        return [row.to_dict() for row in self.rows]

    def to_pandas(self) -> Any:
        """A pandas DataFrame with the columns index, text, t, gap, tokens, logprob (`df.attrs["ttft"]` too)."""
        try:
            import pandas  # type: ignore[import-untyped]
        except ImportError:
            raise ImportError(NO_PANDAS) from None
        frame = pandas.DataFrame(self.to_dicts(), columns=list(COLUMNS))
        frame.attrs["ttft"] = self.ttft
        return frame

    def __repr__(self) -> str:
        ttft = "none" if self.ttft is None else f"{self.ttft:.3f} s"
        return f"<Timeline {len(self.rows)} tokens, first token {ttft}>"


def timeline(chunks: Iterable[Chunk]) -> Timeline:
    """The text chunks of a stream as `Timeline` rows (reasoning and empty chunks skipped)."""
    rows: list[TimelineRow] = []
    previous = 0.0
    for chunk in chunks:
        if chunk.kind != TEXT or not chunk.text:
            continue
        rows.append(TimelineRow(chunk.index, chunk.text, chunk.t, chunk.t - previous, len(rows) + 1, chunk.logprob))
        previous = chunk.t
    return Timeline(rows)
