"""Real local servers for tests, over loopback HTTP (no mocks).

In conftest.py: `from server_fixture import llm_server, slow_llm_server  # noqa: F401`.
Both are session-scoped; `times=` fault counters and the request log are shared within a session, so give a
`times=` test its own spec string, or call `server.reset()` first.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from llmstream_nb.server import BackgroundServer

SLOW_TTFT = 0.05
SLOW_TPS = 50.0


@pytest.fixture(scope="session")
def llm_server() -> Iterator[BackgroundServer]:
    """The demo model with zero latency: `llm_server.base_url` is an OpenAI base URL."""
    with BackgroundServer(fast=True) as server:
        yield server


@pytest.fixture(scope="session")
def slow_llm_server() -> Iterator[BackgroundServer]:
    """The demo model at a steady, visible pace (0.05 s to the first token, then 50 tokens/s, no jitter)."""
    with BackgroundServer(ttft=SLOW_TTFT, tps=SLOW_TPS, jitter=0.0) as server:
        yield server
