"""Bounds on what one streamed response may cost: its longest line, its decompressed size, its total time.

A server, a proxy or a broken network can send a line that never ends, a gzip body that inflates a
thousandfold, or keep-alive comments forever. The between-reads timeout catches none of these, so each
request gets a `ReadGuard`: it sees every read of the body, and the wait for the status line and headers
runs under the deadline too (a task timeout in async code; in sync code a timer that shuts the socket
down, since httpcore fixes each read's timeout once per header block), so even headers dripped a byte at
a time end on time.

Defaults (each a setting of every HTTP provider):
    max_line_bytes  16 MiB   the longest SSE or NDJSON line
    max_body_bytes  256 MiB  the whole body, after decompression
    timeout         none     the whole request, first byte sent to last byte read (retries included)
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from ..errors import APITimeoutError, ConfigurationError, MalformedStreamError

T = TypeVar("T")

DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024
DEFAULT_MAX_BODY_BYTES = 256 * 1024 * 1024
LIMIT_SETTINGS = ("max_line_bytes", "max_body_bytes")
_FLOOR = 0.001


@dataclass(frozen=True)
class Limits:
    """The limits of one session; `timeout` None means no overall limit."""

    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    timeout: float | None = None


def byte_count(name: str, value: object, default: int) -> int:
    """A positive whole number of bytes, or one `ConfigurationError` line saying so."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"{name} must be a whole number of bytes > 0, got {value!r:.40}")
    return value


def overall_timeout(value: object) -> float | None:
    """The `timeout` setting: None (no limit) or a finite number of seconds > 0."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1e7:
        raise ConfigurationError(f"timeout must be more than 0 and less than 10,000,000 seconds, got {value!r:.40}")
    return float(value)


class DeadlineTimeouts(dict):  # type: ignore[type-arg]
    """httpx's per-request timeout dict, whose every lookup is cut to what is left before the deadline.

    httpcore asks it before each connect, read and write, so no single socket wait outlives the request."""

    def __init__(self, timeouts: dict[str, Any], deadline: float) -> None:
        super().__init__(timeouts)
        self.deadline = deadline

    def get(self, key: str, default: Any = None) -> Any:
        value = super().get(key, default)
        left = max(self.deadline - time.monotonic(), _FLOOR)
        return left if value is None else min(float(value), left)


class ReadGuard:
    """Watches one request's reads: line length, body size and the overall deadline."""

    __slots__ = ("context", "limits", "deadline", "total", "line", "_socket")

    def __init__(self, context: Any, limits: Limits) -> None:
        self.context = context
        self.limits = limits
        self.deadline = time.monotonic() + limits.timeout if limits.timeout is not None else None
        self.total = 0
        self.line = 0  # bytes since the last line end
        self._socket: socket.socket | None = None

    def attach(self, request: Any, sync: bool = True) -> Any:
        """Make the socket waits of `request` (an httpx.Request) end by the deadline; in sync code, also
        note the socket each new connection opens, for `watch` to shut down."""
        if self.deadline is not None:
            request.extensions["timeout"] = DeadlineTimeouts(request.extensions.get("timeout") or {}, self.deadline)
            if sync:
                request.extensions["trace"] = self._trace
        return request

    def _trace(self, name: str, info: dict[str, Any]) -> None:
        if name in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            stream = info.get("return_value")
            self._socket = stream.get_extra_info("socket") if stream is not None else None

    @contextmanager
    def watch(self) -> Iterator[None]:
        """Sync: shut the connection down at the deadline if what runs inside is still waiting then."""
        if self.deadline is None:
            yield
            return
        timer = threading.Timer(max(self.deadline - time.monotonic(), 0.0), self._cut)
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()

    def _cut(self) -> None:
        sock = self._socket
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    async def within(self, awaitable: Awaitable[T]) -> T:
        """Async: `awaitable`, cancelled at the deadline."""
        if self.deadline is None:
            return await awaitable
        try:
            return await asyncio.wait_for(awaitable, max(self.deadline - time.monotonic(), _FLOOR))
        except TimeoutError:
            raise self.timeout_error() from None

    def read(self, data: bytes) -> None:
        """Account for one (decompressed) read; raise when a limit is passed."""
        size = len(data)
        self.total += size
        end = max(data.rfind(b"\n"), data.rfind(b"\r"))
        self.line = size - end - 1 if end >= 0 else self.line + size
        limits = self.limits
        if self.line > limits.max_line_bytes:
            raise self._error(f"a line longer than {limits.max_line_bytes:,} bytes arrived", "max_line_bytes")
        if self.total > limits.max_body_bytes:
            raise self._error(f"the response passed {limits.max_body_bytes:,} bytes", "max_body_bytes")
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise self.timeout_error()

    def capped(self, delay: float) -> float:
        """A wait before a retry, cut to what is left before the deadline (the next attempt then says so)."""
        if self.deadline is None:
            return delay
        return max(min(delay, self.deadline - time.monotonic()), 0.0)

    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline - _FLOOR

    def timeout_error(self) -> APITimeoutError:
        context = self.context
        return APITimeoutError(
            f"the request took longer than timeout={self.limits.timeout:g} s",
            hint="timeout= sets the limit for the whole request",
            provider=context.provider,
            host=context.host,
        )

    def _error(self, what: str, setting: str) -> MalformedStreamError:
        context = self.context
        return MalformedStreamError(
            what, hint=f"{setting}= raises the limit", provider=context.provider, host=context.host
        )
