"""The answer inside an `astream_events` run, for a view that shows it beside the events table.

A LangChain chain streams at every level: the chat model's chunks, the parser's, the
chain's. The answer is the root run's (what `chain.stream()` would yield), so only the
root's `on_*_stream` chunks count; its `on_*_end` output gives the usage, and the whole
answer, marked as a fallback, when the root streamed nothing (a model without `_stream`).
The root is the run of the first event: every run starts before its children, in v1
(which has no `parent_ids`) as in v2. Our own models' events read the same way.
"""

from __future__ import annotations

from typing import Any

from ..chunks import Chunk, Usage
from ._shared import Piece, field
from .langchain import generations_text, langchain_usage
from .reading import ItemReader, read_item


class EventAnswer:
    """Call it with each event; it returns the pieces that event adds to the answer."""

    def __init__(self) -> None:
        self._root: Any = None
        self._reader = ItemReader()
        self._streamed = False

    @property
    def usage(self) -> Usage | None:
        return self._reader.usage

    def __call__(self, event: dict[str, Any]) -> list[Piece]:
        if self._root is None:
            self._root = event.get("run_id")
        if event.get("run_id") != self._root:
            return []
        kind = str(event.get("event", ""))
        data = event.get("data") or {}
        if kind.endswith("_stream") and "chunk" in data:
            pieces = self._reader(data["chunk"])
            self._streamed = self._streamed or any(isinstance(p, Chunk) for p in pieces)
            return pieces
        if kind.endswith("_end") and "output" in data:
            return self._end(data["output"])
        return []

    def _end(self, output: Any) -> list[Piece]:
        pieces: list[Piece] = []
        if not self._streamed:
            whole = generations_text(output)
            chunks = [Chunk(whole)] if whole is not None else [p for p in read_item(output) if isinstance(p, Chunk)]
            for chunk in chunks:
                chunk.fallback = True
            pieces.extend(chunks)
        usage = _final_usage(output)
        if usage is not None:
            pieces.append(self._reader.add_usage(usage))
        return pieces


def _final_usage(output: Any) -> Usage | None:
    """A finished answer's usage is its total: our `Completion.usage`, a message's `usage_metadata`."""
    usage = field(output, "usage")
    if isinstance(usage, Usage):
        return usage
    delta = langchain_usage(output)
    return Usage(delta.prompt_tokens, delta.completion_tokens) if delta is not None else None
