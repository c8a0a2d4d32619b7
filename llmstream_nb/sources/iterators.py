"""Iterating any source as stamped chunks: what a view consumes.

A source is an iterable (or async iterable) of items `reading.py` understands. A context
manager that is not iterable itself, like Anthropic's `client.messages.stream(...)`, is
entered when the first chunk is asked for and exited on close, so it can be handed over
without a `with` block.
"""

from __future__ import annotations

import dataclasses
import time
from collections import deque
from typing import Any, AsyncIterable, AsyncIterator, Callable, Iterable, Iterator

from ..asyncgen import aclose_source
from ..chunks import Chunk, Usage
from ..models.streams import StreamRecord
from .reading import ItemReader

Clock = Callable[[], float]


def is_async_source(source: Any) -> bool:
    """Async iterables, and async context managers that yield one (Anthropic's AsyncMessageStreamManager)."""
    return hasattr(source, "__aiter__") or (hasattr(source, "__aenter__") and not hasattr(source, "__iter__"))


def source_model_name(source: Any) -> str | None:
    """Our streams know their model's name; foreign iterators don't."""
    return source.model if isinstance(source, StreamRecord) else None


class Stamper:
    """Turns items into chunks with an index and an arrival time (seconds since the start).

    Our own streams stamp their chunks already; those pass through untouched so the
    view's chunks are the very objects the stream's `Completion` holds. Chunks read from
    one item share its arrival time. `usage` and `model` are what the items reported.
    """

    def __init__(self, source: Any, clock: Clock) -> None:
        self._trusted = isinstance(source, StreamRecord)
        self._reader = ItemReader()
        self._clock = clock
        self._start = clock()
        self._index = 0

    @property
    def model(self) -> str | None:
        return self._reader.model

    @property
    def usage(self) -> Usage | None:
        """Token totals the source reported (None if it reported none)."""
        return self._reader.usage

    def __call__(self, item: Any) -> list[Chunk]:
        chunks = [p for p in self._reader(item) if isinstance(p, Chunk)]
        if self._trusted or not chunks:
            return chunks
        t = self._clock() - self._start
        for position, chunk in enumerate(chunks):
            if chunk is item:  # a caller's Chunk: stamp a copy, not their object
                chunk = chunks[position] = dataclasses.replace(chunk)
            chunk.index = self._index
            chunk.t = t
            self._index += 1
        return chunks


def _check_source(source: Any, iterate: str, enter: str) -> None:
    """Refuse a model (LangChain's are pydantic objects, which iterate over their fields) and non-iterables."""
    if callable(getattr(source, "stream", None)) or callable(getattr(source, "astream", None)):
        raise TypeError(f"a {type(source).__name__} is a model, not a stream: pass its .stream(prompt)")
    if not (hasattr(source, iterate) or hasattr(source, enter)):
        raise TypeError(f"cannot stream from a {type(source).__name__}: it is not iterable")


def close_source(obj: Any) -> None:
    close = getattr(obj, "close", None)
    if callable(close):
        close()


class ChunkIterator:
    """Sync iteration of any source as chunks; `close()` releases the source (e.g. its HTTP connection)."""

    def __init__(self, source: Iterable[Any], clock: Clock = time.perf_counter) -> None:
        _check_source(source, "__iter__", "__enter__")
        self._source = source
        self._manager: Any = None
        if hasattr(source, "__iter__"):
            self._items: Iterator[Any] | None = iter(source)
        else:
            self._manager, self._items = source, None
        self.stamper = Stamper(source, clock)
        self._pending: deque[Chunk] = deque()

    def __iter__(self) -> Iterator[Chunk]:
        return self

    def __next__(self) -> Chunk:
        while not self._pending:
            self._pending.extend(self.stamper(next(self._opened())))
        return self._pending.popleft()

    def _opened(self) -> Iterator[Any]:
        if self._items is None:
            self._items = iter(self._manager.__enter__())
        return self._items

    def close(self) -> None:
        try:
            if self._items is not None:
                close_source(self._items)
                if self._source is not self._items:
                    close_source(self._source)
        finally:
            if self._manager is not None and self._items is not None:
                self._manager.__exit__(None, None, None)


class AsyncChunkIterator:
    """Async twin of `ChunkIterator`; `aclose()` releases the source.

    `origin` is what `source` wraps, if anything (a sync stream driven from a thread):
    our own streams' chunks keep their stamps either way.
    """

    def __init__(self, source: AsyncIterable[Any], clock: Clock = time.perf_counter, origin: Any = None) -> None:
        _check_source(source, "__aiter__", "__aenter__")
        self._source = source
        self._manager: Any = None
        if hasattr(source, "__aiter__"):
            self._items: AsyncIterator[Any] | None = source.__aiter__()
        else:
            self._manager, self._items = source, None
        self.stamper = Stamper(source if origin is None else origin, clock)
        self._pending: deque[Chunk] = deque()

    def __aiter__(self) -> AsyncIterator[Chunk]:
        return self

    async def __anext__(self) -> Chunk:
        while not self._pending:
            items = await self._opened()
            self._pending.extend(self.stamper(await items.__anext__()))
        return self._pending.popleft()

    async def _opened(self) -> AsyncIterator[Any]:
        if self._items is None:
            stream = await self._manager.__aenter__()
            self._items = stream.__aiter__()
        return self._items

    async def aclose(self) -> None:
        try:
            if self._items is not None:
                await aclose_source(self._items)
                if self._source is not self._items:
                    await aclose_source(self._source)
        finally:
            if self._manager is not None and self._items is not None:
                await self._manager.__aexit__(None, None, None)
