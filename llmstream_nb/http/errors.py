"""Turning HTTP failures into the one-line errors of `llmstream_nb.errors`.

Every provider reports failures the same way: which provider, which host, which status,
the provider's own words (from its JSON error body, whatever the shape), and a hint. All
text that came from the server goes through `redact` with the session's secrets, because
servers do echo keys back ("Incorrect API key provided: sk-...").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from ..errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    InterruptedStreamError,
    LLMStreamError,
    MalformedStreamError,
    ProviderStreamError,
    error_for_status,
    hint_for_status,
    redact,
)

_BODY_LIMIT = 2000


@dataclass(frozen=True)
class ErrorContext:
    """What an error message needs to say where it happened, and what it must never say."""

    provider: str
    host: str
    secrets: tuple[str, ...] = ()
    hints: Mapping[int, str] = field(default_factory=dict)
    connect_timeout: float | None = None
    read_timeout: float | None = None

    def clean(self, text: str) -> str:
        return redact(text, self.secrets)


def host_of(url: str | httpx.URL) -> str:
    """ "http://127.0.0.1:9/v1" -> "127.0.0.1:9"; default ports are left out."""
    parsed = httpx.URL(url)
    host = parsed.host or str(url)
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{host}:{parsed.port}" if parsed.port else host


def provider_message(body: bytes | str) -> str:
    """The provider's own error text: `error.message`, `error` as text, `message`, `detail`, else the raw body."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = text[:_BODY_LIMIT].strip()
    try:
        payload = json.loads(text)
    except ValueError:
        return text
    return error_text(payload) or text


def error_text(payload: Any) -> str | None:
    """The message inside an error object of any common shape (OpenAI, Anthropic, Ollama, FastAPI)."""
    if not isinstance(payload, dict):
        return None
    error = payload.get("error", payload)
    if isinstance(error, str):
        return error
    if isinstance(error, dict):
        for key in ("message", "detail", "msg"):
            value = error.get(key)
            if isinstance(value, str) and value:
                return value
            if isinstance(value, list) and value:  # FastAPI's validation errors
                return "; ".join(_validation_item(item) for item in value)
        if error is not payload:
            return json.dumps(error)[:_BODY_LIMIT]
    return None


def _validation_item(item: Any) -> str:
    """{"loc": ["body", "stream_options"], "msg": "Extra inputs..."} -> "body.stream_options: Extra inputs...":
    the field's name matters, a provider may adapt its request to it."""
    if not isinstance(item, dict):
        return str(item)
    location = ".".join(str(part) for part in item.get("loc") or ())
    message = str(item.get("msg", item))
    return f"{location}: {message}" if location else message


def status_error(
    context: ErrorContext,
    status: int,
    body: bytes | str,
    reason: str = "",
    attempts: int = 1,
    retry_after: float | None = None,
) -> APIStatusError:
    """The `APIStatusError` subclass for `status`, with the provider's message and a hint."""
    detail = provider_message(body) or reason or "no error message"
    hint = context.hints.get(status) or hint_for_status(status)
    if retry_after is not None:
        hint = f"the server asks to retry after {retry_after:.0f} s, longer than we wait"
    elif attempts > 1:
        hint = f"{hint}; gave up after {attempts} attempts" if hint else f"gave up after {attempts} attempts"
    return error_for_status(status)(
        context.clean(detail), provider=context.provider, host=context.host, status=status, hint=hint
    )


def stream_error(context: ErrorContext, payload: Any) -> ProviderStreamError:
    """An error object the provider sent inside a stream that had started fine."""
    detail = error_text(payload) or "the provider reported an error mid-stream"
    code = (
        payload.get("error", {}).get("code")
        if isinstance(payload, dict) and isinstance(payload.get("error"), dict)
        else None
    )
    status = code if isinstance(code, int) and 400 <= code < 600 else None
    return ProviderStreamError(context.clean(detail), provider=context.provider, host=context.host, status=status)


def malformed_error(context: ErrorContext, data: str, why: str = "not valid JSON") -> MalformedStreamError:
    """A data line we cannot read; the message shows its start so the culprit is recognisable."""
    sample = data[:80] + ("…" if len(data) > 80 else "")
    return MalformedStreamError(
        context.clean(f"stream data is {why}: {sample!r}"), provider=context.provider, host=context.host
    )


def transport_error(context: ErrorContext, exc: httpx.TransportError, in_body: bool) -> LLMStreamError:
    """Timeouts, refused connections and dropped connections, before the response (`in_body` False)
    or while its body was being read."""
    cause = context.clean(str(exc) or type(exc).__name__)
    provider, host = context.provider, context.host
    if isinstance(exc, httpx.ConnectTimeout):
        return APITimeoutError(
            f"could not connect to {context.host} within {context.connect_timeout} s — is the server running?",
            hint="connect_timeout= sets the limit",
            provider=provider,
            host=host,
        )
    if isinstance(exc, httpx.TimeoutException):
        waited = f"{context.read_timeout} s" if context.read_timeout is not None else "the time limit"
        what = "no data arrived for" if in_body else "no response within"
        return APITimeoutError(f"{what} {waited}", hint="read_timeout= sets the limit", provider=provider, host=host)
    if isinstance(exc, httpx.ConnectError):
        return APIConnectionError(
            f"could not connect to {context.host} — is the server running? ({cause})", provider=provider, host=host
        )
    if isinstance(exc, httpx.DecodingError):
        return MalformedStreamError(f"could not decode the response body ({cause})", provider=provider, host=host)
    if in_body and isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
        return InterruptedStreamError(
            f"the connection closed before the answer was complete ({cause})", provider=provider, host=host
        )
    return APIConnectionError(f"connection failed ({type(exc).__name__}: {cause})", provider=provider, host=host)
