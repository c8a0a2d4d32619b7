"""One pooled HTTP session per model: sending, retrying, timing out and mapping errors.

Providers speak their wire format; this module does the rest the same way for all of them:

- an `httpx.Client` and an `httpx.AsyncClient`, made on first use and reused, so a notebook
  that asks twenty questions opens one TLS connection, not twenty;
- retries with backoff for 429/5xx and connection failures, but only while nothing has been
  handed on (see `retry.py`);
- a connect timeout, and a read timeout that applies between reads, so a slow but steady
  stream never times out and a stalled one does;
- closing the response whenever the consumer stops (break, `close()`, task cancelled), so
  the server sees the connection close at once: a Stop button relies on that;
- after the protocol's end marker, reading the (tiny) rest of the body, so the connection
  goes back to the pool instead of being closed.

Async methods use only the `AsyncClient` and `asyncio.sleep`; even the TLS context (which
reads the CA bundle from disk) is built on a worker thread, so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Generator, Iterable, Iterator, Mapping
from itertools import chain
from typing import Any

import httpx

from .. import runtime
from ..errors import InterruptedStreamError, LLMStreamError
from ..redact import HTTP_LOGGERS, guard_logger, remember_secret
from .bodies import BodyHead, event_error, html_error, is_html, redirect_reason
from .errors import ErrorContext, host_of, malformed_error, status_error, transport_error
from .limits import Limits, ReadGuard
from .payload import loads
from .retry import RetryAfterTooLong, RetryPolicy, should_retry_status
from .sse import SSEDecoder, SSEEvent, WholeBody, abody_head, body_head, is_json_head

log = logging.getLogger("llmstream_nb.http")
for _name in HTTP_LOGGERS:  # httpx's INFO line shows each URL, credentials included; httpcore's DEBUG, headers
    guard_logger(_name)

DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 60.0
_DRAIN_LIMIT = 64 * 1024
_ERROR_BODY_LIMIT = 64 * 1024
#: The largest whole JSON body taken in place of an event stream (a long answer is a few hundred KB).
_WHOLE_BODY_LIMIT = 32 * 1024 * 1024

#: Failures that happen before the server has done anything we would lose by asking again.
_RETRYABLE_TRANSPORT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.RemoteProtocolError,
    httpx.ReadError,
    httpx.WriteError,
)
#: What httpx raises while sending or reading: transport failures, and a body its decoder refuses (bogus gzip).
_HTTP_FAILURES = (httpx.TransportError, httpx.DecodingError)

EndMarker = Callable[[SSEEvent], bool]
_ssl_context: ssl.SSLContext | None = None
_ssl_lock = threading.Lock()


def shared_ssl_context() -> ssl.SSLContext:
    """One TLS context for every session in the process: building one reads the CA bundle from
    disk (~0.1 s here), which would otherwise be paid by every model made."""
    global _ssl_context
    if _ssl_context is None:
        with _ssl_lock:
            if _ssl_context is None:
                _ssl_context = httpx.create_ssl_context()
    return _ssl_context


class HttpSession:
    """Pooled clients for one base URL, with a provider's headers, secrets and error hints.

    `secrets` are values (API keys) that must never appear in an error message. `hints`
    override the hint shown for a status, e.g. {401: "set OPENAI_API_KEY or pass api_key="}.
    `sleep`/`asleep` are the waits between retries; tests replace them to record delays.
    """

    def __init__(
        self,
        provider: str,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        secrets: tuple[str | None, ...] = (),
        hints: Mapping[int, str] | None = None,
        connect_timeout: float | None = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float | None = DEFAULT_READ_TIMEOUT,
        max_retries: int = 2,
        limits: Limits | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.limits = limits or Limits()
        for secret in secrets:
            remember_secret(secret)
        self.headers = dict(headers or {})
        self.timeout = httpx.Timeout(
            connect=connect_timeout, read=read_timeout, write=read_timeout, pool=connect_timeout
        )
        self.retry = RetryPolicy(max_retries=max(0, int(max_retries)))
        self.context = ErrorContext(
            provider=provider,
            host=host_of(self.base_url),
            secrets=tuple(s for s in secrets if s),
            hints=dict(hints or {}),
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
        )
        self.sleep: Callable[[float], None] = time.sleep
        self.asleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None
        self._aclient: httpx.AsyncClient | None = None
        self._aclient_loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"<HttpSession {self.context.provider} {self.context.host}>"

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    # -- clients --------------------------------------------------------------------------

    @property
    def client(self) -> httpx.Client:
        """The sync client, made on first use (thread-safe: `batch` streams from worker threads)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = httpx.Client(headers=self.headers, timeout=self.timeout, verify=shared_ssl_context())
        return self._client

    async def aclient(self) -> httpx.AsyncClient:
        """The async client of the running loop. Connections belong to the loop that opened them,
        so a new loop (a second `asyncio.run`) gets a new client."""
        loop = asyncio.get_running_loop()
        if self._aclient is not None and self._aclient_loop is loop:
            return self._aclient
        context = _ssl_context if _ssl_context is not None else await asyncio.to_thread(shared_ssl_context)
        if self._aclient is not None and self._aclient_loop is loop:  # made meanwhile by another task
            return self._aclient
        self._forget_async_client()
        self._aclient = httpx.AsyncClient(headers=self.headers, timeout=self.timeout, verify=context)
        self._aclient_loop = loop
        return self._aclient

    def close(self) -> None:
        """Close the sync client now and the async client on its own loop (if that loop still runs)."""
        client, self._client = self._client, None
        if client is not None:
            client.close()
        self._forget_async_client()

    async def aclose(self) -> None:
        """Close both clients; the async one is awaited when it belongs to this loop."""
        client, self._client = self._client, None
        if client is not None:
            client.close()  # closing sockets does not wait on the network
        aclient, loop = self._aclient, self._aclient_loop
        self._aclient = self._aclient_loop = None
        if aclient is not None and loop is asyncio.get_running_loop():
            await aclient.aclose()
        elif aclient is not None:
            _close_on_loop(aclient, loop)

    def _forget_async_client(self) -> None:
        aclient, loop = self._aclient, self._aclient_loop
        self._aclient = self._aclient_loop = None
        if aclient is not None:
            _close_on_loop(aclient, loop)

    # -- streaming, sync ----------------------------------------------------------------

    def stream_sse(
        self, method: str, path: str, *, json: Any = None, end: EndMarker | None = None
    ) -> Generator[SSEEvent, None, None]:
        """Send a request and yield its server-sent events as they arrive.

        `end(event)` marks the protocol's last event (OpenAI's `[DONE]`): it is yielded, the rest
        of the body is read quietly so the connection can be pooled, and iteration stops.
        Failures before the first event is yielded are retried; after it, never.
        """
        attempt = 0
        guard = ReadGuard(self.context, self.limits)
        while True:
            response, attempt = self._open(method, path, json, attempt, guard)
            decoder = SSEDecoder()
            handed_on = False
            head = BodyHead()
            try:
                reads = _guarded(response.iter_bytes(), guard)
                first = body_head(reads)
                if is_json_head(first):  # a whole answer (or error) where a stream was asked for
                    handed_on = True
                    yield WholeBody(data=self._whole_body(first, reads))
                    return
                for read in chain((first,), reads):
                    if not handed_on:
                        head.keep(read)
                    for event in decoder.feed(read):
                        if event.event == "error":  # whatever its shape, the provider's words end it
                            raise event_error(self.context, event.data)
                        handed_on = True
                        yield event
                        if end is not None and end(event):
                            _drain(reads)
                            return
                decoder.close()
                if not handed_on:
                    head.check_end(self.context, response.status_code)
                return
            except _HTTP_FAILURES as exc:
                if self._retryable(exc, attempt, handed_on):
                    attempt = self._wait(attempt, exc)
                    continue
                raise self._failure(exc, True, guard) from exc
            finally:
                response.close()

    def stream_lines(self, method: str, path: str, *, json: Any = None) -> Generator[str, None, None]:
        """Send a request and yield the non-empty lines of its body (NDJSON APIs such as Ollama's).

        Lines are split on b"\\n" only, never on the Unicode separators JSON strings may hold."""
        attempt = 0
        guard = ReadGuard(self.context, self.limits)
        while True:
            response, attempt = self._open(method, path, json, attempt, guard)
            handed_on = False
            splitter = LineSplitter()
            try:
                for read in response.iter_bytes():
                    guard.read(read)
                    for line in splitter.feed(read):
                        handed_on = True
                        yield line
                yield from self._last_line(splitter)
                return
            except _HTTP_FAILURES as exc:
                if self._retryable(exc, attempt, handed_on):
                    attempt = self._wait(attempt, exc)
                    continue
                raise self._failure(exc, True, guard) from exc
            finally:
                response.close()

    def request_json(self, method: str, path: str, *, json: Any = None) -> Any:
        """Send a request and return its JSON body, with the same retries and error mapping."""
        attempt = 0
        guard = ReadGuard(self.context, self.limits)
        while True:
            response, attempt = self._open(method, path, json, attempt, guard)
            try:
                body = b"".join(_guarded(response.iter_bytes(), guard))
            except _HTTP_FAILURES as exc:
                if self._retryable(exc, attempt):
                    attempt = self._wait(attempt, exc)
                    continue
                raise self._failure(exc, True, guard) from exc
            finally:
                response.close()
            return self._parse_json(body)

    def _open(self, method: str, path: str, json: Any, attempt: int, guard: ReadGuard) -> tuple[httpx.Response, int]:
        """Send until a success status, retrying what is worth retrying; returns the streaming
        response and the number of the attempt that got it."""
        client = self.client
        while True:
            try:
                request = guard.attach(client.build_request(method, self.url(path), json=json))
                with guard.watch():
                    response = client.send(request, stream=True)
            except _HTTP_FAILURES as exc:
                if self._retryable(exc, attempt):
                    attempt = self._wait(attempt, exc)
                    continue
                raise self._failure(exc, False, guard) from exc
            if response.status_code < 300 and not is_html(response.headers.get("content-type")):
                return response, attempt
            try:
                body = _read_limited(response)
            finally:
                response.close()
            delay = self._retry_delay(response, body, attempt)
            self.sleep(guard.capped(delay))
            attempt += 1

    def _wait(self, attempt: int, exc: Exception) -> int:
        delay = self.retry.delay(attempt)
        self._log_retry(attempt, delay, type(exc).__name__)
        self.sleep(delay)
        return attempt + 1

    # -- streaming, async ---------------------------------------------------------------

    async def astream_sse(
        self, method: str, path: str, *, json: Any = None, end: EndMarker | None = None
    ) -> AsyncGenerator[SSEEvent, None]:
        """Async twin of `stream_sse`. Cancelling the task or `aclose()` closes the response."""
        attempt = 0
        guard = ReadGuard(self.context, self.limits)
        while True:
            response, attempt = await self._aopen(method, path, json, attempt, guard)
            decoder = SSEDecoder()
            handed_on = False
            head = BodyHead()
            try:
                reads = _aguarded(response.aiter_bytes(), guard)
                first = await abody_head(reads)
                if is_json_head(first):
                    handed_on = True
                    yield WholeBody(data=self._whole_body(first, [read async for read in _limited(reads)]))
                    return
                async for read in _after(first, reads):
                    if not handed_on:
                        head.keep(read)
                    for event in decoder.feed(read):
                        if event.event == "error":  # whatever its shape, the provider's words end it
                            raise event_error(self.context, event.data)
                        handed_on = True
                        yield event
                        if end is not None and end(event):
                            await _adrain(reads)
                            return
                decoder.close()
                if not handed_on:
                    head.check_end(self.context, response.status_code)
                return
            except _HTTP_FAILURES as exc:
                if self._retryable(exc, attempt, handed_on):
                    attempt = await self._await(attempt, exc)
                    continue
                raise self._failure(exc, True, guard) from exc
            finally:
                await response.aclose()

    async def astream_lines(self, method: str, path: str, *, json: Any = None) -> AsyncGenerator[str, None]:
        """Async twin of `stream_lines`."""
        attempt = 0
        guard = ReadGuard(self.context, self.limits)
        while True:
            response, attempt = await self._aopen(method, path, json, attempt, guard)
            handed_on = False
            splitter = LineSplitter()
            try:
                async for read in response.aiter_bytes():
                    guard.read(read)
                    for line in splitter.feed(read):
                        handed_on = True
                        yield line
                for line in self._last_line(splitter):
                    yield line
                return
            except _HTTP_FAILURES as exc:
                if self._retryable(exc, attempt, handed_on):
                    attempt = await self._await(attempt, exc)
                    continue
                raise self._failure(exc, True, guard) from exc
            finally:
                await response.aclose()

    async def arequest_json(self, method: str, path: str, *, json: Any = None) -> Any:
        """Async twin of `request_json`."""
        attempt = 0
        guard = ReadGuard(self.context, self.limits)
        while True:
            response, attempt = await self._aopen(method, path, json, attempt, guard)
            try:
                parts = []
                async for part in response.aiter_bytes():
                    guard.read(part)
                    parts.append(part)
                body = b"".join(parts)
            except _HTTP_FAILURES as exc:
                if self._retryable(exc, attempt):
                    attempt = await self._await(attempt, exc)
                    continue
                raise self._failure(exc, True, guard) from exc
            finally:
                await response.aclose()
            return self._parse_json(body)

    async def _aopen(
        self, method: str, path: str, json: Any, attempt: int, guard: ReadGuard
    ) -> tuple[httpx.Response, int]:
        client = await self.aclient()
        while True:
            try:
                request = guard.attach(client.build_request(method, self.url(path), json=json), sync=False)
                response = await guard.within(client.send(request, stream=True))
            except _HTTP_FAILURES as exc:
                if self._retryable(exc, attempt):
                    attempt = await self._await(attempt, exc)
                    continue
                raise self._failure(exc, False, guard) from exc
            if response.status_code < 300 and not is_html(response.headers.get("content-type")):
                return response, attempt
            try:
                body = await _aread_limited(response)
            finally:
                await response.aclose()
            delay = self._retry_delay(response, body, attempt)
            await self.asleep(guard.capped(delay))
            attempt += 1

    async def _await(self, attempt: int, exc: Exception) -> int:
        delay = self.retry.delay(attempt)
        self._log_retry(attempt, delay, type(exc).__name__)
        await self.asleep(delay)
        return attempt + 1

    # -- shared decisions -----------------------------------------------------------------

    def _retryable(self, exc: Exception, attempt: int, handed_on: bool = False) -> bool:
        """The one retry decision for a transport failure: nothing handed on yet (retry.py says why),
        a failure the server did nothing for, and retries left."""
        return not handed_on and isinstance(exc, _RETRYABLE_TRANSPORT) and attempt < self.retry.max_retries

    def _retry_delay(self, response: httpx.Response, body: bytes, attempt: int) -> float:
        """How long to wait before retrying this error status; raises it when there is no retry."""
        status = response.status_code
        reason = response.reason_phrase
        if status < 300:  # a success status with an HTML page: not the stream we asked for
            raise html_error(self.context, status, body)
        if status < 400:  # never followed: the key would go to wherever it points
            body, reason = b"", redirect_reason(response.headers.get("location"))
        if not should_retry_status(status, body[:4000].decode("utf-8", "replace")) or attempt >= self.retry.max_retries:
            raise status_error(self.context, status, body, reason, attempts=attempt + 1)
        try:
            delay = self.retry.delay(attempt, response.headers)
        except RetryAfterTooLong as exc:
            raise status_error(self.context, status, body, reason, retry_after=exc.seconds) from None
        self._log_retry(attempt, delay, f"HTTP {status}")
        return delay

    def _last_line(self, splitter: LineSplitter) -> list[str]:
        """A body's last line when it has no line end: kept if it is whole JSON, else the body was cut."""
        lines = splitter.close()
        for line in lines:
            try:
                loads(line)
            except ValueError:
                raise InterruptedStreamError(
                    "the connection closed in the middle of a line",
                    provider=self.context.provider,
                    host=self.context.host,
                ) from None
        return lines

    def _failure(self, exc: Exception, in_body: bool, guard: ReadGuard) -> LLMStreamError:
        """The error for an httpx failure; a timeout at the overall deadline says so."""
        if guard.expired():  # a read cut by the deadline, or the socket `watch` shut down
            return guard.timeout_error()
        return transport_error(self.context, exc, in_body=in_body)  # type: ignore[arg-type]

    def _log_retry(self, attempt: int, delay: float, why: str) -> None:
        context = self.context
        log.info(
            "%s at %s: %s; retry %d of %d in %.2f s",
            context.provider,
            context.host,
            why,
            attempt + 1,
            self.retry.max_retries,
            delay,
        )

    def _whole_body(self, head: bytes, reads: Iterable[bytes]) -> str:
        """A JSON body sent where an event stream was asked for, read to its end up to a limit."""
        parts, size = [head], len(head)
        for read in reads:
            parts.append(read)
            size += len(read)
            if size > _WHOLE_BODY_LIMIT:
                raise malformed_error(
                    self.context, head[:80].decode("utf-8", "replace"), f"a JSON body over {_WHOLE_BODY_LIMIT} bytes"
                )
        return b"".join(parts).decode("utf-8", "replace")

    def _parse_json(self, body: bytes) -> Any:
        try:
            return loads(body)
        except ValueError:
            raise malformed_error(self.context, body[:200].decode("utf-8", "replace"), "not a JSON response") from None


class LineSplitter:
    """Cuts reads into the non-empty lines of an NDJSON body, on b"\\n" only (never on the Unicode line
    separators a JSON string may hold), decoded from UTF-8 (which never uses 0x0A inside a character).

    A line cut across many reads is joined once, when its end arrives: joining what is pending to every
    read instead copies a long line again and again, quadratic in its length.
    """

    __slots__ = ("_pending",)

    def __init__(self) -> None:
        self._pending: list[bytes] = []

    def feed(self, read: bytes) -> list[str]:
        """The lines this read completes."""
        if b"\n" not in read:
            if read:
                self._pending.append(read)
            return []
        parts = read.split(b"\n")
        if self._pending:
            self._pending.append(parts[0])
            parts[0] = b"".join(self._pending)
        tail = parts.pop()
        self._pending = [tail] if tail else []
        return [part.decode("utf-8", "replace") for part in parts if part.strip()]

    def close(self) -> list[str]:
        """The last line, when the body does not end with a line break."""
        rest = b"".join(self._pending)
        self._pending = []
        return [rest.decode("utf-8", "replace")] if rest.strip() else []


def _read_limited(response: httpx.Response) -> bytes:
    """An error body, read up to a limit; what a broken connection leaves out is not worth an exception."""
    parts: list[bytes] = []
    size = 0
    try:
        for part in response.iter_bytes():
            parts.append(part)
            size += len(part)
            if size >= _ERROR_BODY_LIMIT:
                break
    except httpx.HTTPError:
        pass
    return b"".join(parts)


async def _aread_limited(response: httpx.Response) -> bytes:
    parts: list[bytes] = []
    size = 0
    try:
        async for part in response.aiter_bytes():
            parts.append(part)
            size += len(part)
            if size >= _ERROR_BODY_LIMIT:
                break
    except httpx.HTTPError:
        pass
    return b"".join(parts)


def _guarded(reads: Iterator[bytes], guard: ReadGuard) -> Iterator[bytes]:
    for read in reads:
        guard.read(read)
        yield read


async def _aguarded(reads: AsyncIterator[bytes], guard: ReadGuard) -> AsyncIterator[bytes]:
    async for read in reads:
        guard.read(read)
        yield read


async def _after(first: bytes, reads: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """`first`, then the rest of `reads` (the async `chain((first,), reads)`)."""
    yield first
    async for read in reads:
        yield read


async def _limited(reads: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The reads of a body until just past `_WHOLE_BODY_LIMIT` (`_whole_body` then refuses it)."""
    size = 0
    async for read in reads:
        yield read
        size += len(read)
        if size > _WHOLE_BODY_LIMIT:
            return


def _drain(reads: Iterator[bytes]) -> None:
    """Read the rest after the end marker (normally just the chunked-body terminator), so httpcore
    sees the response complete and pools the connection. Errors here cost nothing: the answer is whole."""
    size = 0
    try:
        for read in reads:
            size += len(read)
            if size > _DRAIN_LIMIT:
                return
    except httpx.HTTPError:
        pass


async def _adrain(reads: AsyncIterator[bytes]) -> None:
    size = 0
    try:
        async for read in reads:
            size += len(read)
            if size > _DRAIN_LIMIT:
                return
    except httpx.HTTPError:
        pass


def _close_on_loop(aclient: httpx.AsyncClient, loop: asyncio.AbstractEventLoop | None) -> None:
    """Close an async client from anywhere: on its loop if that still runs, else let it go."""
    if loop is None or loop.is_closed() or not loop.is_running():
        return
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        runtime.keep_alive(loop.create_task(aclient.aclose()))
    else:
        asyncio.run_coroutine_threadsafe(aclient.aclose(), loop)
