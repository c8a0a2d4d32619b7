"""The `openai` provider against the real local server over loopback HTTP (no mocks of httpx)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from provider_contract import (
    SONG,
    assert_async_fault_keeps_the_partial_text,
    assert_clean_message,
    assert_fault_keeps_the_partial_text,
    assert_leaving_an_async_stream_early_is_quiet,
    clear_env,
    demo,
    each_stream_fault,
    partial,
    record_sleeps,
    requests_for,
    sent,
    wait_until,
)

from llmstream_nb import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    InterruptedStreamError,
    NotFoundError,
    PermissionDeniedError,
    ProviderStreamError,
    RateLimitError,
    ServerError,
    get_model,
)
from llmstream_nb.http.errors import status_error
from llmstream_nb.providers.openai import OpenAIModel
from llmstream_nb.server import BackgroundServer

SECRET = "sk-test-SECRET123456"
GOLDFISH = "Write me a 1 verse song about goldfish on the moon"

no_openai_env = clear_env("OPENAI_API_KEY", "OPENAI_BASE_URL")


def model_for(server: Any, spec: str = "ngram", **options: Any) -> OpenAIModel:
    model = get_model(f"openai:{spec}", base_url=server.base_url, **options)
    assert isinstance(model, OpenAIModel)
    return model


# -- LangChain's streaming page, unchanged ------------------------------------------------------


def test_page_snippet_sync_stream(llm_server: Any) -> None:
    llm = get_model("openai:ngram", base_url=llm_server.base_url)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for chunk in llm.stream(SONG):
            print(chunk, end="|", flush=True)
    llm.close()
    printed = out.getvalue()
    assert printed.startswith("|")  # the role-only first chunk prints as ""
    assert printed.count("|") > 5 and len(printed.replace("|", "")) > 20


@pytest.mark.asyncio
async def test_page_snippet_async_stream(llm_server: Any) -> None:
    llm = get_model("openai:ngram", base_url=llm_server.base_url)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        async for chunk in llm.astream(SONG):
            print(chunk, end="|", flush=True)
    assert out.getvalue().startswith("|") and out.getvalue().count("|") > 5
    await llm.aclose()


@pytest.mark.asyncio
async def test_page_snippet_astream_events_v1(llm_server: Any) -> None:
    llm = get_model("openai:ngram", base_url=llm_server.base_url)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        idx = 0
        async for event in llm.astream_events(GOLDFISH, version="v1"):
            idx += 1
            if idx >= 5:  # Truncate the output
                print("...Truncated")
                break
            print(event)
    lines = out.getvalue().splitlines()
    assert len(lines) == 5 and lines[-1] == "...Truncated"
    assert "'on_llm_start'" in lines[0] and all("'on_llm_stream'" in line for line in lines[1:4])
    await llm.aclose()


# -- the same answer as the demo model and the official SDK -------------------------------------


@pytest.mark.parametrize("api", ["chat", "completions"])
def test_same_seed_same_text_as_demo_streaming_and_whole(llm_server: Any, api: str) -> None:
    options = {"seed": 11, "max_tokens": 40}
    expected = demo().invoke(SONG, **options)
    with model_for(llm_server, api=api) as llm:
        streamed = llm.invoke(SONG, **options)
        whole = llm._complete(llm._request(SONG, options))
    assert streamed.text == whole.text == expected.text
    assert streamed.finish_reason == whole.finish_reason == expected.finish_reason
    assert streamed.usage.to_dict() == expected.usage.to_dict() == whole.usage.to_dict()
    assert streamed.streamed and not whole.streamed
    assert streamed.timings.ttft is not None and streamed.timings.chunks == expected.timings.chunks
    assert streamed.model == "openai:ngram"


@pytest.mark.asyncio
@pytest.mark.parametrize("api", ["chat", "completions"])
async def test_async_streaming_and_whole_match_sync(llm_server: Any, api: str) -> None:
    options = {"seed": 5, "max_tokens": 30}
    llm = model_for(llm_server, api=api)
    expected = demo().invoke(GOLDFISH, **options).text
    assert (await llm.ainvoke(GOLDFISH, **options)).text == expected
    assert (await llm._acomplete(llm._request(GOLDFISH, options))).text == expected
    await llm.aclose()


def test_same_text_as_the_official_sdk(llm_server: Any) -> None:
    client = openai.OpenAI(base_url=llm_server.base_url, api_key="unused")
    stream = client.chat.completions.create(
        model="ngram", messages=[{"role": "user", "content": SONG}], seed=21, max_tokens=50, stream=True
    )
    sdk_text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    legacy = client.completions.create(model="ngram", prompt=SONG, seed=21, max_tokens=50)
    client.close()
    with model_for(llm_server) as chat, model_for(llm_server, api="completions") as completions:
        assert chat.invoke(SONG, seed=21, max_tokens=50).text == sdk_text
        assert completions.invoke(SONG, seed=21, max_tokens=50).text == legacy.choices[0].text == sdk_text


def test_chunks_match_the_demo_one_for_one(llm_server: Any) -> None:
    with model_for(llm_server) as llm:
        ours = list(llm.stream("hi", seed=3, max_tokens=8))
    theirs = list(demo().stream("hi", seed=3, max_tokens=8))
    assert [c.text for c in ours] == [c.text for c in theirs]
    assert ours[0].text == "" and ours[-1].finish_reason == theirs[-1].finish_reason


def test_options_reach_the_wire(llm_server: Any) -> None:
    """System prompt, temperature, stop: the answer is the demo's for the same options."""
    options = {"seed": 2, "max_tokens": 40, "temperature": 0.3, "stop": [","], "system": "Be brief."}
    with model_for(llm_server) as llm:
        assert llm.invoke(SONG, **options).text == demo().invoke(SONG, **options).text


def test_min_tokens_and_extra_body(llm_server: Any) -> None:
    with model_for(llm_server) as llm:
        answer = llm.invoke("hi", seed=1, max_tokens=60, min_tokens=60)
        assert answer.usage.completion_tokens == 60
        answer = llm.invoke("hi", seed=1, max_tokens=60, extra_body={"min_tokens": 50})
        assert answer.usage.completion_tokens >= 50


# -- logprobs ----------------------------------------------------------------------------------


def test_chat_logprobs_match_the_demo(llm_server: Any) -> None:
    options = {"seed": 3, "max_tokens": 10, "logprobs": True, "top_logprobs": 2}
    with model_for(llm_server) as llm:
        ours = [c for c in llm.stream("hi", **options) if c.text]
    theirs = [c for c in demo().stream("hi", **options) if c.text]
    assert [c.logprob for c in ours] == pytest.approx([c.logprob for c in theirs])
    assert all(c.top_logprobs is not None and len(c.top_logprobs) == 2 for c in ours)
    assert [c.top_logprobs[0][0] for c in ours] == [c.top_logprobs[0][0] for c in theirs]  # type: ignore[index]


def test_completions_logprobs_without_alternatives(llm_server: Any) -> None:
    with model_for(llm_server, api="completions") as llm:
        tokens = [c for c in llm.stream("hi", seed=3, max_tokens=6, logprobs=True) if c.text]
    assert tokens and all(c.logprob is not None and c.logprob <= 0 for c in tokens)
    assert all(c.top_logprobs is None for c in tokens)


# -- keys, URLs and headers ------------------------------------------------------------------


def test_no_key_sends_no_authorization_header(llm_server: Any) -> None:
    with model_for(llm_server) as llm:
        requests = sent(llm)
        llm.invoke("hi", max_tokens=2)
    assert requests and "authorization" not in requests[0].headers


def test_key_organization_and_headers_are_sent(llm_server: Any) -> None:
    with model_for(llm_server, api_key=SECRET, organization="org-1", headers={"X-Extra": "1"}) as llm:
        requests = sent(llm)
        llm.invoke("hi", max_tokens=2)
        assert SECRET not in repr(llm) and "key set" in repr(llm)
    headers = requests[0].headers
    assert headers["authorization"] == f"Bearer {SECRET}"
    assert headers["openai-organization"] == "org-1" and headers["x-extra"] == "1"


def test_key_and_url_from_the_environment(llm_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.base_url)
    with get_model("openai:ngram") as llm:
        requests = sent(llm)
        assert llm.invoke("hi", max_tokens=2).text
    assert requests[0].headers["authorization"] == f"Bearer {SECRET}"


def test_default_base_url() -> None:
    assert get_model("openai").base_url == "https://api.openai.com/v1"  # type: ignore[attr-defined]
    assert get_model("openai").model == "gpt-4o-mini"


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"api": "assistants"}, "unknown api .* use .chat., .responses. or .completions."),
        ({"base_url": "localhost:8000/v1"}, "http:// or https://"),
        ({"timeout": 0}, "more than 0"),
        ({"read_timeout": "soon"}, "number of seconds"),
        ({"max_retries": -1}, "whole number"),
        ({"api_kye": "x"}, "Did you mean 'api_key'"),
    ],
)
def test_configuration_errors(options: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        get_model("openai:ngram", **options)


def test_timeout_bounds_the_whole_request_beside_connect_and_read() -> None:
    llm = get_model("openai:x", base_url="http://127.0.0.1:1/v1", timeout=5, read_timeout=7)
    assert (llm.http.timeout.connect, llm.http.timeout.read) == (10.0, 7.0)  # type: ignore[attr-defined]
    assert llm.http.limits.timeout == 5.0  # type: ignore[attr-defined]
    llm = get_model("openai:x", base_url="http://127.0.0.1:1/v1")
    assert (llm.http.timeout.connect, llm.http.timeout.read) == (10.0, 60.0)  # type: ignore[attr-defined]


# -- every fault mode ---------------------------------------------------------------------------


#: The seed goes in the body as such (the Responses API has no `seed`; our server reads it from any of the three).
SEEDED = {"extra_body": {"seed": 7}, "max_tokens": 60}


@each_stream_fault
@pytest.mark.parametrize("api", ["chat", "completions", "responses"])
def test_stream_faults_keep_exactly_the_partial_text(
    llm_server: Any, fault: str, kind: type[Exception], tokens: int, options: dict[str, Any], api: str
) -> None:
    with model_for(llm_server, f"ngram+{fault}", api=api, api_key=SECRET, **options) as llm:
        stream = llm.stream(SONG, **SEEDED)
        assert_fault_keeps_the_partial_text(stream, kind, tokens, llm_server, SECRET, "openai")


@pytest.mark.asyncio
@each_stream_fault
@pytest.mark.parametrize("api", ["chat", "responses"])
async def test_stream_faults_async(
    llm_server: Any, fault: str, kind: type[Exception], tokens: int, options: dict[str, Any], api: str
) -> None:
    llm = model_for(llm_server, f"ngram+{fault}", api=api, api_key=SECRET, **options)
    await assert_async_fault_keeps_the_partial_text(
        llm.astream(SONG, **SEEDED), kind, tokens, llm_server, SECRET, "openai"
    )
    await llm.aclose()


STATUS_FAULTS = [
    (401, AuthenticationError),
    (403, PermissionDeniedError),
    (404, NotFoundError),
    (400, BadRequestError),
    (429, RateLimitError),
    (500, ServerError),
    (503, ServerError),
]


@pytest.mark.parametrize(("status", "kind"), STATUS_FAULTS)
@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
def test_status_faults(llm_server: Any, status: int, kind: type[Exception], stream: bool) -> None:
    llm = model_for(llm_server, f"ngram+status={status}", api_key=SECRET, max_retries=0)
    with pytest.raises(kind) as info:
        if stream:
            llm.invoke(SONG)
        else:
            llm._complete(llm._request(SONG, {}))
    assert f"HTTP {status}" in str(info.value) and info.value.partial_text == ""  # type: ignore[attr-defined]
    assert_clean_message(info.value, llm_server, SECRET, "openai")
    llm.close()


def test_401_says_how_to_set_the_key(llm_server: Any) -> None:
    with model_for(llm_server, "ngram+status=401") as llm, pytest.raises(AuthenticationError) as info:
        llm.invoke("hi")
    assert "OPENAI_API_KEY" in str(info.value) and "api_key=" in str(info.value)


def test_a_server_that_requires_a_key() -> None:
    """A real key check: no key, a wrong key, the right key."""
    with BackgroundServer(fast=True, api_key=SECRET) as server:
        with (
            model_for(server) as llm,
            pytest.raises(AuthenticationError, match="no API key was sent; set OPENAI_API_KEY"),
        ):
            llm.invoke("hi", max_tokens=2)
        wrong = "sk-test-WRONG987654321"
        with model_for(server, api_key=wrong) as llm, pytest.raises(AuthenticationError) as info:
            llm.invoke("hi", max_tokens=2)
        assert wrong not in str(info.value) and "rejected the key" in str(info.value)
        with model_for(server, api_key=SECRET) as llm:
            assert llm.invoke("hi", max_tokens=2).text


def test_http_error_body_echoing_the_key_is_redacted() -> None:
    """A server that echoes the key in its error body (as OpenAI does, half masked) never shows it."""
    context_model = get_model("openai:x", base_url="http://127.0.0.1:1/v1", api_key=SECRET)
    body = json.dumps({"error": {"message": f"Incorrect API key provided: {SECRET}. Also sk-test-****3456."}})
    exc = status_error(context_model.http.context, 401, body)  # type: ignore[attr-defined]
    assert SECRET not in str(exc) and "3456" not in str(exc)


# -- retries ----------------------------------------------------------------------------------


def test_429_with_retry_after_0_once_succeeds(llm_server: Any) -> None:
    spec = "ngram+status=429,retry_after=0,times=1,jitter=0"
    with model_for(llm_server, spec) as llm:
        delays = record_sleeps(llm)
        assert llm.invoke(SONG, seed=7, max_tokens=10).text == partial(10)
    assert delays == [0.0] and len(requests_for(llm_server, spec)) == 2


def test_503_twice_then_success(llm_server: Any) -> None:
    spec = "ngram+times=2,status=503,jitter=0"
    with model_for(llm_server, spec) as llm:
        delays = record_sleeps(llm)
        assert llm.invoke(SONG, seed=7, max_tokens=10).text == partial(10)
    assert delays == [1.0, 1.0]  # the server's Retry-After: 1 for 503, honoured exactly
    assert len(requests_for(llm_server, spec)) == 3


@pytest.mark.asyncio
async def test_retries_async(llm_server: Any) -> None:
    spec = "ngram+status=500,times=2,jitter=0"
    llm = model_for(llm_server, spec)
    delays = record_sleeps(llm)
    assert (await llm.ainvoke(SONG, seed=7, max_tokens=10)).text == partial(10)
    assert len(delays) == 2 and 0 <= delays[0] <= 0.5 and 0 <= delays[1] <= 1.0  # backoff with full jitter
    await llm.aclose()


def test_retry_after_is_honoured_and_capped(llm_server: Any) -> None:
    with model_for(llm_server, "ngram+status=429,retry_after=3,times=1,jitter=0") as llm:
        delays = record_sleeps(llm)
        llm.invoke("hi", max_tokens=2)
    assert delays == [3.0]
    with model_for(llm_server, "ngram+status=429,retry_after=600") as llm, pytest.raises(RateLimitError) as info:
        record_sleeps(llm)
        llm.invoke("hi", max_tokens=2)
    assert "retry after 600 s" in str(info.value)


def test_retries_give_up_after_max_retries(llm_server: Any) -> None:
    spec = "ngram-prov+status=502"
    with model_for(llm_server, spec, max_retries=1) as llm, pytest.raises(ServerError, match="2 attempts"):
        record_sleeps(llm)
        llm.invoke("hi")
    assert len(requests_for(llm_server, spec)) == 2


def test_no_retry_after_the_first_token(llm_server: Any) -> None:
    spec = "ngram-prov+drop_after=3"
    with model_for(llm_server, spec, max_retries=3) as llm, pytest.raises(InterruptedStreamError) as info:
        record_sleeps(llm)
        llm.invoke(SONG, seed=7, max_tokens=30)
    assert info.value.partial_text == partial(3)
    assert len(requests_for(llm_server, spec)) == 1


def test_dead_port_is_a_quick_connection_error() -> None:
    with get_model("openai:ngram", base_url="http://127.0.0.1:9/v1") as llm:
        waits: list[float] = []
        llm.http.sleep = waits.append
        with pytest.raises(APIConnectionError, match=r"could not connect to 127\.0\.0\.1:9 — is the server running\?"):
            llm.invoke("hi")
        assert len(waits) == 2 and all(w < 1 for w in waits)  # the default two retries, sub-second backoff


# -- servers that refuse stream_options ----------------------------------------------------------


class RefuseStreamOptions:
    """ASGI middleware in front of the real server: a 400 for any body with stream_options, as some
    OpenAI-compatible servers answer; counts what it refused."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.refused = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        body = await read_body(receive)
        if b"stream_options" in body:
            self.refused += 1
            refusal = "Unrecognized request argument supplied: stream_options"
            error = json.dumps({"error": {"message": refusal, "type": "invalid_request_error"}}).encode()
            await send(
                {"type": "http.response.start", "status": 400, "headers": [(b"content-type", b"application/json")]}
            )
            await send({"type": "http.response.body", "body": error})
            return
        await self.app(scope, replaying(body, receive), send)


async def read_body(receive: Any) -> bytes:
    """A request's whole body, read off the ASGI channel."""
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    return body


def replaying(body: bytes, receive: Any) -> Any:
    """An ASGI `receive` that gives `body` once, then the real channel (it reports disconnects)."""
    replayed = False

    async def replay() -> dict[str, Any]:
        nonlocal replayed
        if replayed:
            return await receive()  # type: ignore[no-any-return]
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


@pytest.fixture(scope="module")
def strict_server() -> Iterator[tuple[BackgroundServer, RefuseStreamOptions]]:
    server = BackgroundServer(fast=True)
    refuser = RefuseStreamOptions(server.app)
    server.app = refuser  # type: ignore[assignment]
    with server:
        yield server, refuser


def test_stream_options_refused_once_then_remembered(strict_server: Any) -> None:
    server, refuser = strict_server
    with model_for(server) as llm:
        first = llm.invoke("hi", seed=3, max_tokens=5)
        second = llm.invoke("hi", seed=3, max_tokens=5)
    assert first.text == second.text == demo().invoke("hi", seed=3, max_tokens=5).text
    assert refuser.refused == 1
    assert first.usage.completion_tokens == 5  # counted from the chunks when the server sends no usage


@pytest.mark.asyncio
async def test_stream_options_refused_async(strict_server: Any) -> None:
    server, refuser = strict_server
    before = refuser.refused
    llm = model_for(server)
    assert (await llm.ainvoke("hi", seed=3, max_tokens=5)).text
    assert (await llm.ainvoke("hi", seed=3, max_tokens=5)).text
    assert refuser.refused == before + 1
    await llm.aclose()


# -- stopping early, pooling, the event loop --------------------------------------------------


def disconnected(server: Any, model: str) -> bool:
    return any(r.get("outcome") == "client_disconnected" for r in requests_for(server, model))


@pytest.mark.asyncio
@pytest.mark.parametrize("helper", [False, True], ids=["break", "break in a helper generator"])
async def test_leaving_an_async_stream_early_closes_it_quietly(slow_llm_server: Any, helper: bool) -> None:
    name = f"ngram-openai-leave-{helper}"
    await assert_leaving_an_async_stream_early_is_quiet(model_for(slow_llm_server, name), slow_llm_server, name, helper)


@pytest.mark.parametrize("how", ["break", "close"])
def test_stopping_early_closes_the_connection(slow_llm_server: Any, how: str) -> None:
    name = f"ngram-stop-{how}"  # the server serves any id starting with "ngram": one of its own to find its record
    with model_for(slow_llm_server, name) as llm:
        stream = llm.stream(SONG, max_tokens=500)
        for index, _chunk in enumerate(stream):
            if index == 3:
                break
        if how == "close":
            stream.close()
        assert wait_until(lambda: disconnected(slow_llm_server, name))


@pytest.mark.asyncio
async def test_cancelling_a_task_closes_the_connection(slow_llm_server: Any) -> None:
    spec = "ngram-cancel"
    llm = model_for(slow_llm_server, spec)
    got_one = asyncio.Event()

    async def consume() -> None:
        async for chunk in llm.astream(SONG, max_tokens=500):
            if chunk.text:
                got_one.set()

    task = asyncio.ensure_future(consume())
    await asyncio.wait_for(got_one.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(250):
        if disconnected(slow_llm_server, spec):
            break
        await asyncio.sleep(0.02)
    assert disconnected(slow_llm_server, spec)
    await llm.aclose()


@pytest.mark.asyncio
async def test_astream_never_blocks_the_event_loop(slow_llm_server: Any) -> None:
    llm = model_for(slow_llm_server)
    beats = 0
    done = False

    async def heartbeat() -> None:
        nonlocal beats
        while not done:
            await asyncio.sleep(0)
            beats += 1

    beat = asyncio.ensure_future(heartbeat())
    stream = llm.astream(SONG, seed=1, max_tokens=20)
    beats_between_chunks = []
    async for _ in stream:  # ~0.4 s of slow stream: a loop blocked on reads would not beat between chunks
        beats_between_chunks.append(beats)
        beats = 0
    done = True
    await beat
    # Two chunks may share one network read (no wait between them), but a loop blocked on reads
    # would never beat while waiting: most waits must see the heartbeat run.
    gaps = beats_between_chunks[1:]
    assert stream.text and sum(b > 0 for b in gaps) >= len(gaps) // 2
    await llm.aclose()


def test_clients_are_pooled_and_closed(llm_server: Any) -> None:
    llm = model_for(llm_server)
    llm.invoke("hi", max_tokens=2)
    client = llm.http.client
    llm.invoke("hi", max_tokens=2)
    assert llm.http.client is client
    llm.close()
    assert client.is_closed
    assert llm.invoke("hi", max_tokens=2).text  # a closed model opens a new client on demand
    llm.close()


@pytest.mark.asyncio
async def test_async_client_is_reused_and_closed(llm_server: Any) -> None:
    llm = model_for(llm_server)
    await llm.ainvoke("hi", max_tokens=2)
    client = await llm.http.aclient()
    await llm.ainvoke("hi", max_tokens=2)
    assert await llm.http.aclient() is client
    await llm.aclose()
    assert client.is_closed


def test_batch_streams_from_threads(llm_server: Any) -> None:
    with model_for(llm_server) as llm:
        answers = llm.batch(["hi", "tea", "moon"], max_concurrency=3, seed=4, max_tokens=8)
    assert [a.text for a in answers] == [demo().invoke(p, seed=4, max_tokens=8).text for p in ["hi", "tea", "moon"]]


# -- status -------------------------------------------------------------------------------------


def test_status_of_a_local_server(llm_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.base_url)
    status = OpenAIModel.status()
    assert status.configured and status.models == ["ngram"] and status.error is None
    assert llm_server.base_url in status.detail and "no key" in status.detail
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    status = OpenAIModel.status(list_models=False)
    assert "key set" in status.detail and SECRET not in repr(status) and status.models == []


def test_status_reports_an_unreachable_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    status = OpenAIModel.status()
    assert status.configured and status.models == [] and "could not connect" in (status.error or "")


def test_status_without_key_for_a_remote_url_asks_for_one() -> None:
    status = OpenAIModel.status()
    assert not status.configured and "OPENAI_API_KEY" in status.detail and status.models == []


# -- servers that answer a streaming request whole -------------------------------------------------


class IgnoreStream:
    """ASGI middleware in front of the real server: turns `"stream": true` off, as proxies that do not
    stream do, so a streaming request is answered with one whole JSON body."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        payload = json.loads(await read_body(receive))
        payload["stream"] = False
        payload.pop("stream_options", None)
        await self.app(scope, replaying(json.dumps(payload).encode(), receive), send)


@pytest.fixture(scope="module")
def whole_server() -> Iterator[BackgroundServer]:
    server = BackgroundServer(fast=True)
    server.app = IgnoreStream(server.app)  # type: ignore[assignment]
    with server:
        yield server


def test_a_whole_json_answer_to_a_streaming_request_is_the_answer(whole_server: Any, llm_server: Any) -> None:
    with model_for(llm_server) as llm:
        streamed = llm.invoke("hi", seed=4, max_tokens=6).text
    with model_for(whole_server) as llm:
        stream = llm.stream("hi", seed=4, max_tokens=6)
        chunks = list(stream)
    assert stream.text == streamed and streamed
    assert [c.fallback for c in chunks] == [True] and not stream.completion.streamed
    assert stream.finish_reason == "length" and stream.usage.completion_tokens == 6


@pytest.mark.asyncio
async def test_a_whole_json_answer_async(whole_server: Any) -> None:
    async with asyncio.timeout(30):
        llm = model_for(whole_server)
        stream = llm.astream("hi", seed=4, max_tokens=6)
        chunks = [c async for c in stream]
        await llm.aclose()
    assert len(chunks) == 1 and chunks[0].fallback and stream.text


def test_a_whole_json_error_body_with_status_200_raises_its_message() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = json.dumps({"error": {"message": "upstream model is loading", "type": "server_error"}}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})

    server = BackgroundServer(fast=True)
    server.app = app  # type: ignore[assignment]
    with server, model_for(server) as llm, pytest.raises(ProviderStreamError, match="upstream model is loading"):
        llm.invoke("hi")
