"""A bounded log of the requests a server has seen, so tests can ask "did the server see the client leave?".

Records are written by the server's event loop and read from other threads (a test, a notebook), so
reads take a snapshot under a lock. Counters on a live record (`tokens_sent`) are plain attributes:
the hot path stays a single increment.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

COMPLETED = "completed"
CLIENT_DISCONNECTED = "client_disconnected"
FAULT = "fault"
ERROR = "error"
OUTCOMES = (COMPLETED, CLIENT_DISCONNECTED, FAULT, ERROR)
#: Characters kept of each message a request asked.
ASKED_LIMIT = 2000


@dataclass
class RequestRecord:
    """One request. `outcome` is None while it runs; `started`/`ended` are `time.time()` stamps.

    `outcome` says what ended it: the client leaving first is `client_disconnected`; otherwise an injected
    fault that fired makes it `fault` (even `malformed_after`, after which the stream completes); a 4xx/5xx
    answer the client did not ask for, or a server bug, is `error`.
    """

    id: str
    path: str
    model: str | None = None
    fault: str | None = None
    stream: bool = False
    started: float = field(default_factory=time.time)
    ended: float | None = None
    tokens_sent: int = 0
    outcome: str | None = None
    status: int | None = None
    faults_fired: list[str] = field(default_factory=list)
    #: What was asked, as {"role", "content"} messages (a prompt string is one user message), each content
    #: cut at `ASKED_LIMIT` characters so the log stays bounded: a test can check that turn 1 was sent with turn 2.
    messages: list[dict[str, str]] | None = None

    def note_asked(self, prompt: Any) -> None:
        """Keep what the request asked (see `messages`)."""
        items = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt or [])
        self.messages = [
            {"role": str(m.get("role", "")), "content": str(m.get("content", ""))[:ASKED_LIMIT]}
            for m in items
            if isinstance(m, dict)
        ]

    def finish(self, outcome: str, status: int | None = None) -> None:
        """Close the record once; later calls are ignored, so the first cause wins."""
        if self.outcome is not None:
            return
        if outcome == COMPLETED and self.faults_fired:
            outcome = FAULT
        self.outcome = outcome
        if status is not None:
            self.status = status
        self.ended = time.time()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class RequestLog:
    """The last `maxlen` requests, oldest first."""

    def __init__(self, maxlen: int = 1000) -> None:
        self._records: deque[RequestRecord] = deque(maxlen=maxlen)
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._prefix = f"req_{int(time.time() * 1000) % 10**8:08d}"

    def begin(self, path: str) -> RequestRecord:
        """Open a record for a request that has just arrived."""
        record = RequestRecord(id=f"{self._prefix}_{next(self._ids):06d}", path=path)
        with self._lock:
            self._records.append(record)
        return record

    def snapshot(self) -> list[dict[str, Any]]:
        """Copies of the records, safe to read from any thread."""
        with self._lock:
            records = list(self._records)
        return [r.to_dict() for r in records]

    def get(self, request_id: str) -> dict[str, Any] | None:
        """The record with this id (the `x-request-id` response header), if it is still in the log."""
        with self._lock:
            for record in reversed(self._records):
                if record.id == request_id:
                    return record.to_dict()
        return None

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def __len__(self) -> int:
        return len(self._records)
