"""The shared HTTP layer (`llmstream_nb.http`): retry decisions, error mapping, and a session
talking to the real local server over loopback (no mocks of httpx)."""

from __future__ import annotations

import asyncio
import email.utils
import random
import socket
import time
from typing import Any

import httpx
import pytest
from provider_contract import requests_for, wait_until

from llmstream_nb.errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    InterruptedStreamError,
    NotFoundError,
    RateLimitError,
    ServerError,
)
from llmstream_nb.http import HttpSession, RetryPolicy, error_text, host_of, parse_retry_after, provider_message
from llmstream_nb.http.errors import ErrorContext, status_error
from llmstream_nb.http.retry import RetryAfterTooLong, should_retry_status

SECRET = "sk-test-SECRET123456"
FAULT = "X-LLMStream-Fault"
CHAT = "chat/completions"


def chat_body(model: str = "ngram", **extra: Any) -> dict[str, Any]:
    return {
        "model": model,
        "messages": [{"role": "user", "content": "Tell me about tea."}],
        "stream": True,
        "seed": 1,
        **extra,
    }


def dead_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Sleeps:
    """Stands in for the session's waits, recording the computed delays instead of sleeping."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, delay: float) -> None:
        self.delays.append(delay)

    async def asleep(self, delay: float) -> None:
        self.delays.append(delay)


def session_for(server: Any, **options: Any) -> tuple[HttpSession, Sleeps]:
    headers = options.pop("headers", {})
    session = HttpSession("testprov", server.base_url, headers=headers, secrets=(SECRET,), **options)
    sleeps = Sleeps()
    session.sleep, session.asleep = sleeps, sleeps.asleep
    return session, sleeps


# -- retry decisions (pure) -----------------------------------------------------------------


def test_retry_after_forms() -> None:
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after": "0"}) == 0.0
    assert parse_retry_after({"retry-after": "1.5"}) == 1.5
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None
    future = email.utils.formatdate(time.time() + 20, usegmt=True)
    assert 17 <= parse_retry_after({"retry-after": future}) <= 20  # type: ignore[operator]
    past = email.utils.formatdate(time.time() - 60, usegmt=True)
    assert parse_retry_after({"retry-after": past}) == 0.0


def test_delay_honours_retry_after_and_caps_it() -> None:
    policy = RetryPolicy(retry_after_cap=30.0)
    assert policy.delay(0, {"retry-after": "7"}) == 7.0
    assert policy.delay(5, {"retry-after": "0"}) == 0.0
    with pytest.raises(RetryAfterTooLong) as info:
        policy.delay(0, {"retry-after": "120"})
    assert info.value.seconds == 120.0


def test_backoff_is_full_jitter_within_an_exponential_bound() -> None:
    random.seed(7)
    policy = RetryPolicy(backoff_base=0.5, backoff_max=8.0)
    for attempt, bound in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (6, 8.0)]:
        delays = [policy.delay(attempt) for _ in range(300)]
        assert all(0.0 <= d <= bound for d in delays)
        assert max(delays) > bound * 0.8 and min(delays) < bound * 0.2  # spread over the whole range


def test_which_statuses_are_retried() -> None:
    assert all(should_retry_status(s) for s in (429, 500, 502, 503, 504))
    assert not any(should_retry_status(s) for s in (400, 401, 403, 404, 422, 501))
    assert not should_retry_status(429, '{"error": {"code": "insufficient_quota"}}')


# -- error mapping (pure) -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{"error": {"message": "Rate limit reached", "type": "requests"}}', "Rate limit reached"),
        ('{"error": "model \\"x\\" not found"}', 'model "x" not found'),  # Ollama
        ('{"detail": "Not Found"}', "Not Found"),  # FastAPI
        ('{"detail": [{"msg": "field required"}]}', "field required"),
        (
            '{"detail": [{"loc": ["body", "stream_options"], "msg": "Extra inputs are not permitted"}]}',
            "body.stream_options: Extra inputs are not permitted",
        ),
        (
            '{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}',
            "Overloaded",
        ),  # Anthropic
        ("<html>Bad gateway</html>", "<html>Bad gateway</html>"),
        (b"plain bytes", "plain bytes"),
    ],
)
def test_provider_message_shapes(body: str | bytes, expected: str) -> None:
    assert provider_message(body) == expected


def test_error_text_of_non_errors() -> None:
    assert error_text([1, 2]) is None
    assert error_text({"choices": []}) is None


def test_status_error_is_one_line_with_host_status_hint_and_no_key() -> None:
    context = ErrorContext("testprov", "api.example.com", secrets=(SECRET,), hints={401: "set TEST_KEY"})
    body = '{"error": {"message": "Incorrect API key provided: ' + SECRET + '.\\nYou can find your key at ..."}}'
    exc = status_error(context, 401, body)
    assert isinstance(exc, AuthenticationError)
    text = str(exc)
    assert "\n" not in text and SECRET not in text and SECRET not in repr(exc)
    assert "api.example.com" in text and "401" in text and "set TEST_KEY" in text
    assert isinstance(status_error(context, 503, "x", attempts=3), ServerError)
    assert "3 attempts" in str(status_error(context, 503, "x", attempts=3))


def test_host_of() -> None:
    assert host_of("http://127.0.0.1:9/v1") == "127.0.0.1:9"
    assert host_of("https://api.openai.com/v1") == "api.openai.com"
    assert host_of("http://[::1]:8000/v1") == "[::1]:8000"


# -- a dead port (no server needed) ---------------------------------------------------------


def test_dead_port_is_a_connection_error_quickly() -> None:
    port = dead_port()
    session = HttpSession("testprov", f"http://127.0.0.1:{port}/v1")
    session.sleep = sleeps = Sleeps()
    with pytest.raises(APIConnectionError) as info:
        list(session.stream_sse("POST", CHAT, json=chat_body()))
    assert len(sleeps.delays) == 2 and all(d < 1 for d in sleeps.delays)  # two quick retries, sub-second backoff
    assert f"could not connect to 127.0.0.1:{port}" in str(info.value)
    assert "is the server running?" in str(info.value)
    session.close()


@pytest.mark.asyncio
async def test_dead_port_async_retries_then_fails() -> None:
    session = HttpSession("testprov", f"http://127.0.0.1:{dead_port()}/v1", max_retries=3)
    sleeps = Sleeps()
    session.asleep = sleeps.asleep
    with pytest.raises(APIConnectionError):
        await session.arequest_json("GET", "models")
    assert len(sleeps.delays) == 3
    await session.aclose()


# -- against the local server ----------------------------------------------------------------


def test_stream_sse_yields_events_and_stops_at_the_end_marker(llm_server: Any) -> None:
    session, _ = session_for(llm_server)
    events = list(session.stream_sse("POST", CHAT, json=chat_body(), end=lambda e: e.data == "[DONE]"))
    assert events[-1].data == "[DONE]"
    assert len(events) > 3 and all(e.event == "message" for e in events)
    session.close()


def test_connection_is_pooled_after_the_end_marker(llm_server: Any) -> None:
    """Draining after [DONE] returns the connection to the pool: the second request reuses it."""
    session, _ = session_for(llm_server)
    ports: list[int] = []

    def remember(response: httpx.Response) -> None:
        stream = response.extensions.get("network_stream")
        if stream is not None:
            ports.append(stream.get_extra_info("client_addr")[1])

    session.client.event_hooks["response"].append(remember)
    for _ in range(3):
        list(session.stream_sse("POST", CHAT, json=chat_body(), end=lambda e: e.data == "[DONE]"))
    assert len(ports) == 3 and len(set(ports)) == 1
    session.close()


def test_request_json(llm_server: Any) -> None:
    session, _ = session_for(llm_server)
    payload = session.request_json("GET", "models")
    assert "ngram" in [m["id"] for m in payload["data"]]
    session.close()


def test_stream_lines_splits_on_newlines_only(llm_server: Any) -> None:
    session, _ = session_for(llm_server)
    lines = list(session.stream_lines("POST", CHAT, json=chat_body()))
    assert lines[-1] == "data: [DONE]" and all(line.startswith("data: ") for line in lines)
    session.close()


@pytest.mark.parametrize(
    ("status", "kind"), [(401, AuthenticationError), (404, NotFoundError), (429, RateLimitError), (500, ServerError)]
)
def test_status_faults_map_to_exceptions(llm_server: Any, status: int, kind: type[Exception]) -> None:
    session, sleeps = session_for(llm_server, max_retries=0, headers={FAULT: f"status={status}"})
    with pytest.raises(kind) as info:
        list(session.stream_sse("POST", CHAT, json=chat_body()))
    text = str(info.value)
    assert f"HTTP {status}" in text and host_of(llm_server.base_url) in text and "\n" not in text
    assert sleeps.delays == []
    session.close()


def test_503_twice_then_success_recovers_with_backoff(llm_server: Any) -> None:
    model = "ngram-http+status=503,retry_after=0,times=2,ttft=0"
    session, sleeps = session_for(llm_server)
    events = list(session.stream_sse("POST", CHAT, json=chat_body(model)))
    assert events and sleeps.delays == [0.0, 0.0]
    assert len(requests_for(llm_server, model)) == 3
    session.close()


def test_backoff_without_retry_after_and_giving_up(llm_server: Any) -> None:
    model = "ngram-http+status=502"
    session, sleeps = session_for(llm_server, max_retries=2)
    with pytest.raises(ServerError, match="2 attempts|3 attempts"):
        list(session.stream_sse("POST", CHAT, json=chat_body(model)))
    assert len(sleeps.delays) == 2 and 0 <= sleeps.delays[0] <= 0.5 and 0 <= sleeps.delays[1] <= 1.0
    assert len(requests_for(llm_server, model)) == 3
    session.close()


def test_retry_after_is_honoured_exactly(llm_server: Any) -> None:
    model = "ngram-http+status=429,retry_after=2,times=1,ttft=0"
    session, sleeps = session_for(llm_server)
    session.request_json("POST", CHAT, json=chat_body(model, stream=False))
    assert sleeps.delays == [2.0]
    session.close()


def test_retry_after_beyond_the_cap_raises_at_once(llm_server: Any) -> None:
    model = "ngram-http+status=429,retry_after=120"
    session, sleeps = session_for(llm_server)
    with pytest.raises(RateLimitError, match="retry after 120 s"):
        list(session.stream_sse("POST", CHAT, json=chat_body(model)))
    assert sleeps.delays == [] and len(requests_for(llm_server, model)) == 1
    session.close()


def test_no_retry_after_the_first_event(llm_server: Any) -> None:
    model = "ngram-http+drop_after=3"
    session, sleeps = session_for(llm_server, max_retries=3)
    received = []
    with pytest.raises(InterruptedStreamError):
        received.extend(session.stream_sse("POST", CHAT, json=chat_body(model)))
    assert received and sleeps.delays == [] and len(requests_for(llm_server, model)) == 1
    session.close()


def test_stall_mid_stream_is_a_timeout(llm_server: Any) -> None:
    model = "ngram-http+stall_after=2,stall=5"
    session, _ = session_for(llm_server, read_timeout=0.3)
    with pytest.raises(
        APIConnectionError, match="0.3 s"
    ) as info:  # as in openai and httpx: a timeout is a connection error
        list(session.stream_sse("POST", CHAT, json=chat_body(model)))
    assert isinstance(info.value, APITimeoutError)
    session.close()


def test_status_errors_are_api_status_errors_and_api_error_is_their_old_name() -> None:
    assert APIError is APIStatusError
    assert all(issubclass(kind, APIStatusError) for kind in (BadRequestError, RateLimitError, ServerError))
    assert not issubclass(APITimeoutError, APIStatusError) and issubclass(APITimeoutError, APIConnectionError)


def test_closing_the_stream_early_closes_the_connection(slow_llm_server: Any) -> None:
    session, _ = session_for(slow_llm_server)
    events = session.stream_sse("POST", CHAT, json=chat_body("ngram", max_tokens=200))
    for _ in range(3):
        next(events)
    events.close()
    assert wait_until(lambda: any(r.get("outcome") == "client_disconnected" for r in slow_llm_server.requests()))
    session.close()


@pytest.mark.asyncio
async def test_cancelling_the_task_closes_the_connection(slow_llm_server: Any) -> None:
    session, _ = session_for(slow_llm_server)
    started = asyncio.Event()

    async def consume() -> None:
        async for _event in session.astream_sse("POST", CHAT, json=chat_body("ngram", max_tokens=200)):
            started.set()

    task = asyncio.ensure_future(consume())
    await asyncio.wait_for(started.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not any(
        r.get("outcome") == "client_disconnected" for r in slow_llm_server.requests()
    ):
        await asyncio.sleep(0.02)
    assert any(r.get("outcome") == "client_disconnected" for r in slow_llm_server.requests())
    await session.aclose()


@pytest.mark.asyncio
async def test_async_client_follows_the_running_loop(llm_server: Any) -> None:
    """A second event loop (a second asyncio.run) gets its own client instead of dead connections."""
    session, _ = session_for(llm_server)
    first = await session.aclient()
    assert await session.aclient() is first

    def in_other_loop() -> object:
        async def go() -> object:
            await session.arequest_json("GET", "models")
            client = await session.aclient()
            await client.aclose()  # its loop ends with asyncio.run: close its connections while it can
            return client

        return asyncio.run(go())

    other = await asyncio.to_thread(in_other_loop)
    assert other is not first
    assert (await session.arequest_json("GET", "models"))["data"]
    await session.aclose()
