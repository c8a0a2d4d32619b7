"""llmstream_nb: stream language-model answers token by token, in notebooks and terminals.

Public names only; heavy parts (httpx, widgets, the demo model's training) load on first use.
"""

from __future__ import annotations

from typing import Any

from .chunks import Chunk, Completion, ProviderTimings, Timings, Usage
from .errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    InterruptedStreamError,
    LLMStreamError,
    MalformedStreamError,
    NotFoundError,
    PermissionDeniedError,
    ProviderStreamError,
    RateLimitError,
    ServerError,
    StreamError,
)
from .models import AsyncTokenStream, Model, TokenStream
from .registry import get_model, provider_names, register_provider
from .timeline import Timeline, TimelineRow, timeline
from .tool_calls import ToolCall, ToolCallChunk

__version__ = "0.1.0"

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AsyncTokenStream",
    "AuthenticationError",
    "BadRequestError",
    "Chunk",
    "Completion",
    "ConfigurationError",
    "InterruptedStreamError",
    "LLMStreamError",
    "MalformedStreamError",
    "Model",
    "NotFoundError",
    "PermissionDeniedError",
    "ProviderStreamError",
    "ProviderTimings",
    "RateLimitError",
    "ServerError",
    "StreamError",
    "Timings",
    "Timeline",
    "TimelineRow",
    "TokenStream",
    "ToolCall",
    "ToolCallChunk",
    "Usage",
    "get_model",
    "provider_names",
    "register_provider",
    "timeline",
]


def __getattr__(name: str) -> Any:
    """Widget-side names import ipywidgets only when asked for."""
    if name in {"Comparison", "EventsView", "StreamView", "compare", "show"}:
        from . import view

        return getattr(view, name)
    raise AttributeError(f"module 'llmstream_nb' has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext llmstream_nb` registers the %%llmstream magics."""
    from .magic import load_ipython_extension as load

    load(ipython)
