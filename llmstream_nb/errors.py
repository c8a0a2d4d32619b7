"""Every error llmstream_nb raises, in one hierarchy.

    LLMStreamError                      partial_text: what arrived before the failure
     ├── ConfigurationError (ValueError) fixable before any request
     ├── APIStatusError                 the server answered with an error status (APIError: same class)
     │    ├── BadRequestError           400, 422
     │    ├── AuthenticationError       401
     │    ├── PermissionDeniedError     403
     │    ├── NotFoundError             404
     │    ├── RateLimitError            429
     │    └── ServerError               5xx
     ├── APIConnectionError             the server could not be reached, or the connection failed
     │    └── APITimeoutError           connecting, or waiting for the next chunk, took too long
     └── StreamError                    the stream started but did not end properly
          ├── MalformedStreamError      not what the protocol promises (bad JSON...)
          ├── InterruptedStreamError    the connection closed before the end marker
          └── ProviderStreamError       the provider sent an error inside the stream

The names are openai-python's where we borrowed them, with its meaning: `APIStatusError` for
statuses, and timeouts under connection errors as in openai and httpx, so `except
APIConnectionError` catches a timeout too. `APIError` stays as an alias of `APIStatusError`.

Each message is one line a person can act on: which provider, which host, what status,
the provider's own words, and what to do. Keys never appear: anything that could echo a
secret passes through `redact` first. Errors raised mid-stream carry what had arrived in
`partial_text`, so nothing already shown is lost.
"""

from __future__ import annotations

import re
from typing import Iterable

_KEY_PATTERN = re.compile(r"\b(sk|pk|rk|key|sess)-[A-Za-z0-9_\-*]{6,}|\bsk-ant-[A-Za-z0-9_\-*]{6,}")
_BEARER_PATTERN = re.compile(r"(?i)(bearer\s+)[^\s\"']+")


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Remove secrets and anything shaped like an API key from `text`."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    text = _KEY_PATTERN.sub("[redacted]", text)
    return _BEARER_PATTERN.sub(r"\1[redacted]", text)


def one_line(text: str, limit: int = 300) -> str:
    """Fold whitespace so a message stays on one line, and cut it to a readable length."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class LLMStreamError(Exception):
    """Base class. `partial_text` is the answer received before the failure ("" if none)."""

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        host: str | None = None,
        status: int | None = None,
        partial_text: str = "",
        hint: str | None = None,
    ) -> None:
        self.provider = provider
        self.host = host
        self.status = status
        self.partial_text = partial_text
        self.hint = hint
        self.detail = one_line(redact(message))
        super().__init__(self._format())

    def _format(self) -> str:
        where = " ".join(p for p in (self.provider, f"at {self.host}" if self.host else None) if p)
        status = f"HTTP {self.status}" if self.status else None
        head = ", ".join(p for p in (where, status) if p)
        text = f"{head}: {self.detail}" if head else self.detail
        if self.hint:
            text = f"{text} ({self.hint})"
        if self.partial_text:
            text = f"{text} [after {len(self.partial_text)} characters of answer]"
        return one_line(text, limit=600)

    def with_partial(self, partial_text: str) -> LLMStreamError:
        """Attach the text received so far and refresh the message."""
        self.partial_text = partial_text
        self.args = (self._format(),)
        return self


class ConfigurationError(LLMStreamError, ValueError):
    """Unknown provider, unknown option, missing key: fixable before any request."""


class APIStatusError(LLMStreamError):
    """The provider answered with an error status."""


#: The earlier name of `APIStatusError`, kept so code written against it keeps working.
APIError = APIStatusError


class BadRequestError(APIStatusError):
    """HTTP 400/422: the request itself is wrong."""


class AuthenticationError(APIStatusError):
    """HTTP 401: the key is missing, wrong or expired."""


class PermissionDeniedError(APIStatusError):
    """HTTP 403: the key is valid but not allowed to do this."""


class NotFoundError(APIStatusError):
    """HTTP 404: no such model or endpoint."""


class RateLimitError(APIStatusError):
    """HTTP 429: too many requests or out of quota."""


class ServerError(APIStatusError):
    """HTTP 5xx: the provider failed."""


class APIConnectionError(LLMStreamError):
    """The server could not be reached, or the connection failed."""


class APITimeoutError(APIConnectionError):
    """Connecting, or waiting for the next chunk, took longer than allowed."""


class StreamError(LLMStreamError):
    """The stream started but did not end properly."""


class MalformedStreamError(StreamError):
    """The stream held something that is not what the protocol promises (bad JSON...)."""


class InterruptedStreamError(StreamError):
    """The connection closed before the stream's end marker."""


class ProviderStreamError(StreamError):
    """The provider sent an error object inside the stream."""


_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: BadRequestError,
    429: RateLimitError,
}

_STATUS_HINTS: dict[int, str] = {
    401: "check the API key for this provider",
    403: "the key lacks access to this model or endpoint",
    404: "check the model name and base URL; `llmstream-nb models` lists what is known",
    429: "wait and retry, or check your quota",
}


def error_for_status(status: int) -> type[APIStatusError]:
    if status in _STATUS_ERRORS:
        return _STATUS_ERRORS[status]
    return ServerError if status >= 500 else APIStatusError


def hint_for_status(status: int) -> str | None:
    if status >= 500:
        return "the provider failed; retry later"
    return _STATUS_HINTS.get(status)
