"""A local OpenAI-compatible server for the offline demo model, with fault injection.

`llmstream-nb serve` (or `python -m llmstream_nb.server`) serves `/v1/models`, `/v1/chat/completions`
and `/v1/completions` on 127.0.0.1:8000, so our client and the official `openai` SDK work offline.
`BackgroundServer` runs it in a thread for tests and notebooks. Faults are described in `faults.py`
and README.md. Needs the `server` extra (starlette, uvicorn); importing this package does not load them.
"""

from __future__ import annotations

from typing import Any

from ._deps import INSTALL_HINT, ServerDependencyError, require_server_dependencies
from .faults import FAULT_HEADER, FaultSpec, FaultSpecError
from .settings import FAST, Latency, ServerSettings

__all__ = [
    "FAST",
    "FAULT_HEADER",
    "INSTALL_HINT",
    "BackgroundServer",
    "FaultSpec",
    "FaultSpecError",
    "Latency",
    "ServerDependencyError",
    "ServerSettings",
    "create_app",
    "require_server_dependencies",
    "serve",
]

_LAZY = {"BackgroundServer": ".run", "serve": ".run", "create_app": ".app"}


def __getattr__(name: str) -> Any:
    """Names that need starlette/uvicorn load on first use, with one clear line if they are missing."""
    if name not in _LAZY:
        raise AttributeError(f"module 'llmstream_nb.server' has no attribute {name!r}")
    require_server_dependencies()
    from importlib import import_module

    return getattr(import_module(_LAZY[name], __name__), name)
