"""Adapters: anything that streams text -> our `Chunk`s.

A view accepts our own streams, plain (async) iterators of strings, LangChain message and
generation chunks, OpenAI SDK chunks (chat and legacy completions), Anthropic SDK
message-stream events and `google-genai` responses. Each is recognised by shape (duck typing), never by importing its
library, so none of them is a dependency; raw JSON (dicts) reads like the SDK objects.
`as_model` puts a foreign model object (LangChain, or anything with `stream`/`astream`)
behind our `Model` interface, for the magic's `--llm`.

One module per job: `reading` (one item -> pieces, and usage totals), one module per
family (`openai_sdk`, `anthropic_sdk`, `gemini_sdk`, `langchain`), `iterators` (a source -> stamped
chunks), `events` (the answer inside `astream_events`), `foreign` (model objects).
"""

from ._shared import Piece, UsageDelta
from .anthropic_sdk import anthropic_pieces
from .events import EventAnswer
from .foreign import ForeignModel, as_model, is_model_like
from .gemini_sdk import gemini_pieces
from .iterators import AsyncChunkIterator, ChunkIterator, Clock, Stamper, is_async_source, source_model_name
from .langchain import answers_whole, content_text, langchain_pieces
from .openai_sdk import openai_pieces
from .reading import ItemReader, item_model_name, langchain_chunk, openai_chunk, read_item, to_chunk

__all__ = [
    "AsyncChunkIterator",
    "ChunkIterator",
    "Clock",
    "EventAnswer",
    "ForeignModel",
    "ItemReader",
    "Piece",
    "Stamper",
    "UsageDelta",
    "answers_whole",
    "anthropic_pieces",
    "as_model",
    "content_text",
    "gemini_pieces",
    "is_async_source",
    "is_model_like",
    "item_model_name",
    "langchain_chunk",
    "langchain_pieces",
    "openai_chunk",
    "openai_pieces",
    "read_item",
    "source_model_name",
    "to_chunk",
]
