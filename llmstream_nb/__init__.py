"""llmstream_nb: stream language-model answers token by token, in notebooks and terminals.

Public names only; heavy parts (httpx, widgets, the demo model's training) load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import version
from .chunks import Chunk, Completion, ProviderTimings, Timings, Usage
from .errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
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
from .models import AsyncTokenStream, Chat, Model, StreamRecord, TokenStream
from .registry import get_model, provider_names, register_provider
from .status import Status
from .timeline import Timeline, TimelineRow, timeline
from .tool_calls import ToolCall, ToolCallChunk

__version__ = version.VERSION

if TYPE_CHECKING:  # what type checkers see; at run time these load on first use (see __getattr__)
    from .view.compare import Comparison, compare
    from .view.events_view import EventsView
    from .view.show import show  # from the module: `view.show` is also the module's name
    from .view.stream_view import StreamView

#: Names that import ipywidgets' side of the package only when first asked for.
_LAZY = frozenset({"Comparison", "EventsView", "StreamView", "compare", "show"})

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncTokenStream",
    "AuthenticationError",
    "BadRequestError",
    "Chat",
    "Chunk",
    "Comparison",
    "Completion",
    "ConfigurationError",
    "EventsView",
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
    "Status",
    "StreamError",
    "StreamRecord",
    "StreamView",
    "Timeline",
    "TimelineRow",
    "Timings",
    "TokenStream",
    "ToolCall",
    "ToolCallChunk",
    "Usage",
    "__version__",
    "compare",
    "get_model",
    "provider_names",
    "register_provider",
    "show",
    "timeline",
]


def __getattr__(name: str) -> Any:
    """Widget-side names import ipywidgets only when asked for."""
    if name in _LAZY:
        from . import view

        return getattr(view, name)
    raise AttributeError(f"module 'llmstream_nb' has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext llmstream_nb` registers the %%llmstream magics."""
    from .magic import load_ipython_extension as load

    load(ipython)
