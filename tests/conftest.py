"""Shared test set-up: helper modules in tests/ are importable, shared fixtures load here,
and browser tests run last."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from server_fixture import llm_server, slow_llm_server  # noqa: E402,F401  (session servers shared by all tests)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Playwright's sync API leaves an event loop running in the main thread for the rest of the
    session, which breaks `asyncio.run` in any later test: so the browser tests go last."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
