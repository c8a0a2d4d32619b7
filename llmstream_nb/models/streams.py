"""The objects `stream()` and `astream()` return, and the record they keep.

Iterate them for chunks; once they end, `text`, `usage`, `timings` and `completion` hold
the whole answer (in the spirit of simonw/llm's Response), and `provider_timings` what the
provider measured itself, if it reports that. The stream stamps each chunk's
index and arrival time itself, so every provider gets the same metadata for free, and it
attaches the partial text to any error raised mid-stream so nothing is lost.

All of that lives in one `StreamRecord` (simonw/llm's `_BaseResponse` idea): both stream
flavours are records, a `StreamView` showing one of them reads that very record, a view of
any other source keeps one of its own, and a recording is written from one. Nothing is copied
from one holder to another, so nothing can drift.
"""

from __future__ import annotations

import time
from typing import Any, AsyncIterator, Iterator

from ..asyncgen import aclose_source
from ..chunks import REASONING, REFUSAL, TEXT, TOOL_CALL, Chunk, Completion, ProviderTimings, Timings, Usage
from ..errors import LLMStreamError
from ..joined_text import JoinedText
from ..tool_calls import ToolCall, assemble

Piece = Chunk | Usage | ProviderTimings


class StreamRecord:
    """What a stream accumulates: chunks, text, reasoning, usage, timings, provider timings,
    finish reason, error, and what was asked (prompt, options)."""

    def __init__(self, model: str = "") -> None:
        self.model = model
        #: What was asked and with which generation options (set by `Model.stream`), so a
        #: recording or a view can say what the answer answers.
        self.prompt: Any = None
        self.options: dict[str, Any] = {}
        self.chunks: list[Chunk] = []
        self.usage = Usage()
        self.provider_timings: ProviderTimings | None = None
        self.started: float | None = None
        self.ended: float | None = None
        self.error: BaseException | None = None
        self._text = JoinedText(self.chunks, TEXT)
        self._reasoning = JoinedText(self.chunks, REASONING)

    def begin(self) -> None:
        """Start the clock the chunks' arrival times count from (once)."""
        if self.started is None:
            self.started = time.perf_counter()

    def accept(self, piece: Piece) -> Chunk | None:
        """Stamp a chunk (index, arrival time) and keep it; absorb usage and provider timing reports."""
        if isinstance(piece, Chunk):
            piece.index = len(self.chunks)
            piece.t = time.perf_counter() - (self.started or 0.0)
        return self.add(piece)

    def add(self, piece: Piece) -> Chunk | None:
        """Keep a chunk stamped already (by a view's `Stamper`); absorb usage and provider timings."""
        if isinstance(piece, Usage):
            if piece.prompt_tokens is not None:
                self.usage.prompt_tokens = piece.prompt_tokens
            if piece.completion_tokens is not None:
                self.usage.completion_tokens = piece.completion_tokens
            return None
        if isinstance(piece, ProviderTimings):
            self.provider_timings = piece
            return None
        self.chunks.append(piece)
        return piece

    def fail(self, exc: BaseException) -> None:
        """End with an error, which gets the text so far as its `partial_text`."""
        self.ended = time.perf_counter()
        self.error = exc
        if isinstance(exc, LLMStreamError):
            exc.with_partial(self.text)

    def finish(self) -> None:
        """End (once): the clock stops."""
        if self.ended is None:
            self.ended = time.perf_counter()

    @property
    def elapsed(self) -> float:
        """Seconds from the start to the end (or to now, while it runs)."""
        if self.started is None:
            return 0.0
        return (self.ended if self.ended is not None else time.perf_counter()) - self.started

    @property
    def text(self) -> str:
        """The answer so far (reasoning excluded)."""
        return str(self._text)

    @property
    def reasoning(self) -> str:
        return str(self._reasoning)

    @property
    def refusal(self) -> str:
        """The model's refusal, if it refused (OpenAI's `delta.refusal`), apart from the answer."""
        return "".join(c.text for c in self.chunks if c.kind == REFUSAL)

    @property
    def tool_calls(self) -> list[ToolCall]:
        """The tool calls asked for so far, assembled from their chunks (arguments parsed once complete)."""
        return assemble(self.chunks)

    @property
    def done(self) -> bool:
        return self.ended is not None

    @property
    def finish_reason(self) -> str | None:
        for chunk in reversed(self.chunks):
            if chunk.finish_reason:
                return chunk.finish_reason
        return None

    @property
    def timings(self) -> Timings:
        load = self.provider_timings.load if self.provider_timings is not None else None
        return Timings.from_chunks([c for c in self.chunks if c.kind == TEXT], self.elapsed, load)

    @property
    def completion(self) -> Completion:
        """The answer as a `Completion` (complete once the stream has ended)."""
        if self.usage.completion_tokens is None and self.done:
            self.usage.completion_tokens = sum(1 for c in self.chunks if c.text)
        return Completion(
            text=self.text,
            chunks=self.chunks,
            finish_reason=self.finish_reason,
            usage=self.usage,
            timings=self.timings,
            model=self.model,
            reasoning=self.reasoning,
            provider_timings=self.provider_timings,
            tool_calls=self.tool_calls,
        )

    def __repr__(self) -> str:
        state = "error" if self.error else "done" if self.done else "open"
        return f"<{type(self).__name__} {self.model} {state}, {len(self.chunks)} chunks>"


class TokenStream(StreamRecord):
    """A sync stream of `Chunk`s. Use it in a `for` loop or a `with` block (which closes it)."""

    def __init__(self, source: Iterator[Piece], model: str) -> None:
        super().__init__(model)
        self._source = source

    def __iter__(self) -> Iterator[Chunk]:
        self.begin()
        try:
            for piece in self._source:
                chunk = self.accept(piece)
                if chunk is not None:
                    yield chunk
        except GeneratorExit:  # the consumer stopped early: not an error
            self.close()
            raise
        except BaseException as exc:
            self.fail(exc)
            self.close()
            raise
        self.finish()

    def close(self) -> None:
        """Stop early and release the connection."""
        close = getattr(self._source, "close", None)
        if close is not None:
            close()
        self.finish()

    def __enter__(self) -> TokenStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncTokenStream(StreamRecord):
    """An async stream of `Chunk`s, for `async for`; `aclose()` (or `async with`) releases it."""

    def __init__(self, source: AsyncIterator[Piece], model: str) -> None:
        super().__init__(model)
        self._source = source
        self._iterator: AsyncIterator[Chunk] | None = None

    def __aiter__(self) -> AsyncIterator[Chunk]:
        # A new generator, held only by the loop that reads it. Kept on `self`, it would make a
        # cycle (its frame holds `self`): a loop left with `break` would then leave this generator,
        # the provider's and the HTTP body's to the cyclic collector, which hands them to the event
        # loop to close all at once, in separate tasks that trip over each other ("aclose():
        # asynchronous generator is already running"). Without the cycle the outer one is closed
        # first and closes the others in order.
        return self._iterate()

    async def __anext__(self) -> Chunk:
        if self._iterator is None:
            self._iterator = self._iterate()
        return await self._iterator.__anext__()

    async def _iterate(self) -> AsyncIterator[Chunk]:
        self.begin()
        try:
            async for piece in self._source:
                chunk = self.accept(piece)
                if chunk is not None:
                    yield chunk
        except GeneratorExit:  # the consumer stopped early: not an error
            await self.aclose()
            raise
        except BaseException as exc:
            self.fail(exc)
            await self.aclose()
            raise
        self.finish()

    async def aclose(self) -> None:
        """Stop early and release the connection."""
        await aclose_source(self._source)
        self.finish()

    async def __aenter__(self) -> AsyncTokenStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def one_chunk_pieces(completion: Completion) -> Iterator[Piece]:
    """A whole answer as a stream: one chunk (reasoning first, if any), marked `fallback`, then usage."""
    if completion.reasoning:
        yield Chunk(completion.reasoning, kind=REASONING, fallback=True)
    yield Chunk(completion.text, finish_reason=completion.finish_reason or "stop", fallback=True)
    yield from (chunk for chunk in completion.chunks if chunk.kind == TOOL_CALL)  # the calls, as they were given
    yield completion.usage
    if completion.provider_timings is not None:
        yield completion.provider_timings
