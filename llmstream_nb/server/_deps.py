"""One clear line when the optional `server` extra is not installed, instead of a deep ImportError."""

from __future__ import annotations

INSTALL_HINT = "the llmstream-nb server needs starlette and uvicorn: install llmstream-nb[server]"


class ServerDependencyError(ImportError):
    """starlette or uvicorn is missing."""


def require_server_dependencies() -> None:
    """Raise `ServerDependencyError` (one line, with the install command) if the extra is missing."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        missing = exc.name or "a dependency"
        raise ServerDependencyError(f"{INSTALL_HINT} ({missing} is not installed)") from None
