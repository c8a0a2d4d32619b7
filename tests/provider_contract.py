"""What every HTTP provider's tests share (openai, anthropic, ollama): the demo model as the reference, the
table of stream faults and the checks each must pass, and ways to watch a model's HTTP without mocking it
(an httpx event hook for what is sent, recorded waits between retries, the server's request log).

The server fixtures themselves (`llm_server`, `slow_llm_server`) come from tests/server_fixture.py through
conftest.py, for every test module.
"""

from __future__ import annotations

import asyncio
import gc
import json
import time
from collections.abc import AsyncIterable
from typing import Any

import httpx
import pytest

from llmstream_nb import (
    APITimeoutError,
    InterruptedStreamError,
    MalformedStreamError,
    ProviderStreamError,
    get_model,
)
from llmstream_nb.http import host_of

SONG = "Write me a 1 verse song about sparkling water."

#: (fault spec, the error it raises, content tokens before it, model options it needs).
STREAM_FAULTS = [
    ("drop_after=5", InterruptedStreamError, 5, {}),
    ("error_after=4", ProviderStreamError, 4, {}),
    ("malformed_after=3", MalformedStreamError, 3, {}),
    ("stall_after=6,stall=5", APITimeoutError, 6, {"read_timeout": 0.3}),
    ("drop_after=0", InterruptedStreamError, 0, {"max_retries": 0}),
]
FAULT_IDS = [f[0] for f in STREAM_FAULTS]
#: A test decorated with this runs once per row of `STREAM_FAULTS`, as `fault, kind, tokens, options`.
each_stream_fault = pytest.mark.parametrize(("fault", "kind", "tokens", "options"), STREAM_FAULTS, ids=FAULT_IDS)


def clear_env(*names: str) -> Any:
    """An autouse fixture for a test module: its tests see only the keys and URLs they pass, never the
    developer's own environment variables `names`."""

    @pytest.fixture(autouse=True)
    def cleared_env(monkeypatch: pytest.MonkeyPatch) -> None:
        for name in names:
            monkeypatch.delenv(name, raising=False)

    return cleared_env


def demo() -> Any:
    """The demo model with no latency: what the server's `ngram` says for the same seed and options."""
    return get_model("demo", ttft=0, tokens_per_second=0)


def partial(tokens: int, seed: int = 7) -> str:
    """What the demo says in its first `tokens` tokens: the partial text a fault must leave."""
    chunks = [c.text for c in demo().stream(SONG, seed=seed, max_tokens=60) if c.text]
    return "".join(chunks[:tokens])


def requests_for(server: Any, model: str) -> list[dict[str, Any]]:
    """The server's log records of the requests for `model` (give a test its own model id to find its own)."""
    return [r for r in server.requests() if r.get("model") == model]


def wait_until(predicate: Any, timeout: float = 5.0) -> bool:
    """Whether `predicate()` comes true within `timeout` seconds (the server closes its log records
    after the last write, a moment after the client has read it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def record_sleeps(model: Any) -> list[float]:
    """Replace the model's waits between retries (sync and async) by a list that records each delay."""
    delays: list[float] = []
    model.http.sleep = delays.append

    async def asleep(delay: float) -> None:
        delays.append(delay)

    model.http.asleep = asleep
    return delays


def sent(model: Any) -> list[httpx.Request]:
    """Each request the model's sync client sends (an httpx event hook, not a mock)."""
    seen: list[httpx.Request] = []
    model.http.client.event_hooks["request"].append(seen.append)
    return seen


def assert_clean_message(exc: BaseException, server: Any, secret: str, provider: str) -> None:
    """One line that names the provider and the host, and shows the key nowhere (nor does the server's log)."""
    text = str(exc)
    assert "\n" not in text and host_of(server.url) in text and text.startswith(f"{provider} at ")
    assert secret not in text and secret not in repr(exc)
    assert secret not in json.dumps(server.requests())


def assert_fault_keeps_the_partial_text(
    stream: Any, kind: type[Exception], tokens: int, server: Any, secret: str, provider: str
) -> None:
    """Read `stream` (the demo's SONG answer, seed 7) to its fault: exactly the text before the fault is
    seen, kept on the error, and the stream remembers the error."""
    seen = []
    with pytest.raises(kind) as info:
        for chunk in stream:
            seen.append(chunk.text)
    assert info.value.partial_text == "".join(seen) == partial(tokens)  # type: ignore[attr-defined]
    assert stream.error is info.value
    assert_clean_message(info.value, server, secret, provider)


async def assert_async_fault_keeps_the_partial_text(
    stream: AsyncIterable[Any], kind: type[Exception], tokens: int, server: Any, secret: str, provider: str
) -> None:
    """The same for an async stream."""
    with pytest.raises(kind) as info:
        async for _ in stream:
            pass
    assert info.value.partial_text == partial(tokens)  # type: ignore[attr-defined]
    assert_clean_message(info.value, server, secret, provider)


def assert_stopping_early_closes_the_connection(model: Any, server: Any, name: str) -> None:
    """`break` out of `model.stream(...)` after a few chunks (the model is asked for `name`, a model id of the
    test's own): the server sees the client leave."""
    with model:
        for index, _chunk in enumerate(model.stream(SONG, max_tokens=500)):
            if index == 3:
                break
    left = wait_until(lambda: any(r["outcome"] == "client_disconnected" for r in requests_for(server, name)))
    assert left, "the server did not see the client leave"


async def assert_leaving_an_async_stream_early_is_quiet(model: Any, server: Any, name: str, helper: bool) -> None:
    """`break` out of `async for` over `model.astream(...)` (directly, or through a helper generator of
    the user's) without closing anything: the connection closes, and nothing is printed as the event loop
    cleans up ("Task exception was never retrieved", "an error occurred during closing of asynchronous
    generator": what nested generators collected together used to print)."""
    loop = asyncio.get_running_loop()
    problems: list[str] = []
    loop.set_exception_handler(
        lambda _loop, context: problems.append(str(context.get("exception") or context["message"]))
    )

    async def texts() -> Any:
        async for chunk in model.astream(SONG, max_tokens=500):
            yield chunk.text

    try:
        for _ in range(2):
            if helper:
                async for text in texts():
                    if text:
                        break
            else:
                async for chunk in model.astream(SONG, max_tokens=500):
                    if chunk.text:
                        break
        gc.collect()
        for _ in range(250):
            if sum(r["outcome"] == "client_disconnected" for r in requests_for(server, name)) == 2:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)  # the event loop's clean-up tasks have run by now
    finally:
        loop.set_exception_handler(None)
        await model.aclose()
    assert [r["outcome"] for r in requests_for(server, name)] == ["client_disconnected"] * 2
    assert problems == []
