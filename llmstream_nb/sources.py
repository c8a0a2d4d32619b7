"""Adapters: anything that streams text -> our `Chunk`s.

A view accepts our own streams, plain iterators of strings, LangChain message chunks and
OpenAI SDK chunks. Each is recognised by shape (duck typing), never by importing its
library, so none of them is a dependency. Raw JSON (dicts) from an OpenAI-compatible
stream is read the same way as the SDK's objects. Add a new source kind as one small
function and one line in `to_chunk`.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, AsyncIterable, AsyncIterator, Callable, Iterable, Iterator

from .chunks import Chunk, Usage
from .models.streams import _StreamState

Clock = Callable[[], float]


def _field(obj: Any, name: str) -> Any:
    """`obj.name` or `obj[name]`: SDK objects and their raw-JSON twins read alike."""
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def _block_text(block: Any) -> str:
    """Text of one content block: a string, or a {"type": "text", "text": ...} block."""
    if isinstance(block, str):
        return block
    text = _field(block, "text")
    return text if isinstance(text, str) else ""


def content_text(content: Any) -> str | None:
    """LangChain `.content`: a string, or a list of content blocks (non-text blocks skipped)."""
    if isinstance(content, str):
        return content
    if isinstance(content, (list, tuple)):
        return "".join(_block_text(block) for block in content)
    return None


def openai_chunk(item: Any) -> Chunk | None:
    """An OpenAI SDK chunk: `choices[0].delta.content`, or legacy completions' `choices[0].text`.

    A chunk with no choices (Azure's filter results, the final usage chunk) is an empty chunk.
    """
    choices = _field(item, "choices")
    if not isinstance(choices, (list, tuple)):
        return None
    if not choices:
        return Chunk("")
    choice = choices[0]
    delta = _field(choice, "delta")
    text = _field(delta, "content") if delta is not None else _field(choice, "text")
    return Chunk(text if isinstance(text, str) else "", finish_reason=_field(choice, "finish_reason"))


def langchain_chunk(item: Any) -> Chunk | None:
    """A LangChain message chunk (`.content`) or generation chunk (`.text`, a str or a method)."""
    text = content_text(_field(item, "content"))
    if text is None:
        text = _field(item, "text")
        if callable(text):
            text = text()
    if not isinstance(text, str):
        return None
    return Chunk(text, finish_reason=_finish_reason(item))


def _finish_reason(item: Any) -> str | None:
    metadata = _field(item, "response_metadata")
    reason = metadata.get("finish_reason") if isinstance(metadata, dict) else None
    return reason if isinstance(reason, str) else None


def to_chunk(item: Any) -> Chunk | None:
    """One streamed item as a `Chunk`; None for items that carry no text (usage reports).

    Raises TypeError for a shape we do not know, rather than dropping text silently.
    """
    if isinstance(item, Chunk):
        return item
    if isinstance(item, str):
        return Chunk(item)
    if item is None or isinstance(item, Usage):
        return None
    chunk = openai_chunk(item)
    if chunk is None:
        chunk = langchain_chunk(item)
    if chunk is None:
        raise TypeError(f"cannot read text from a {type(item).__name__}; expected str, Chunk, "
                        "or an object with .content, .text or .choices")
    return chunk


def item_model_name(item: Any) -> str | None:
    """The model an item says it came from (OpenAI's `.model`, LangChain's `model_name`)."""
    if isinstance(item, (str, Chunk)):
        return None
    name = _field(item, "model")
    if not isinstance(name, str):
        metadata = _field(item, "response_metadata")
        name = metadata.get("model_name") if isinstance(metadata, dict) else None
    return name if isinstance(name, str) and name else None


def is_async_source(source: Any) -> bool:
    return hasattr(source, "__aiter__")


def source_model_name(source: Any) -> str | None:
    """Our streams know their model's name; foreign iterators don't."""
    return source.model if isinstance(source, _StreamState) else None


class Stamper:
    """Turns items into chunks with an index and an arrival time (seconds since the start).

    Our own streams stamp their chunks already; those pass through untouched so the
    view's chunks are the very objects the stream's `Completion` holds.
    """

    def __init__(self, source: Any, clock: Clock) -> None:
        self._trusted = isinstance(source, _StreamState)
        self._clock = clock
        self._start = clock()
        self._index = 0
        self.model: str | None = None

    def __call__(self, item: Any) -> Chunk | None:
        chunk = to_chunk(item)
        if chunk is None or self._trusted:
            return chunk
        if self.model is None:
            self.model = item_model_name(item)
        if chunk is item:  # a caller's Chunk: stamp a copy, not their object
            chunk = dataclasses.replace(chunk)
        chunk.index = self._index
        chunk.t = self._clock() - self._start
        self._index += 1
        return chunk


def _close(obj: Any) -> None:
    close = getattr(obj, "close", None)
    if callable(close):
        close()


async def _aclose(obj: Any) -> None:
    aclose = getattr(obj, "aclose", None)
    if callable(aclose):
        await aclose()


class ChunkIterator:
    """Sync iteration of any source as chunks; `close()` releases the source (e.g. its HTTP connection)."""

    def __init__(self, source: Iterable[Any], clock: Clock = time.perf_counter) -> None:
        self._source = source
        self._items = iter(source)
        self.stamper = Stamper(source, clock)

    def __iter__(self) -> Iterator[Chunk]:
        return self

    def __next__(self) -> Chunk:
        while True:
            chunk = self.stamper(next(self._items))
            if chunk is not None:
                return chunk

    def close(self) -> None:
        _close(self._items)
        if self._source is not self._items:
            _close(self._source)


class AsyncChunkIterator:
    """Async twin of `ChunkIterator`; `aclose()` releases the source.

    `origin` is what `source` wraps, if anything (a sync stream driven from a thread):
    our own streams' chunks keep their stamps either way.
    """

    def __init__(self, source: AsyncIterable[Any], clock: Clock = time.perf_counter, origin: Any = None) -> None:
        self._source = source
        self._items = source.__aiter__()
        self.stamper = Stamper(source if origin is None else origin, clock)

    def __aiter__(self) -> AsyncIterator[Chunk]:
        return self

    async def __anext__(self) -> Chunk:
        while True:
            chunk = self.stamper(await self._items.__anext__())
            if chunk is not None:
                return chunk

    async def aclose(self) -> None:
        await _aclose(self._items)
        if self._source is not self._items:
            await _aclose(self._source)
