"""Feeding a provider's wire parser from a streamed body: the loop every streaming provider runs.

A provider's parser turns each event's data (SSE) or each line (NDJSON) into pieces; this loop adds
what is the same for all of them: a connection that drops or stalls after the answer has ended costs
nothing (the error is swallowed), the response is closed however iteration stops (break, `close()`, a
cancelled task), and the parser is asked at the end whether the body was complete.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterable, Iterator
from operator import attrgetter
from typing import Any, Protocol

from ..asyncgen import aclose_source
from ..errors import APITimeoutError, InterruptedStreamError
from ..models import Piece

#: The `text` argument for `HttpSession.stream_sse` sources: each event's data.
sse_data: Callable[[Any], str] = attrgetter("data")


class WireParser(Protocol):
    """What a provider's stream parser offers: `finished` once the answer is whole, `close()` to
    raise if the body ended before that."""

    @property
    def finished(self) -> bool: ...

    def feed(self, data: str) -> Iterable[Piece]: ...

    def close(self) -> None: ...


def _same(item: Any) -> str:
    return item  # type: ignore[no-any-return]


def parse_body(
    source: Generator[Any, None, None], parser: WireParser, text: Callable[[Any], str] = _same
) -> Iterator[Piece]:
    """The pieces `parser` makes of each item of `source` (`text(item)` is what it reads)."""
    feed = parser.feed
    try:
        for item in source:
            yield from feed(text(item))
    except (InterruptedStreamError, APITimeoutError):
        if not parser.finished:  # a drop or a stall after the answer ended loses nothing
            raise
    finally:
        source.close()
    parser.close()


async def aparse_body(
    source: AsyncGenerator[Any, None], parser: WireParser, text: Callable[[Any], str] = _same
) -> AsyncIterator[Piece]:
    """Async twin of `parse_body`."""
    feed = parser.feed
    try:
        async for item in source:
            for piece in feed(text(item)):
                yield piece
    except (InterruptedStreamError, APITimeoutError):
        if not parser.finished:
            raise
    finally:
        await aclose_source(source)
    parser.close()
