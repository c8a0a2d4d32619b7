"""A minimal HTTP/1.1 server that answers every POST with a pre-recorded SSE body, written at once.

    python bench/replay_server.py --port 0 DIR      # DIR holds <tokens>.sse files; prints its URL

The body is chosen by the request's `max_tokens` (`DIR/<max_tokens>.sse`). Each response is framed once,
ahead of time, as HTTP chunks of 64 SSE events (what the demo server sends in zero-latency mode), so
serving costs one socket write: what a client measures against this server is the client. A request
with `"replay_tps": R` in its body is paced instead: event i is written at i/R seconds (events due at
once go in one write), the cheapest way to serve many paced streams. Keep-alive connections are kept,
so pooled clients reuse them as they would anywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

EVENTS_PER_FRAME = 64
HEAD = (
    b"HTTP/1.1 200 OK\r\n"
    b"content-type: text/event-stream; charset=utf-8\r\n"
    b"cache-control: no-cache\r\n"
    b"transfer-encoding: chunked\r\n\r\n"
)
NOT_FOUND = b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"


def frame(body: bytes) -> bytes:
    """The whole response: head, then the body as chunked frames of EVENTS_PER_FRAME events."""
    events = body.split(b"\n\n")[:-1]
    parts = [HEAD]
    for i in range(0, len(events), EVENTS_PER_FRAME):
        data = b"".join(e + b"\n\n" for e in events[i : i + EVENTS_PER_FRAME])
        parts.append(b"%x\r\n%s\r\n" % (len(data), data))
    parts.append(b"0\r\n\r\n")
    return b"".join(parts)


def load(directory: Path) -> dict[int, tuple[bytes, list[bytes]]]:
    """Per token count: the whole framed response, and the body's events (for paced answers)."""
    out = {}
    for path in directory.glob("*.sse"):
        body = path.read_bytes()
        out[int(path.stem)] = (frame(body), [e + b"\n\n" for e in body.split(b"\n\n")[:-1]])
    return out


async def paced(writer: asyncio.StreamWriter, events: list[bytes], tps: float) -> None:
    loop = asyncio.get_running_loop()
    writer.write(HEAD)
    start = loop.time()
    i, n = 0, len(events)
    while i < n:
        due = min(n, int((loop.time() - start) * tps) + 1)
        if due <= i:
            await asyncio.sleep(i / tps - (loop.time() - start))
            continue
        data = b"".join(events[i:due])
        i = due
        writer.write(b"%x\r\n%s\r\n" % (len(data), data))
        await writer.drain()
    writer.write(b"0\r\n\r\n")
    await writer.drain()


async def serve(port: int, responses: dict[int, tuple[bytes, list[bytes]]]) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length) if length else b""
                try:
                    request = json.loads(body)
                    tokens, tps = int(request.get("max_tokens") or 0), float(request.get("replay_tps") or 0)
                except (ValueError, AttributeError, TypeError):
                    tokens, tps = 0, 0.0
                if tokens not in responses:
                    writer.write(NOT_FOUND)
                elif tps > 0:
                    await paced(writer, responses[tokens][1], tps)
                    continue
                else:
                    writer.write(responses[tokens][0])
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    host, real_port = server.sockets[0].getsockname()[:2]
    print(f"replay server at http://{host}:{real_port}/v1 serving {sorted(responses)}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("directory", type=Path)
    args = parser.parse_args()
    try:
        asyncio.run(serve(args.port, load(args.directory)))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
