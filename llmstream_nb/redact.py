"""Redaction in one place: every string we print, log, raise, save or show passes through `redact`.

What goes: the values of keys this process was given (`remember_secret`; also when a line break or
spaces cut one in two), anything shaped like an API key (`sk-...`, `sk-ant-...`), the value of an
`Authorization` / `x-api-key` / `x-goog-api-key` / `api-key` header or of a `Bearer` token,
credentials inside a URL (`http://user:secret@host`), secret-named query parameters (`?key=...`),
and `name=value` pairs whose name looks like a secret (`*key*`, `*token*`, `*secret*`, `*password*`).
`redact_mapping` does the same for settings shown as a table, and `RedactingFilter` for log records
(httpx's own INFO line prints the request URL, credentials and all).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "[redacted]"
#: Names of settings, headers and parameters whose values are secrets.
SECRET_NAME = re.compile(r"(?i)(key|token|secret|password|passwd|authorization|credentials?|cookie)$")

_KEY_SHAPES = re.compile(
    r"\b(?:sk|pk|rk|key|sess)-[A-Za-z0-9_\-*]{6,}|\bsk-ant-[A-Za-z0-9_\-*]{6,}|\bAIza[0-9A-Za-z_\-]{20,}"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)(\s+)[^\s\"',;]+")
_HEADER = re.compile(
    r"(?i)\b(authorization|proxy-authorization|x-api-key|x-goog-api-key|api-key|openai-api-key)(\"?\s*[:=]\s*\"?)(?:(?:bearer|basic)\s+)?[^\s\"',;]+"
)
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s@\"'<>]+@")
_NAMED_VALUE = re.compile(
    r"(?i)\b([\w\-]*(?:key|token|secret|password|passwd))(\"?\s*[:=]\s*['\"]?)(?!\[redacted\]|value\b|VALUE\b)[^\s\"'&,;)}\]]+"
)

_secrets: set[str] = set()
_patterns: list[re.Pattern[str]] = []
_lock = threading.Lock()
_MIN_SECRET = 6


def remember_secret(value: str | None) -> None:
    """Redact `value` everywhere from now on (an API key given to a model or found in a header)."""
    if not value or len(value) < _MIN_SECRET or value in _secrets:
        return
    with _lock:
        _secrets.add(value)
        _patterns.append(_split_tolerant(value))


def _split_tolerant(value: str) -> re.Pattern[str]:
    """The value, also when whitespace (a wrapped line, a folded error body) sits between its characters."""
    return re.compile(r"\s*".join(re.escape(char) for char in value))


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with every secret in it replaced by [redacted]."""
    text = str(text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = _split_tolerant(secret).sub(MASK, text) if len(secret) >= _MIN_SECRET else text.replace(secret, MASK)
    for pattern in tuple(_patterns):
        text = pattern.sub(MASK, text)
    text = _URL_CREDENTIALS.sub(lambda m: m.group(1) + MASK + "@", text)
    text = _HEADER.sub(lambda m: m.group(1) + m.group(2) + MASK, text)
    text = _BEARER.sub(lambda m: m.group(1) + m.group(2) + MASK, text)
    text = _NAMED_VALUE.sub(lambda m: m.group(1) + m.group(2) + MASK, text)
    return _KEY_SHAPES.sub(MASK, text)


def redact_url(url: Any) -> str:
    """A URL as it may be shown: no user or password, no secret-named query values."""
    return redact(str(url))


def redact_mapping(values: Mapping[str, Any]) -> dict[str, Any]:
    """Settings as they may be shown: secret-named entries masked (nested ones too), the rest redacted."""
    shown: dict[str, Any] = {}
    for name, value in values.items():
        if SECRET_NAME.search(str(name)) and value not in (None, ""):
            shown[name] = MASK
        elif isinstance(value, Mapping):
            shown[name] = redact_mapping(value)
        elif isinstance(value, str):
            shown[name] = redact(value)
        else:
            shown[name] = value
    return shown


def public_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """`options` without credentials: secret-named entries dropped, also inside dicts (e.g. `headers`).

    What a saved chat or a model's `public_options` may hold: unlike `redact_mapping`, which masks a
    secret for display, this leaves no trace of it at all.
    """
    kept: dict[str, Any] = {}
    for name, value in options.items():
        if SECRET_NAME.search(str(name)):
            continue
        if isinstance(value, Mapping):
            value = public_options(value)
        elif isinstance(value, str):
            value = redact(value)  # a credential inside a URL, a key pasted into some other option
        kept[name] = value
    return kept


class RedactingFilter(logging.Filter):
    """Rewrites a log record's message with `redact` (the record keeps no args that could hold a secret)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's own business
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_FILTERED: set[str] = set()
#: The loggers of our HTTP stack: httpx logs each request's URL (INFO), httpcore the response headers (DEBUG).
HTTP_LOGGERS = ("httpx", "httpcore.connection", "httpcore.http11", "httpcore.http2", "httpcore.proxy")


def guard_logger(name: str) -> None:
    """Add a `RedactingFilter` to the logger `name` (once): httpx and httpcore log URLs."""
    if name in _FILTERED:
        return
    _FILTERED.add(name)
    logging.getLogger(name).addFilter(RedactingFilter())
