"""The table of hostile cases: what the server does, and what a user must see.

Each case is run against every protocol in `protocols.PROTOCOLS` (unless it names some), in each mode
(sync `stream`, async `astream`, the CLI). `expect` is the error class from our hierarchy (None: the
answer must arrive whole), `partial` the text that must survive in `partial_text`, `words` the
provider's own message that must reach the user, `status` the HTTP status the line must name.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from typing import Any, Callable

from llmstream_nb import errors

from .protocols import KEY, Protocol
from .server import Behaviour, Conn, Request

TOKENS = ["Hel", "lo ", "wörld ", "🙂!"]
WHOLE = "".join(TOKENS)
FIRST_TWO = "Hello "
#: Small client limits, so every hostile case ends fast by the client's own rules (no wall clock in tests).
LIMITS: dict[str, Any] = {
    "connect_timeout": 2,
    "read_timeout": 1.0,
    "timeout": 2.5,
    "max_retries": 0,
    "max_line_bytes": 64 * 1024,
    "max_body_bytes": 1024 * 1024,
}


@dataclass(frozen=True)
class Case:
    name: str
    behave: Callable[[Protocol], Behaviour]
    expect: type[errors.LLMStreamError] | None
    partial: str = ""
    words: str | None = None
    status: int | None = None
    only: tuple[str, ...] | None = None
    limits: dict[str, Any] = field(default_factory=dict)
    text: str = WHOLE  # the whole answer, when `expect` is None

    def applies(self, protocol: Protocol) -> bool:
        return self.only is None or protocol.name in self.only or protocol.provider in self.only


def _head(protocol: Protocol, **extra: str) -> dict[str, str]:
    return {"Content-Type": protocol.content_type, "Connection": "close", **extra}


def stream(
    tokens: list[str] | None = None, after: bytes = b"", *, headers: dict[str, str] | None = None, ending: bool = True
) -> Callable[[Protocol], Behaviour]:
    """A well-formed stream of `tokens`, then `after` (bytes written before closing)."""

    def make(protocol: Protocol) -> Behaviour:
        async def behave(request: Request, conn: Conn) -> None:
            await conn.head(200, headers or _head(protocol))
            await conn.write(protocol.opening())
            for token in tokens if tokens is not None else TOKENS:
                await conn.write(protocol.token(token))
            if ending:
                await conn.write(protocol.ending())
            if after:
                await conn.write(after)

        return behave

    return make


def then(first: list[str], action: Callable[[Protocol, Conn], Any]) -> Callable[[Protocol], Behaviour]:
    """Stream the `first` tokens, then do `action` (an async function of the protocol and the connection)."""

    def make(protocol: Protocol) -> Behaviour:
        async def behave(request: Request, conn: Conn) -> None:
            await conn.head(200, _head(protocol))
            await conn.write(protocol.opening())
            for token in first:
                await conn.write(protocol.token(token))
            await action(protocol, conn)

        return behave

    return make


def status(
    code: int, body: Callable[[Protocol], bytes], content_type: str = "application/json", **headers: str
) -> Callable[[Protocol], Behaviour]:
    def make(protocol: Protocol) -> Behaviour:
        async def behave(request: Request, conn: Conn) -> None:
            data = body(protocol)
            await conn.head(
                code,
                {
                    "Content-Type": content_type,
                    "Content-Length": str(len(data)),
                    "Connection": "close",
                    **{k.replace("_", "-"): v for k, v in headers.items()},
                },
            )
            await conn.write(data)

        return behave

    return make


def raw(data: Callable[[Protocol], bytes]) -> Callable[[Protocol], Behaviour]:
    """Bytes written as they are, status line included (or not)."""

    def make(protocol: Protocol) -> Behaviour:
        async def behave(request: Request, conn: Conn) -> None:
            await conn.write(data(protocol))

        return behave

    return make


# -- actions after the first tokens ------------------------------------------------------------


async def _half_frame(protocol: Protocol, conn: Conn) -> None:
    frame = protocol.token("more text")
    await conn.write(frame[: len(frame) // 2])


async def _half_char(protocol: Protocol, conn: Conn) -> None:
    frame = protocol.token("é")
    cut = frame.index("é".encode()) + 1  # inside the two bytes of é
    await conn.write(frame[:cut])


async def _reset(protocol: Protocol, conn: Conn) -> None:
    await conn.pause(0.05)
    conn.reset()


async def _stall(protocol: Protocol, conn: Conn) -> None:
    await conn.pause(60)


async def _keepalive_forever(protocol: Protocol, conn: Conn) -> None:
    while True:
        await conn.write(b": keep-alive\n\n" if protocol.sse else b"\n")
        await conn.pause(0.05)


async def _firehose_forever(protocol: Protocol, conn: Conn) -> None:
    """Data that never ends a line, fast: no read ever times out."""
    while True:
        await conn.write(b"x" * 16384)


async def _huge_line(protocol: Protocol, conn: Conn) -> None:
    await conn.write((b"data: " if protocol.sse else b"") + b"y" * (256 * 1024))
    await conn.pause(60)


async def _mid_error_plain(protocol: Protocol, conn: Conn) -> None:
    """An error event in no provider's shape, only {"message": ...}."""
    payload = json.dumps({"message": "upstream exploded"})
    await conn.write(b"event: error\ndata: " + payload.encode() + b"\n\n" if protocol.sse else payload.encode() + b"\n")


async def _mid_error_native(protocol: Protocol, conn: Conn) -> None:
    await conn.write(protocol.mid_error(f"model melted; key was {KEY}"))


def _raw_event(data: str) -> Callable[[Protocol, Conn], Any]:
    async def action(protocol: Protocol, conn: Conn) -> None:
        await conn.write(protocol.raw(data))  # then a proper ending: only the bad event is wrong
        await conn.write(protocol.ending())

    return action


def _token_value(value: Any) -> Callable[[Protocol, Conn], Any]:
    async def action(protocol: Protocol, conn: Conn) -> None:
        await conn.write(protocol.token(value))
        await conn.write(protocol.ending())

    return action


async def _big_number_token(protocol: Protocol, conn: Conn) -> None:
    """A 5,000-digit number where the text belongs."""
    await conn.write(protocol.token("@N@").replace(b'"@N@"', b"9" * 5000))
    await conn.write(protocol.ending())


async def _drip_forever_headers(request: Request, conn: Conn) -> None:
    await conn.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n")
    while True:
        await conn.write(b"X")
        await conn.pause(0.02)


def _drip(protocol: Protocol) -> Behaviour:
    async def behave(request: Request, conn: Conn) -> None:
        await conn.head(200, _head(protocol))
        body = protocol.body(TOKENS)
        for start in range(0, len(body), 7):
            await conn.write(body[start : start + 7])

    return behave


#: 16 MiB of zeros in ~16 KiB: sixteen times the client's `max_body_bytes` in the test.
BOMB = gzip.compress(b"data: " + b"0" * (16 * 1024 * 1024), compresslevel=9)


def _gzip_bomb(protocol: Protocol) -> Behaviour:
    async def behave(request: Request, conn: Conn) -> None:
        await conn.head(200, _head(protocol, **{"Content-Encoding": "gzip"}))
        await conn.write(BOMB)

    return behave


def _redirect(location: str) -> Callable[[Protocol], Behaviour]:
    def make(protocol: Protocol) -> Behaviour:
        async def behave(request: Request, conn: Conn) -> None:
            await conn.head(302, {"Location": location, "Content-Length": "0", "Connection": "close"})

        return behave

    return make


def _retry_after_negative(protocol: Protocol) -> Behaviour:
    async def behave(request: Request, conn: Conn) -> None:
        data = protocol.status_error("slow down")
        await conn.head(
            429,
            {
                "Retry-After": "-5",
                "Content-Type": "application/json",
                "Content-Length": str(len(data)),
                "Connection": "close",
            },
        )
        await conn.write(data)

    return behave


HTML = b"<!DOCTYPE html><html><head><title>Sign in - Corporate Proxy</title></head><body><form>...</form></body></html>"
NESTED = "[" * 100_000 + "]" * 100_000

CASES: tuple[Case, ...] = (
    Case("whole", stream(), None),
    Case("dripped", _drip, None),
    Case(
        "text/plain content type",
        stream(headers={"Content-Type": "text/plain; charset=latin-1", "Connection": "close"}),
        None,
    ),
    Case("lines after the end", lambda p: stream(after=p.token("EXTRA") + p.token("MORE"))(p), None),
    Case("drop inside a line", then(TOKENS[:2], _half_frame), errors.InterruptedStreamError, FIRST_TWO),
    Case("drop inside a UTF-8 character", then(TOKENS[:2], _half_char), errors.InterruptedStreamError, FIRST_TWO),
    Case("connection reset", then(TOKENS[:2], _reset), errors.StreamError, FIRST_TWO),
    Case("stall", then(TOKENS[:2], _stall), errors.APITimeoutError, FIRST_TWO),
    Case(
        "stall past the overall timeout",
        then(TOKENS[:2], _stall),
        errors.APITimeoutError,
        FIRST_TWO,
        words="timeout=",
        limits={"read_timeout": 30, "timeout": 1.0},
    ),
    Case(
        "keep-alive forever", then(TOKENS[:2], _keepalive_forever), errors.APITimeoutError, FIRST_TWO, words="timeout="
    ),
    Case("headers dripped forever", lambda p: _drip_forever_headers, errors.APITimeoutError, words="timeout="),
    Case(
        "data forever without a line end",
        then(TOKENS[:2], _firehose_forever),
        errors.MalformedStreamError,
        FIRST_TWO,
        words="max_line_bytes",
    ),
    Case("huge line", then(TOKENS[:2], _huge_line), errors.MalformedStreamError, FIRST_TWO, words="max_line_bytes"),
    Case("garbage JSON", then(TOKENS[:2], _raw_event("{not json")), errors.MalformedStreamError, FIRST_TWO),
    Case("deeply nested JSON", then(TOKENS[:2], _raw_event(NESTED)), errors.MalformedStreamError, FIRST_TWO),
    Case("5000-digit number", then(TOKENS[:2], _big_number_token), errors.MalformedStreamError, FIRST_TWO),
    Case("number as a token", then(TOKENS[:2], _token_value(42)), errors.MalformedStreamError, FIRST_TWO),
    Case("object as a token", then(TOKENS[:2], _token_value({"text": "hi"})), errors.MalformedStreamError, FIRST_TWO),
    Case("bool as a token", then(TOKENS[:2], _token_value(True)), errors.MalformedStreamError, FIRST_TWO),
    Case(
        "error event in the provider's shape",
        then(TOKENS[:2], _mid_error_native),
        errors.ProviderStreamError,
        FIRST_TWO,
        words="model melted",
    ),
    Case(
        "error event with only a message",
        then(TOKENS[:2], _mid_error_plain),
        errors.ProviderStreamError,
        FIRST_TWO,
        words="upstream exploded",
        only=("openai", "anthropic"),
    ),
    Case(
        "bogus gzip",
        stream(headers={"Content-Type": "text/event-stream", "Content-Encoding": "gzip", "Connection": "close"}),
        errors.MalformedStreamError,
        words="decode",
    ),
    Case("gzip bomb", _gzip_bomb, errors.MalformedStreamError, words="max_"),
    Case("redirect to another path", _redirect("/elsewhere"), errors.APIError, status=302, words="redirect"),
    Case(
        "redirect to another host",
        _redirect("http://user:pw@evil.invalid/v1"),
        errors.APIError,
        status=302,
        words="redirect",
    ),
    Case(
        "200 HTML page",
        status(200, lambda p: HTML, "text/html; charset=utf-8"),
        errors.MalformedStreamError,
        words="HTML",
    ),
    Case(
        "200 JSON error body",
        status(200, lambda p: p.status_error("quota exceeded for this model")),
        errors.LLMStreamError,
        words="quota exceeded for this model",
    ),
    Case(
        "400 provider's error body",
        status(400, lambda p: p.status_error("max_tokens is too large")),
        errors.BadRequestError,
        words="max_tokens is too large",
        status=400,
    ),
    Case(
        "401 echoing the key",
        status(401, lambda p: p.status_error(f"Incorrect API key provided: {KEY}"), X_Echo=KEY),
        errors.AuthenticationError,
        words="Incorrect API key",
        status=401,
    ),
    Case(
        "401 key split across lines",
        status(401, lambda p: f"bad key {KEY[:12]}\n{KEY[12:]}".encode(), "text/plain"),
        errors.AuthenticationError,
        status=401,
    ),
    Case(
        "404 plain text",
        status(404, lambda p: b"no such route", "text/plain"),
        errors.NotFoundError,
        words="no such route",
        status=404,
    ),
    Case("500 HTML error page", status(500, lambda p: HTML, "text/html"), errors.ServerError, status=500),
    Case("503 empty body", status(503, lambda p: b""), errors.ServerError, status=503),
    Case(
        "429 Retry-After -5",
        _retry_after_negative,
        errors.RateLimitError,
        words="slow down",
        status=429,
        limits={"max_retries": 1, "timeout": 10},
    ),
    Case("garbage status line", raw(lambda p: b"HELLO THERE\r\n\r\n"), errors.APIConnectionError),
    Case("closed before answering", raw(lambda p: b""), errors.APIConnectionError),
    Case("empty 200 body", status(200, lambda p: b"", "text/event-stream"), errors.StreamError),
)
