"""What a recording holds: one finished stream, when each chunk arrived, and how it ended."""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from typing import Any

from .. import errors
from ..chunks import TEXT, Chunk, ProviderTimings, Timings, Usage
from ..errors import LLMStreamError, StreamError, one_line, redact

FORMAT_VERSION = 1


@dataclass
class RecordedError:
    """How a recorded stream failed: enough to raise the same error type, with the same words, again.

    Only the one-line, redacted message is kept (never a traceback, a request or a header), so a
    recording can be shared. The provider, host, status and hint of our own errors are kept too,
    because their message is built from them.
    """

    type: str
    message: str
    provider: str | None = None
    host: str | None = None
    status: int | None = None
    hint: str | None = None

    @classmethod
    def from_exception(cls, exc: BaseException | None) -> RecordedError | None:
        """None for no error, and for a stop (Ctrl-C, a cancelled task): a stopped stream just ends early."""
        if not isinstance(exc, Exception):
            return None
        if isinstance(exc, LLMStreamError):
            return cls(type(exc).__name__, exc.detail, exc.provider, exc.host, exc.status, exc.hint)
        return cls(type(exc).__name__, one_line(redact(str(exc))))

    def to_exception(self) -> Exception:
        """The error to raise on replay: our own error types and Python's built-in ones come back as
        themselves; any other type (a foreign library's) as a StreamError that names it."""
        kind = _known_error_type(self.type)
        if kind is not None and issubclass(kind, LLMStreamError):
            return kind(self.message, provider=self.provider, host=self.host, status=self.status, hint=self.hint)
        if kind is not None:
            try:
                return kind(self.message)
            except TypeError:  # a built-in that takes other arguments (UnicodeDecodeError...)
                pass
        return StreamError(f"{self.type}: {self.message}")

    def to_dict(self) -> dict[str, Any]:
        return {name: value for name, value in vars(self).items() if value is not None}


def _known_error_type(name: str) -> type[Exception] | None:
    """Look the name up among our errors and Python's built-ins only: a file never picks what is imported."""
    for namespace in (errors, builtins):
        kind = getattr(namespace, name, None)
        if isinstance(kind, type) and issubclass(kind, Exception):
            return kind
    return None


@dataclass
class Recording:
    """One stream as it was received.

    `chunks` keep their arrival times `t` (seconds since the request); `end` is when the stream
    ended (or failed). `prompt` is what was asked (a string or a list of messages; None when
    the saver did not say) and `options` the generation options in force, never a key or a URL.
    """

    chunks: list[Chunk]
    end: float = 0.0
    model: str = ""
    prompt: Any = None
    options: dict[str, Any] = field(default_factory=dict)
    recorded_at: str = ""
    usage: Usage = field(default_factory=Usage)
    timings: Timings | None = None
    provider_timings: ProviderTimings | None = None
    error: RecordedError | None = None

    @property
    def text(self) -> str:
        """The recorded answer (reasoning excluded)."""
        return "".join(c.text for c in self.chunks if c.kind == TEXT)

    @property
    def prompt_text(self) -> str | None:
        """The question that was asked: the prompt, or the last user message of a conversation."""
        if self.prompt is None or isinstance(self.prompt, str):
            return self.prompt
        users = [m.get("content") for m in self.prompt if isinstance(m, dict) and m.get("role") == "user"]
        return users[-1] if users and isinstance(users[-1], str) else None
