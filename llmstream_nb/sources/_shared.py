"""What every family's reader shares: field access by name, and usage that adds up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..chunks import TEXT, Chunk, Usage
from ..models.streams import Piece

__all__ = ["Piece", "UsageDelta", "count", "field", "tidy"]


@dataclass(slots=True)
class UsageDelta(Usage):
    """Token counts to add to the tally, not to replace it.

    LangChain reports usage per chunk and adds the reports up (`AIMessageChunk.__add__`),
    while the OpenAI and Anthropic SDKs report totals so far; a plain `Usage` is a total.
    """


def field(obj: Any, name: str) -> Any:
    """`obj.name` or `obj[name]`: SDK objects and their raw-JSON twins read alike."""
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def count(value: Any) -> int | None:
    """A token count, or None where the provider gave none (bools are not counts)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def tidy(chunks: list[Chunk]) -> list[Chunk]:
    """Drop empty text chunks that say nothing (no finish reason) when the item said something else.

    Keeps one empty chunk for an item that carried nothing at all, as before: a role-only
    first chunk still counts as a chunk.
    """
    kept = [c for c in chunks if c.text or c.kind != TEXT or c.finish_reason]
    return kept if kept else chunks[:1]
