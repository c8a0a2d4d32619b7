"""When to retry a request, and how long to wait first.

Retries are only safe before any part of the answer has been handed on: after the first
token the caller has shown it, and a second answer would not continue the first. So the
session asks this policy only while nothing has been yielded yet.

Waits use exponential backoff with full jitter (AWS Architecture Blog, "Exponential
Backoff And Jitter"), so many clients hitting one rate limit do not retry in lockstep,
unless the server says how long to wait (`Retry-After`, or OpenAI's `retry-after-ms`),
which is honoured exactly up to a cap. A server asking for more than the cap gets an
error at once instead of a notebook cell that silently hangs for minutes.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timezone
from email.utils import parsedate_to_datetime

#: Statuses worth another try: rate limited, or the server (or a proxy in front) failed; 529 is
#: Anthropic's "overloaded".
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 529})

#: Error codes a 429 carries when waiting will not help (the account is out of credit).
_HOPELESS_CODES = ("insufficient_quota", "billing_hard_limit_reached")


@dataclass(frozen=True)
class RetryPolicy:
    """How many times to retry and how long to wait; `delay` is pure so tests can check it."""

    max_retries: int = 2
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    retry_after_cap: float = 30.0

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(max, base * 2**attempt)] for retry number `attempt` (0-based)."""
        return random.uniform(0.0, min(self.backoff_max, self.backoff_base * 2.0**attempt))

    def delay(self, attempt: int, headers: Mapping[str, str] | None = None) -> float:
        """Seconds to wait before retry `attempt`: the server's Retry-After if it gave one, else backoff.

        Raises `RetryAfterTooLong` when the server asks for longer than `retry_after_cap`.
        """
        asked = parse_retry_after(headers) if headers is not None else None
        if asked is None:
            return self.backoff(attempt)
        if asked > self.retry_after_cap:
            raise RetryAfterTooLong(asked)
        return asked


class RetryAfterTooLong(Exception):
    """The server asked us to wait longer than we are willing to block."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"server asks to retry after {seconds:.0f} s")
        self.seconds = seconds


def should_retry_status(status: int, body_text: str = "") -> bool:
    """True for transient statuses; a 429 that says the quota is gone is not transient."""
    if status not in RETRY_STATUSES:
        return False
    return not (status == 429 and any(code in body_text for code in _HOPELESS_CODES))


def _seconds(text: str | None, per_second: float) -> float | None:
    """A finite, non-negative number of seconds from `text`, else None."""
    try:
        number = float(text) / per_second if text else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) and number >= 0 else None


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from `retry-after-ms`, or `Retry-After` as seconds or an HTTP-date; None if absent or unreadable."""
    millis = _seconds(headers.get("retry-after-ms"), 1000.0)
    if millis is not None:
        return millis
    value = headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    if value.lstrip("+-").replace(".", "", 1).isdigit():
        return _seconds(value, 1.0)  # a negative or absurd number is no instruction: back off as usual
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:  # "-0000" means UTC with no zone given
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - time.time())
