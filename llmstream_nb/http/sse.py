"""Server-sent events (SSE) decoding for streaming LLM APIs (OpenAI chat/completions, Anthropic Messages).

Follows the WHATWG HTML Standard, 9.2.5 "Parsing an event stream" and 9.2.6 "Interpreting an event stream":
https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream

It works on bytes (`response.iter_bytes()` / `aiter_bytes()`), not on `iter_lines()`: httpx splits lines with
`str.splitlines`, which also breaks on U+2028, U+0085, \\x0b, \\x0c ..., all of which may sit inside a JSON string.
There is no Content-Type check: some OpenAI-compatible servers stream SSE as text/plain or application/json.

Decision: our own decoder, not httpx-sse 0.4.3. Its line and event decoders (`httpx_sse._decoders`, private)
break three rules of the spec in tests/test_sse.py (run them with LLMSTREAM_SSE_DECODER=httpx-sse: 11 of 80 fail):
  - it dispatches blocks with no `data` (`event: ping`, `retry: 10`), and once any `id` has been seen every
    further blank line (keep-alive) yields an empty event that a provider would then try to `json.loads`;
  - it reads `retry: -1`, `+5`, `1_000`, ` 7` and non-ASCII digits as numbers (the spec wants ASCII digits only);
  - with CR line ends it holds a read's final CR back, so the event waits for the next network read;
it cannot tell "no id yet" from an empty id, and it needs a UTF-8 decoder with BOM stripping in front of it (httpx's
`iter_text` keeps the BOM). It is also 1.6-1.9x slower. Median µs/event, same 20,000-event OpenAI chat stream
(288 B/event), CPython 3.11, 2-vCPU VM, `.venv/bin/python bench/bench_sse.py` (7 interleaved runs):

    reads          ours   httpx-sse   floor*   ours + json.loads   httpx-sse + json.loads
    4 KiB          1.55     2.90      0.71          6.27                 7.64
    one per event  2.50     3.98      0.86          7.59                 9.13
    64 B           5.02     8.93      2.61         10.17                14.26

    * split on b"\\n\\n" and decode, no spec handling at all.

The openai SDK's own SSE decoder alone costs 6.4-11.8 µs/event there; the SDK end to end ~137 µs/event.

How it is fast: bytes are buffered until a read holds a line end, CR and CRLF are rewritten to LF in bytes, and
only the complete lines are decoded from UTF-8, in one call per read. That is exact because UTF-8 never uses
the bytes 0x0A/0x0D inside a multi-byte character, so a character cut by a read boundary is always completed
before it is decoded.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from dataclasses import dataclass

__all__ = ["SSEDecoder", "SSEEvent", "WholeBody", "aiter_sse", "body_head", "is_json_head", "iter_sse"]


@dataclass(slots=True)
class SSEEvent:
    """One dispatched event. `id` is the last event ID seen so far in the stream (the spec keeps it from event
    to event); `retry` is the reconnection time in ms if this event's block set one."""

    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None


@dataclass(slots=True)
class WholeBody(SSEEvent):
    """Not an event: a whole JSON document where an event stream was asked for (some proxies answer a
    streaming request so, and so do error pages sent with status 200). `data` is the body's text; the
    provider reads it as a whole answer or an error."""


_BOM = b"\xef\xbb\xbf"


def is_json_head(head: bytes) -> bool:
    """True when a body starts like a JSON document: an event stream never starts with `{` or `[`
    (the spec would read such a line as an unknown field and ignore it)."""
    return head.lstrip().removeprefix(_BOM).lstrip()[:1] in (b"{", b"[")


def body_head(reads: Iterator[bytes]) -> bytes:
    """The first reads of a body, up to and including the first that is not only whitespace."""
    parts = []
    for read in reads:
        parts.append(read)
        if read.strip():
            break
    return b"".join(parts)


async def abody_head(reads: AsyncIterator[bytes]) -> bytes:
    """Async twin of `body_head`."""
    parts = []
    async for read in reads:
        parts.append(read)
        if read.strip():
            break
    return b"".join(parts)


class SSEDecoder:
    """Incremental SSE decoder: feed it reads of any size, cut anywhere, and get the events they complete.

    `last_event_id` and `retry` keep the stream-level state the spec asks a client to reconnect with.
    """

    def __init__(self) -> None:
        self._pending: list[bytes] = []  # a line that has not ended yet
        self._skip_lf = False  # the last read ended in CR: a LF starting the next read completes a CRLF
        self._bom_checked = False
        self._event = ""
        self._data: list[str] = []
        self._block_retry: int | None = None
        self.last_event_id: str | None = None
        self.retry: int | None = None

    def feed(self, data: bytes) -> list[SSEEvent]:
        """Take the next read of the stream; return the events it completes, in order."""
        if self._skip_lf:
            if not data:
                return []
            self._skip_lf = False
            if data[:1] == b"\n":
                data = data[1:]
        if b"\r" in data:
            # A CR ends its line at once, so a CR-only stream is not held back until the next read; if this read
            # ends in CR, a LF at the start of the next one completes a CRLF and is skipped there.
            self._skip_lf = data[-1:] == b"\r"
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        end = data.rfind(b"\n")
        if end < 0:
            self._pending.append(data)
            return []
        if self._pending:
            self._pending.append(data[:end])
            block = b"".join(self._pending)
        else:
            block = data[:end]
        self._pending = [data[end + 1 :]] if end + 1 < len(data) else []
        return self._process(self._decode(block).split("\n"))

    def close(self) -> list[SSEEvent]:
        """End of stream. A last line without a line end is still processed (it may set `last_event_id` or
        `retry`), but the spec discards an event that no blank line ended, so this returns no events."""
        if self._pending:
            tail = b"".join(self._pending)
            self._pending = []
            self._process([self._decode(tail)])
        self._skip_lf = False
        self._event, self._block_retry = "", None
        self._data.clear()
        return []

    def _decode(self, raw: bytes) -> str:
        """UTF-8 decode, invalid bytes replaced (spec: "UTF-8 decode"), which also drops one BOM at the start."""
        text = raw.decode("utf-8", "replace")
        if not self._bom_checked:
            self._bom_checked = True
            if text[:1] == "\ufeff":
                text = text[1:]
        return text

    def _process(self, lines: list[str]) -> list[SSEEvent]:
        events: list[SSEEvent] = []
        data = self._data  # mutated in place, never rebound: _field appends to it too
        for line in lines:
            if line[:5] == "data:":  # the hot path: most lines of an LLM stream
                data.append(line[6:] if line[5:6] == " " else line[5:])
            elif not line:
                # A blank line ends the block; an empty data buffer dispatches nothing (spec step 2).
                if data:
                    event = SSEEvent(self._event or "message", "\n".join(data), self.last_event_id, self._block_retry)
                    events.append(event)
                    data.clear()
                self._event = ""
                self._block_retry = None
            elif line[0] != ":":  # a line starting with ":" is a comment
                self._field(line)
        return events

    def _field(self, line: str) -> None:
        name, _, value = line.partition(":")  # a line without a colon is a field name with an empty value
        if value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self.last_event_id = value
        elif name == "retry" and value.isascii() and value.isdigit() and len(value) <= 18:
            # ASCII digits only; the length cap keeps int() clear of CPython's 4300-digit limit.
            self._block_retry = self.retry = int(value)
        # Any other field name is ignored.


def iter_sse(chunks: Iterable[bytes]) -> Iterator[SSEEvent]:
    """Decode events from reads such as `response.iter_bytes()`, yielding each as soon as its read arrives.
    A body that is one JSON document instead is yielded whole, as a `WholeBody`."""
    reads = iter(chunks)
    head = body_head(reads)
    if is_json_head(head):
        yield WholeBody(data=b"".join((head, *reads)).decode("utf-8", "replace"))
        return
    decoder = SSEDecoder()
    yield from decoder.feed(head)
    for chunk in reads:
        yield from decoder.feed(chunk)
    yield from decoder.close()


async def aiter_sse(chunks: AsyncIterable[bytes]) -> AsyncIterator[SSEEvent]:
    """Async twin of `iter_sse`, for `response.aiter_bytes()`."""
    reads = aiter(chunks)
    head = await abody_head(reads)
    if is_json_head(head):
        rest = [chunk async for chunk in reads]
        yield WholeBody(data=b"".join((head, *rest)).decode("utf-8", "replace"))
        return
    decoder = SSEDecoder()
    for event in decoder.feed(head):
        yield event
    async for chunk in reads:
        for event in decoder.feed(chunk):
            yield event
    for event in decoder.close():
        yield event
