"""Fault injection: make the local server fail on purpose, the way real providers fail.

For teaching ("what does my code do when the stream breaks?") and for tests of retries and
error handling. This module is protocol-agnostic: it parses specs, counts them, and turns a
stream of chunks into chunks plus fault events; each protocol module renders those events in
its own wire format.

How to ask for a fault
----------------------
Either a request header ``X-LLMStream-Fault: <spec>`` or a model-name suffix
``<model>+<spec>``, e.g. model ``ngram+drop_after=5``. A spec is ``key=value`` pairs separated by
``,``. If both are given they are joined (suffix first); a key may appear only once.

Keys
----
``status=CODE``
    Answer with that HTTP status (400-599) and the protocol's error body (OpenAI:
    ``{"error": {"message", "type", "param", "code"}}``, realistic per status). 429 and 503 carry
    ``Retry-After`` (default ``1``).
``retry_after=SECONDS``
    The ``Retry-After`` value (may be ``0``; any status may carry it). Needs ``status``.
``error_after=N``
    After N content tokens, send an error object inside the stream
    (``data: {"error": {"message": ..., "type": "server_error", ...}}``) and end it, without ``[DONE]``.
    Non-streaming: a 500 error answer once N tokens are generated.
``drop_after=N``
    After N content tokens, drop the connection: the chunked body is cut off, so the client sees an
    incomplete body (httpx: ``RemoteProtocolError``), never a clean end. Non-streaming: the headers and
    half the JSON body are sent, then the connection is dropped.
``stall_after=N``, ``stall=SECONDS``
    After N content tokens, send nothing for ``stall`` seconds (default 30), then drop the connection,
    so nothing hangs forever even for a client without a timeout. ``stall`` alone means ``stall_after=0``.
``malformed_after=N``
    After N content tokens, send one ``data:`` line of invalid JSON, then continue normally.
    Non-streaming: the whole answer is generated and sent as invalid JSON.
``times=K``
    Apply the fault to the first K requests with this exact spec string only; later ones succeed
    (latency keys still apply). Counters live on the app instance (``POST /llmstream/reset`` clears them).
``ttft=SECONDS``, ``tps=TOKENS_PER_SECOND``, ``jitter=FRACTION``
    Not faults: override the server's latency profile for this request.

Unknown keys or bad values answer 400 with the list of known keys. N counts content tokens (chunks
with text); N=0 fires before the first token. If the answer ends before N tokens, the fault fires at
its end, before the final chunk, so a requested fault is never silently skipped. Several stream
faults may be combined (``malformed_after=2,drop_after=5``); the first one that ends the stream wins.
``status`` takes precedence over the stream faults.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from enum import Enum

from ..chunks import Chunk
from .log import RequestRecord

FAULT_HEADER = "x-llmstream-fault"
MODEL_SEPARATOR = "+"
DEFAULT_STALL = 30.0
DEFAULT_RETRY_AFTER = 1.0
RETRY_AFTER_STATUSES = (429, 503)

_COUNT_KEYS = ("error_after", "drop_after", "stall_after", "malformed_after")
_INT_KEYS = frozenset(("status", "times", *_COUNT_KEYS))
_LATENCY_KEYS = ("ttft", "tps", "jitter")
KNOWN_KEYS = ("status", "retry_after", *_COUNT_KEYS, "stall", "times", *_LATENCY_KEYS)


class FaultSpecError(ValueError):
    """A spec that cannot be parsed; the message names the key and lists the known ones."""


class ConnectionDropped(Exception):
    """Raised inside a response body so the HTTP server aborts the connection mid-response."""


class Injected(Enum):
    """What `inject` adds to a chunk stream; FLUSH asks the writer to send what it holds now."""

    ERROR = "error"
    MALFORMED = "malformed"
    FLUSH = "flush"


Event = Chunk | Injected


@dataclass(frozen=True)
class FaultSpec:
    """A parsed spec. `text` is the spec as given: `times` counts requests per exact text."""

    text: str = ""
    status: int | None = None
    retry_after: float | None = None
    error_after: int | None = None
    drop_after: int | None = None
    stall_after: int | None = None
    stall: float = DEFAULT_STALL
    malformed_after: int | None = None
    times: int | None = None
    ttft: float | None = None
    tps: float | None = None
    jitter: float | None = None

    @classmethod
    def parse(cls, text: str) -> FaultSpec:
        """Read `key=value,key=value`; raise `FaultSpecError` with one clear line on anything wrong."""
        text = text.strip()
        values: dict[str, float | int] = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            key, sep, raw = item.partition("=")
            key = key.strip().lower()
            if key not in KNOWN_KEYS:
                raise FaultSpecError(f"unknown fault key {key!r} in {text!r}; known keys: {', '.join(KNOWN_KEYS)}")
            if not sep or not raw.strip():
                raise FaultSpecError(f"fault key {key!r} needs a value ({key}=...) in {text!r}")
            if key in values:
                raise FaultSpecError(f"fault key {key!r} is given twice in {text!r}")
            values[key] = _number(key, raw.strip())
        if "stall" in values and "stall_after" not in values:
            values["stall_after"] = 0
        if "retry_after" in values and "status" not in values:
            raise FaultSpecError(f"retry_after= goes with status= (e.g. status=429,retry_after=2), in {text!r}")
        return cls(text=text, **values)  # type: ignore[arg-type]

    @property
    def is_fault(self) -> bool:
        """True if this spec asks for a failure (not only a latency override)."""
        return self.status is not None or any(getattr(self, key) is not None for key in _COUNT_KEYS)

    def without_faults(self) -> FaultSpec:
        """The same spec with only its latency overrides: what a request gets once `times` is used up."""
        return FaultSpec(text=self.text, ttft=self.ttft, tps=self.tps, jitter=self.jitter)

    def stream_actions(self) -> list[tuple[int, str]]:
        """The stream faults as (after N tokens, key), in the order they fire."""
        return sorted((value, key) for key in _COUNT_KEYS if (value := getattr(self, key)) is not None)

    def retry_after_header(self) -> str | None:
        """The `Retry-After` value to send with a `status` answer, if any."""
        if self.retry_after is None and self.status not in RETRY_AFTER_STATUSES:
            return None
        seconds = DEFAULT_RETRY_AFTER if self.retry_after is None else self.retry_after
        return str(int(seconds)) if seconds == int(seconds) else repr(seconds)


#: Fault values beyond these are typos, and would hold a request (and a test) for days.
MAX_FAULT_SECONDS = 600.0
MAX_FAULT_COUNT = 1_000_000


def _number(key: str, raw: str) -> float | int:
    try:
        value: float | int = int(raw) if key in _INT_KEYS else float(raw)
    except ValueError:
        kind = "a whole number" if key in _INT_KEYS else "a number"
        raise FaultSpecError(f"fault key {key!r} needs {kind}, got {raw!r}") from None
    if (isinstance(value, float) and not math.isfinite(value)) or value < 0:
        raise FaultSpecError(f"fault key {key!r} needs a value >= 0, got {raw!r}")
    high = MAX_FAULT_COUNT if key in _INT_KEYS else MAX_FAULT_SECONDS
    if value > high and key != "status":
        raise FaultSpecError(f"fault key {key!r} needs a value from 0 to {high:g}, got {raw!r}")
    if key == "status" and not 400 <= value <= 599:
        raise FaultSpecError(f"status= must be an HTTP error status (400-599), got {raw!r}")
    return value


def split_model(name: str) -> tuple[str, str]:
    """`"ngram+drop_after=5"` -> `("ngram", "drop_after=5")`; no suffix gives `""`."""
    base, _, spec = name.partition(MODEL_SEPARATOR)
    return base.strip(), spec.strip()


def combine(*specs: str | None) -> str:
    """Join the non-empty spec texts (model suffix, then header) into one spec text."""
    return ",".join(s.strip() for s in specs if s and s.strip())


class FaultCounters:
    """How many requests each exact spec text has had, for `times=K`. Shared by a server's requests."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def admit(self, spec: FaultSpec) -> FaultSpec:
        """The spec this request gets: itself, or only its latency part once `times` is used up."""
        if spec.times is None or not spec.is_fault:
            return spec
        with self._lock:
            count = self._counts[spec.text] = self._counts.get(spec.text, 0) + 1
        return spec if count <= spec.times else spec.without_faults()

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


async def inject(
    first: Chunk | None, chunks: AsyncIterator[Chunk], spec: FaultSpec, record: RequestRecord
) -> AsyncIterator[Event]:
    """Pass `first` then `chunks` through, counting content tokens on `record`, and fire the spec's faults.

    Yields `Injected.ERROR` (then ends), `Injected.MALFORMED` (then goes on), `Injected.FLUSH` before a
    drop or a stall, and raises `ConnectionDropped` to drop the connection. (`first` is separate because
    the caller takes it early, to answer bad options with a 400 before any header is sent.)
    """
    pending = deque(spec.stream_actions())
    source = _prepend(first, chunks)
    try:
        if not pending:  # the common case: no per-chunk checks beyond the count
            if first is not None:
                if first.text:
                    record.tokens_sent += 1
                yield first
            async for chunk in chunks:
                if chunk.text:
                    record.tokens_sent += 1
                yield chunk
            return
        sent = 0
        async for chunk in source:
            if chunk.finish_reason is not None and pending:  # the answer ends before N: fire now
                async for event in _fire(pending, len(pending), spec, record):
                    yield event
                    if event is Injected.ERROR:
                        return
            if chunk.text:
                sent += 1
                record.tokens_sent = sent
            yield chunk
            due = 0
            while due < len(pending) and pending[due][0] <= sent:
                due += 1
            if due:
                async for event in _fire(pending, due, spec, record):
                    yield event
                    if event is Injected.ERROR:
                        return
        async for event in _fire(pending, len(pending), spec, record):
            yield event
            if event is Injected.ERROR:
                return
    finally:  # stop the model now, not whenever the garbage collector finds it
        await source.aclose()
        close = getattr(chunks, "aclose", None)
        if close is not None:
            await close()


async def _fire(
    pending: deque[tuple[int, str]], count: int, spec: FaultSpec, record: RequestRecord
) -> AsyncIterator[Injected]:
    for _ in range(count):
        after, key = pending.popleft()
        record.faults_fired.append(f"{key}={after}")
        if key == "malformed_after":
            yield Injected.MALFORMED
        elif key == "error_after":
            yield Injected.ERROR
            return
        else:
            yield Injected.FLUSH
            if key == "stall_after":
                await asyncio.sleep(spec.stall)
            raise ConnectionDropped(f"{key}={after}")


async def _prepend(first: Chunk | None, rest: AsyncIterator[Chunk]) -> AsyncGenerator[Chunk, None]:
    if first is not None:
        yield first
    async for chunk in rest:
        yield chunk
