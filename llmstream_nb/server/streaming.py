"""Writing answers while watching the client: streamed bodies, prompt disconnect detection, dropped connections.

Protocol-agnostic: bodies arrive as bytes already framed (SSE for OpenAI and Anthropic, NDJSON for Ollama).
Starlette's `StreamingResponse` is not used because the server must:

- notice a client that leaves within milliseconds, even while the model sleeps between tokens, stop
  generating at once and record it (a task awaits the ASGI `http.disconnect` message beside the writer);
- batch writes when the model never waits, so zero-latency benchmarks measure the client, not one
  write per token here (an empty part asks for a flush, e.g. before a stall);
- abort a connection on purpose (`ConnectionDropped`), and keep that out of the server's error log.

Both kinds of answer run here the same way for every protocol, faults included: a streamed one through
`stream_answer`, which decides what is written when and asks the protocol's `StreamEncoder` (one per
`*_wire.py`) only for the bytes; a whole one through `answer_whole`, which collects an `Answer` for the
protocol to render in its own JSON.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar, cast

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ..chunks import Chunk
from .faults import ConnectionDropped, Event, Injected
from .log import CLIENT_DISCONNECTED, COMPLETED, ERROR, FAULT, RequestRecord
from .state import Generation

T = TypeVar("T")
logger = logging.getLogger("llmstream_nb.server")

#: Parts joined into one write when batching; ~64 OpenAI chunks are ~10 KB.
BATCH_PARTS = 64

SSE_HEADERS = {"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"}


class ClientDisconnected(Exception):
    """The client closed the connection before the answer was complete."""


async def wait_for_disconnect(receive: Receive) -> None:
    """Return once the ASGI server reports that the client has gone (the request body must be read first)."""
    while (await receive())["type"] != "http.disconnect":
        pass


async def race_disconnect(work: Awaitable[T], receive: Receive) -> T:
    """Await `work`; if the client leaves first, cancel it and raise `ClientDisconnected`."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(wait_for_disconnect(receive))
    try:
        done, _ = await asyncio.wait((task, watcher), return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:  # the server is shutting down
        task.cancel()
        watcher.cancel()
        raise
    watcher.cancel()
    if task in done:
        return task.result()
    task.cancel()
    await asyncio.wait((task,))
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not warn about it
    raise ClientDisconnected()


def raw_headers(headers: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


class StreamingBody:
    """An ASGI response that writes `body` as it comes and records how it ended on `record`.

    `batch=True` joins up to `BATCH_PARTS` parts per write (for models that never wait); an empty part
    flushes. `ConnectionDropped` from the body aborts the connection after flushing what was produced.
    """

    def __init__(
        self,
        body: AsyncIterator[bytes],
        record: RequestRecord,
        *,
        headers: Mapping[str, str],
        status: int = 200,
        batch: bool = False,
    ) -> None:
        self.body = body
        self.record = record
        self.status = status
        self.headers = {**SSE_HEADERS, **headers}
        self.batch = batch

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": raw_headers(self.headers)})
        self.record.status = self.status
        try:
            await race_disconnect(self._write(send), receive)
        except ClientDisconnected:
            self.record.finish(CLIENT_DISCONNECTED)
        except ConnectionDropped:
            self.record.finish(FAULT)
            raise
        except BaseException:
            self.record.finish(ERROR)
            raise
        else:
            self.record.finish(COMPLETED)

    async def _write(self, send: Send) -> None:
        if not self.batch:
            async for part in self.body:
                if part:
                    await send({"type": "http.response.body", "body": part, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        parts: list[bytes] = []
        try:
            async for part in self.body:
                if part:
                    parts.append(part)
                    if len(parts) < BATCH_PARTS:
                        continue
                if parts:
                    await send({"type": "http.response.body", "body": b"".join(parts), "more_body": True})
                    parts = []
                    await asyncio.sleep(0)  # let other requests, and the disconnect watcher, run
        except ConnectionDropped:
            if parts:
                await send({"type": "http.response.body", "body": b"".join(parts), "more_body": True})
            raise
        await send({"type": "http.response.body", "body": b"".join(parts), "more_body": False})


class DroppedResponse:
    """Announce a whole JSON body, send half of it, then drop the connection (non-streaming `drop_after`)."""

    def __init__(self, body: bytes, record: RequestRecord, *, headers: Mapping[str, str]) -> None:
        self.body = body
        self.record = record
        self.headers = {"content-type": "application/json", **headers, "content-length": str(len(body))}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": raw_headers(self.headers)})
        await send({"type": "http.response.body", "body": self.body[: len(self.body) // 2], "more_body": True})
        self.record.finish(FAULT, 200)
        raise ConnectionDropped("dropped on purpose")


class StreamEncoder(Protocol):
    """The bytes of one streamed answer in one protocol's framing (each `*_wire.py` has one); `stream_answer`
    decides what is written when. A sequence is written as separate parts, in order (an empty part asks for
    a flush, so there are none)."""

    def opening(self) -> Sequence[bytes]: ...  # first of all: OpenAI's role chunk; Anthropic's message_start...
    def token(self, chunk: Chunk) -> bytes: ...  # a chunk with text
    def finish(self, reason: str) -> bytes: ...  # at the chunk with the finish reason (b"": only in `closing`)
    def malformed(self) -> bytes: ...  # the `malformed_after` fault: a frame cut off mid-JSON
    def error(self, injected: bool) -> bytes: ...  # the error that ends the body: `error_after`, or the model failed
    def closing(self, finish_reason: str | None, usage: dict[str, int]) -> Sequence[bytes]: ...  # usage, end marker


class ThinkingEncoder(StreamEncoder, Protocol):
    """An encoder for a protocol that streams reasoning before the answer (Anthropic, Ollama)."""

    def reasoning(self, text: str) -> bytes: ...  # a token of reasoning
    def end_reasoning(self) -> Sequence[bytes]: ...  # between reasoning and answer (Anthropic: signature, blocks)


async def stream_answer(
    generation: Generation,
    encoder: StreamEncoder,
    record: RequestRecord,
    usage: Callable[[], dict[str, int]],
    thoughts: AsyncIterator[Chunk] | None = None,
) -> AsyncIterator[bytes]:
    """The body of a streamed answer, for every protocol: the opening, the reasoning if `thoughts` (then
    `encoder` must be a `ThinkingEncoder`), a part per event of `generation` (token, finish, fault), and the
    closing with `usage()` (called once the answer is complete). An `error_after` fault or a model failure
    ends the body with the protocol's error instead; a drop goes on up to `StreamingBody`. Both streams are
    closed when the body ends, however it ends, so the model stops at once.
    """
    for part in encoder.opening():
        yield part
    finish = None
    try:
        if thoughts is not None:
            thinker = cast(ThinkingEncoder, encoder)
            async for chunk in thoughts:
                if chunk.text:
                    yield thinker.reasoning(chunk.text)
            for part in thinker.end_reasoning():
                yield part
        async for event in generation.events:
            if event.__class__ is Chunk:
                if event.text:
                    yield encoder.token(event)
                if event.finish_reason:
                    finish = event.finish_reason
                    part = encoder.finish(finish)
                    if part:
                        yield part
            elif event is Injected.ERROR:
                yield encoder.error(injected=True)
                return
            elif event is Injected.MALFORMED:
                yield encoder.malformed()
            else:  # Injected.FLUSH
                yield b""
    except ConnectionDropped:
        raise
    except Exception:
        logger.exception("the model failed mid-stream")
        record.finish(ERROR)
        yield encoder.error(injected=False)
        return
    finally:  # stop the model now, even if the client left before the answer's events were started
        if thoughts is not None:
            await thoughts.aclose()  # type: ignore[attr-defined]
        await generation.stream.aclose()
    for part in encoder.closing(finish, usage()):
        yield part


@dataclass
class Answer:
    """A whole answer as it is collected (kept when a fault cuts the collection short)."""

    texts: list[str] = field(default_factory=list)
    logprobs: list[Chunk] = field(default_factory=list)
    finish_reason: str | None = None
    malformed: bool = False
    failed: bool = False

    @property
    def text(self) -> str:
        return "".join(self.texts)


async def collect(events: AsyncIterator[Event], answer: Answer, keep_logprobs: bool = False) -> None:
    """Gather `events` into `answer`: text, finish reason, and which faults fired."""
    async for event in events:
        if event.__class__ is Chunk:
            if event.text:
                answer.texts.append(event.text)
                if keep_logprobs:
                    answer.logprobs.append(event)
            answer.finish_reason = event.finish_reason or answer.finish_reason
        elif event is Injected.ERROR:
            answer.failed = True
            return
        elif event is Injected.MALFORMED:
            answer.malformed = True


async def answer_whole(
    receive: Receive,
    events: AsyncIterator[Event],
    record: RequestRecord,
    headers: dict[str, str],
    render: Callable[[Answer], bytes],
    fail: Callable[[], Response],
    keep_logprobs: bool = False,
) -> ASGIApp:
    """Collect the answer while watching the client, then send `render(answer)` whole.

    Faults as a non-streaming client meets them: `error_after` (or a model failure) answers `fail()`;
    `drop_after`/`stall_after` send half the body, then drop; `malformed_after` sends half the body.
    A client that leaves first gets nothing (499 in the log).
    """
    answer = Answer()
    try:
        await race_disconnect(collect(events, answer, keep_logprobs), receive)
    except ClientDisconnected:
        record.finish(CLIENT_DISCONNECTED)
        return Response(status_code=499)  # nobody is left to read it
    except ConnectionDropped:
        return DroppedResponse(render(answer), record, headers=headers)
    except Exception:
        logger.exception("the model failed")
        return fail()
    if answer.failed:
        return fail()
    content = render(answer)
    if answer.malformed:
        content = content[: len(content) // 2]
    record.finish(COMPLETED, 200)
    return Response(content, media_type="application/json", headers=headers)


class _QuietDrops(logging.Filter):
    """Keep deliberate drops out of uvicorn's "Exception in ASGI application" log."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        while exc is not None:
            if isinstance(exc, ConnectionDropped):
                return False
            exc = exc.__cause__ or exc.__context__
        return True


def quiet_deliberate_drops(logger_name: str = "uvicorn.error") -> None:
    """Install the filter once on the logger the ASGI server reports app exceptions to."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, _QuietDrops) for f in logger.filters):
        logger.addFilter(_QuietDrops())
