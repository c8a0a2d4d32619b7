"""HTTP transport for providers: pooled sessions with retries, timeouts and error mapping, and SSE decoding.

A provider builds one `HttpSession` per model and reads `stream_sse` / `stream_lines` /
`request_json` (or their `a`-prefixed async twins); the session turns every failure into an
`llmstream_nb.errors` exception that names the provider and host and never shows a key.
This package is transport only: it imports nothing of llmstream_nb but `errors` and `runtime`; what a
provider sets up (keys, base URLs, model lists) lives beside the providers (providers/http_setup.py).

Names load on first use, so `llmstream_nb.http.sse` (the decoder alone) does not import httpx.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, HttpSession
    from .errors import ErrorContext, error_text, host_of, provider_message
    from .retry import RetryPolicy, parse_retry_after
    from .sse import SSEDecoder, SSEEvent, aiter_sse, iter_sse

_HOMES = {
    "DEFAULT_CONNECT_TIMEOUT": "client",
    "DEFAULT_READ_TIMEOUT": "client",
    "HttpSession": "client",
    "ErrorContext": "errors",
    "error_text": "errors",
    "host_of": "errors",
    "provider_message": "errors",
    "RetryPolicy": "retry",
    "parse_retry_after": "retry",
    "SSEDecoder": "sse",
    "SSEEvent": "sse",
    "aiter_sse": "sse",
    "iter_sse": "sse",
}

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_READ_TIMEOUT",
    "ErrorContext",
    "HttpSession",
    "RetryPolicy",
    "SSEDecoder",
    "SSEEvent",
    "aiter_sse",
    "error_text",
    "host_of",
    "iter_sse",
    "parse_retry_after",
    "provider_message",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'llmstream_nb.http' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{home}", __name__), name)
