"""One streamed item, from any family, as our pieces: `Chunk`s and `Usage`.

Families are told apart by shape, in an order that cannot confuse them: OpenAI's items
have a `choices` list, Anthropic's events a `type` from a fixed set, Gemini's responses a
`candidates` list (checked before LangChain, as they have a `.text` too), LangChain's items a
`.content` or `.text`. Add a family as one module with a `*_pieces(item)` function and one
entry in `_FAMILIES`.
"""

from __future__ import annotations

from typing import Any, Callable

from ..chunks import TEXT, Chunk, Usage
from ._shared import Piece, UsageDelta, field
from .anthropic_sdk import anthropic_model_name, anthropic_pieces
from .gemini_sdk import gemini_model_name, gemini_pieces
from .langchain import langchain_model_name, langchain_pieces
from .openai_sdk import openai_pieces, openai_response_model_name, openai_response_pieces

_FAMILIES: tuple[Callable[[Any], list[Piece] | None], ...] = (
    openai_pieces,
    openai_response_pieces,
    anthropic_pieces,
    gemini_pieces,
    langchain_pieces,
)


def read_item(item: Any) -> list[Piece]:
    """Everything one item carries, in order: chunks (text and reasoning) and usage reports.

    Raises TypeError for a shape we do not know, rather than dropping text silently.
    """
    if isinstance(item, Chunk):
        return [item]
    if isinstance(item, str):
        return [Chunk(item if type(item) is str else str(item))]  # LangChain parsers yield str subclasses
    if item is None:
        return []
    if isinstance(item, Usage):
        return [item]
    for family in _FAMILIES:
        pieces = family(item)
        if pieces is not None:
            return pieces
    raise TypeError(
        f"cannot read text from a {type(item).__name__}; expected str, Chunk, or an object with "
        ".content, .text or .choices (LangChain, OpenAI SDK), an OpenAI Responses event, an Anthropic stream event"
        " or a Gemini response"
    )


def to_chunk(item: Any) -> Chunk | None:
    """One item as one `Chunk` (its text chunk if it carries several); None if it carries no chunk.

    The one-chunk view of `read_item`, for callers that want just the text.
    """
    return _one_chunk(read_item(item))


def openai_chunk(item: Any) -> Chunk | None:
    """`to_chunk` for OpenAI items only (None for anything else)."""
    pieces = openai_pieces(item)
    return None if pieces is None else _one_chunk(pieces) or Chunk("")


def langchain_chunk(item: Any) -> Chunk | None:
    """`to_chunk` for LangChain items only (None for anything else)."""
    pieces = langchain_pieces(item)
    return None if pieces is None else _one_chunk(pieces) or Chunk("")


def _one_chunk(pieces: list[Piece]) -> Chunk | None:
    chunks = [p for p in pieces if isinstance(p, Chunk)]
    return next((c for c in chunks if c.kind == TEXT), chunks[0] if chunks else None)


def item_model_name(item: Any) -> str | None:
    """The model an item says it came from (OpenAI's `.model`, Anthropic's `message_start`, Gemini's
    `model_version`, LangChain's metadata)."""
    if isinstance(item, (str, Chunk, Usage)) or item is None:
        return None
    name = field(item, "model")
    if isinstance(name, str) and name:
        return name
    return (
        anthropic_model_name(item)
        or openai_response_model_name(item)
        or gemini_model_name(item)
        or langchain_model_name(item)
    )


class ItemReader:
    """Reads one stream's items, turning every usage report into running totals.

    Each family reports usage its own way (totals so far, or counts to add up); the
    totals are what our streams keep, so a `TokenStream` can take them as they come.
    `model` is the first model name an item gave.
    """

    def __init__(self) -> None:
        self.usage: Usage | None = None
        self.model: str | None = None

    def __call__(self, item: Any) -> list[Piece]:
        if self.model is None:
            self.model = item_model_name(item)
        return [self.add_usage(p) if isinstance(p, Usage) else p for p in read_item(item)]

    def add_usage(self, report: Usage) -> Usage:
        """Fold a report into the totals and return a copy of them."""
        total = self.usage or Usage()
        if isinstance(report, UsageDelta):
            total.prompt_tokens = _add(total.prompt_tokens, report.prompt_tokens)
            total.completion_tokens = _add(total.completion_tokens, report.completion_tokens)
        else:
            if report.prompt_tokens is not None:
                total.prompt_tokens = report.prompt_tokens
            if report.completion_tokens is not None:
                total.completion_tokens = report.completion_tokens
        self.usage = total
        return Usage(total.prompt_tokens, total.completion_tokens)


def _add(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else a + b
