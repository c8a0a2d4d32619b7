"""A raw, hostile HTTP/1.1 server: asyncio sockets and nothing else, so it can misbehave where a web
framework would not let it (cut a line or a UTF-8 character in half, reset the connection, drip headers,
lie about the encoding, redirect, answer HTML...).

It listens on 127.0.0.1 on a free port, in a thread of its own, and stops by itself: every connection
is cut after `CONNECTION_LIFETIME` seconds, and the whole server after `SERVER_LIFETIME`. What it answers
is the current `behaviour`: an async function given the parsed request and a `Conn` to write with.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

#: No connection outlives this, whatever its behaviour (a "forever" behaviour included).
CONNECTION_LIFETIME = 8.0
#: The server shuts itself down after this long, if the test session forgot to.
SERVER_LIFETIME = 900.0
_HEADER_LIMIT = 64 * 1024
_BODY_LIMIT = 1024 * 1024


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None


@dataclass
class Conn:
    """The raw connection: write bytes (each write flushed at once), pause, reset."""

    writer: asyncio.StreamWriter
    sent: list[bytes] = field(default_factory=list)

    async def write(self, data: bytes) -> None:
        self.sent.append(data)
        self.writer.write(data)
        await self.writer.drain()

    async def head(self, status: int = 200, headers: dict[str, str] | None = None, reason: str = "") -> None:
        """A status line and headers; `Transfer-Encoding: chunked` is NOT added (the body is written raw,
        closed by closing the connection) unless a behaviour asks for it."""
        lines = [f"HTTP/1.1 {status} {reason or _REASONS.get(status, 'Whatever')}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        await self.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    async def pause(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def reset(self) -> None:
        """Close with a TCP RST instead of a FIN: the client sees "connection reset by peer"."""
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()


Behaviour = Callable[[Request, Conn], Awaitable[None]]

_REASONS = {
    200: "OK",
    302: "Found",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


async def _ok(request: Request, conn: Conn) -> None:
    await conn.head(200, {"Content-Length": "2"})
    await conn.write(b"{}")


class HostileServer:
    """`with HostileServer() as server:` then `server.behaviour = ...` and talk to `server.url`."""

    def __init__(self) -> None:
        self.behaviour: Behaviour = _ok
        self.requests: list[Request] = []
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stopped: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="hostile-server", daemon=True)

    def __enter__(self) -> HostileServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the hostile server did not start")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self._stopped is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())
        self._loop.close()

    async def _serve(self) -> None:
        self._stopped = asyncio.Event()
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self._ready.set()
        try:
            await asyncio.wait_for(self._stopped.wait(), SERVER_LIFETIME)
        except TimeoutError:
            pass
        server.close()
        handlers = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        await server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await asyncio.wait_for(self._one(reader, writer), CONNECTION_LIFETIME)
        except (TimeoutError, ConnectionError, OSError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            if not writer.transport.is_closing():
                writer.close()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One request per connection (the answer decides how the connection ends)."""
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > _HEADER_LIMIT:
            return
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = (lines[0].split(" ") + ["", ""])[:3]
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        length = min(int(headers.get("content-length") or 0), _BODY_LIMIT)
        body = await reader.readexactly(length) if length else b""
        request = Request(method, path, headers, body)
        self.requests.append(request)
        await self.behaviour(request, Conn(writer))
