"""The `anthropic` provider and the server's `/v1/messages`, over real loopback HTTP (no mocks of httpx).

Anthropic has no `seed`, so our server takes one as an extension and these tests send it the way any
caller would send a field the API lacks, `extra_body={"seed": N}`: the server's demo model then samples
exactly as `get_model("demo")` does with `seed=N`, which makes "the same text" a real comparison (greedy
`temperature=0` is checked too, with no seed at all).
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import anthropic
import httpx
import pytest
from provider_contract import (
    assert_leaving_an_async_stream_early_is_quiet,
    assert_stopping_early_closes_the_connection,
    SONG,
    assert_async_fault_keeps_the_partial_text,
    assert_clean_message,
    assert_fault_keeps_the_partial_text,
    clear_env,
    demo,
    each_stream_fault,
    partial,
    record_sleeps,
    requests_for,
    sent,
)

from llmstream_nb import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    InterruptedStreamError,
    MalformedStreamError,
    NotFoundError,
    PermissionDeniedError,
    ProviderStreamError,
    RateLimitError,
    ServerError,
    get_model,
)
from llmstream_nb.chunks import REASONING, TEXT, Chunk
from llmstream_nb.providers import _anthropic_wire as wire
from llmstream_nb.providers.anthropic import AnthropicModel
from llmstream_nb.server import BackgroundServer
from llmstream_nb.server.thinking import THINKING_TOKENS, thinking_options, thinking_prompt

SECRET = "sk-ant-test-SECRET123456"
TRAINS = "Tell me about trains"
VERSION = {"anthropic-version": "2023-06-01"}

no_anthropic_env = clear_env("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL")


def model_for(server: BackgroundServer, spec: str = "ngram", **options: Any) -> AnthropicModel:
    model = get_model(f"anthropic:{spec}", base_url=server.url, **options)
    assert isinstance(model, AnthropicModel)
    return model


def seeded(seed: int, **options: Any) -> dict[str, Any]:
    return {"extra_body": {"seed": seed}, **options}


# -- the same answer as the demo model ------------------------------------------------------------


def test_stream_and_invoke_give_the_demo_text(llm_server: BackgroundServer) -> None:
    expected = demo().invoke(SONG, seed=11, max_tokens=40)
    with model_for(llm_server) as llm:
        stream = llm.stream(SONG, **seeded(11, max_tokens=40))
        chunks = list(stream)
        whole = llm.invoke(SONG, **seeded(11, max_tokens=40))
    assert stream.text == whole.text == expected.text
    assert [c.text for c in chunks] == [c.text for c in expected.chunks]  # "" first, one chunk per token, "" last
    assert stream.finish_reason == whole.finish_reason == expected.finish_reason
    assert whole.usage.to_dict() == expected.usage.to_dict()
    assert whole.streamed and whole.model == "anthropic:ngram" and whole.reasoning == ""


def test_greedy_needs_no_seed(llm_server: BackgroundServer) -> None:
    with model_for(llm_server, temperature=0) as llm:
        assert llm.invoke(TRAINS, max_tokens=30).text == demo().invoke(TRAINS, temperature=0, max_tokens=30).text


@pytest.mark.asyncio
async def test_async_stream_gives_the_same_text(llm_server: BackgroundServer) -> None:
    llm = model_for(llm_server)
    answer = await llm.ainvoke(TRAINS, **seeded(5, max_tokens=30))
    assert answer.text == demo().invoke(TRAINS, seed=5, max_tokens=30).text
    assert answer.usage.completion_tokens == 30 and answer.finish_reason == "length"
    await llm.aclose()


def test_options_reach_the_wire(llm_server: BackgroundServer) -> None:
    options = {"max_tokens": 40, "temperature": 0.3, "stop": [","], "system": "Be brief.", "top_k": 5}
    with model_for(llm_server) as llm:
        requests = sent(llm)
        answer = llm.invoke(SONG, **seeded(2, **options))
    assert answer.text == demo().invoke(SONG, seed=2, **options).text
    body = json.loads(requests[0].content)
    assert body == {
        "model": "ngram",
        "messages": [{"role": "user", "content": SONG}],
        "max_tokens": 40,
        "stream": True,
        "system": "Be brief.",
        "temperature": 0.3,
        "stop_sequences": [","],
        "top_k": 5,
        "seed": 2,
    }
    assert requests[0].headers["anthropic-version"] == "2023-06-01"
    assert requests[0].headers["content-type"] == "application/json" and "x-api-key" not in requests[0].headers


def test_max_tokens_is_always_sent_and_a_conversation_keeps_its_turns(llm_server: BackgroundServer) -> None:
    conversation = [("system", "Be kind."), ("human", "hi"), ("ai", "Hello!"), ("human", TRAINS)]
    with model_for(llm_server) as llm:
        requests = sent(llm)
        llm.invoke(conversation, **seeded(1))
    body = json.loads(requests[0].content)
    assert body["max_tokens"] == wire.DEFAULT_MAX_TOKENS and body["system"] == "Be kind."
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]


# -- seed, logprobs, thinking: what Anthropic has and has not --------------------------------------


def test_seed_is_not_sent_and_says_so(llm_server: BackgroundServer) -> None:
    with model_for(llm_server) as llm:
        requests = sent(llm)
        with pytest.warns(UserWarning, match="takes no seed"):
            llm.invoke("hi", seed=3, max_tokens=2)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a seed sent on purpose is not warned about
            llm.invoke("hi", seed=3, max_tokens=2, extra_body={"seed": 3})
    assert "seed" not in json.loads(requests[0].content)


@pytest.mark.parametrize("options", [{"logprobs": True}, {"top_logprobs": 2}])
def test_logprobs_are_refused_before_any_request(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match="returns no logprobs"):
        get_model("anthropic:x", **options)
    llm = get_model("anthropic:x", base_url="http://127.0.0.1:9")
    with pytest.raises(ConfigurationError, match="returns no logprobs"):
        llm.stream("hi", **options)  # at the call, not at the first chunk


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"thinking_budget": 0}, "whole number of tokens"),
        ({"thinking": 2048}, "must be a dict"),
        ({"thinking": {"type": "enabled", "budget_tokens": 1024}, "thinking_budget": 1024}, "not both"),
        ({"base_url": "localhost:8000"}, "http:// or https://"),
        ({"timeout": 0}, "more than 0"),
        ({"max_retries": -1}, "whole number"),
        ({"api_kye": "x"}, "Did you mean 'api_key'"),
    ],
)
def test_configuration_errors(options: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        get_model("anthropic:x", **options)


@pytest.mark.parametrize("how", ["budget", "dict"])
def test_thinking_arrives_as_reasoning_apart_from_the_answer(llm_server: BackgroundServer, how: str) -> None:
    thinking = (
        {"thinking_budget": 1024} if how == "budget" else {"thinking": {"type": "enabled", "budget_tokens": 1024}}
    )
    with model_for(llm_server) as llm:
        requests = sent(llm)
        stream = llm.stream(TRAINS, **seeded(3, **thinking))
        chunks = list(stream)
    body = json.loads(requests[0].content)
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 1024} and body["max_tokens"] == 2048
    answer_max = 2048 - THINKING_TOKENS  # thinking counts against max_tokens
    expected = demo().invoke(TRAINS, seed=3, max_tokens=answer_max)
    thought = demo().invoke(thinking_prompt(TRAINS), **thinking_options({"seed": 3}, THINKING_TOKENS))
    kinds = [c.kind for c in chunks if c.text]
    assert kinds == sorted(kinds, key=lambda kind: kind != REASONING) and REASONING in kinds  # thinking first
    assert stream.reasoning == thought.text and stream.text == expected.text
    assert stream.completion.reasoning == thought.text
    assert stream.usage.completion_tokens == expected.usage.completion_tokens + thought.usage.completion_tokens


def test_thinking_budget_below_anthropics_floor_is_a_bad_request(llm_server: BackgroundServer) -> None:
    with model_for(llm_server) as llm, pytest.raises(BadRequestError, match="greater than or equal to 1024"):
        llm.invoke("hi", thinking_budget=100)


# -- every fault mode --------------------------------------------------------------------------------


@each_stream_fault
def test_stream_faults_keep_exactly_the_partial_text(
    llm_server: BackgroundServer, fault: str, kind: type[Exception], tokens: int, options: dict[str, Any]
) -> None:
    with model_for(llm_server, f"ngram+{fault}", api_key=SECRET, **options) as llm:
        stream = llm.stream(SONG, **seeded(7, max_tokens=60))
        assert_fault_keeps_the_partial_text(stream, kind, tokens, llm_server, SECRET, "anthropic")


@pytest.mark.asyncio
@each_stream_fault
async def test_stream_faults_async(
    llm_server: BackgroundServer, fault: str, kind: type[Exception], tokens: int, options: dict[str, Any]
) -> None:
    llm = model_for(llm_server, f"ngram+{fault}", api_key=SECRET, **options)
    await assert_async_fault_keeps_the_partial_text(
        llm.astream(SONG, **seeded(7, max_tokens=60)), kind, tokens, llm_server, SECRET, "anthropic"
    )
    await llm.aclose()


def test_an_error_event_names_anthropics_error_type(llm_server: BackgroundServer) -> None:
    with model_for(llm_server, "ngram+error_after=2") as llm, pytest.raises(ProviderStreamError) as info:
        llm.invoke(SONG, **seeded(7))
    assert "overloaded_error: Overloaded" in str(info.value)


STATUS_FAULTS = [
    (400, BadRequestError),
    (401, AuthenticationError),
    (403, PermissionDeniedError),
    (404, NotFoundError),
    (429, RateLimitError),
    (500, ServerError),
    (503, ServerError),
    (529, ServerError),
]


@pytest.mark.parametrize(("status", "kind"), STATUS_FAULTS)
def test_status_faults(llm_server: BackgroundServer, status: int, kind: type[Exception]) -> None:
    llm = model_for(llm_server, f"ngram+status={status}", api_key=SECRET, max_retries=0)
    with llm, pytest.raises(kind) as info:
        llm.invoke(SONG)
    assert f"HTTP {status}" in str(info.value) and info.value.partial_text == ""  # type: ignore[attr-defined]
    assert_clean_message(info.value, llm_server, SECRET, "anthropic")


def test_529_says_anthropic_is_overloaded(llm_server: BackgroundServer) -> None:
    with model_for(llm_server, "ngram+status=529", max_retries=0) as llm, pytest.raises(ServerError) as info:
        llm.invoke("hi")
    assert "HTTP 529: Overloaded (Anthropic is overloaded" in str(info.value)


@pytest.mark.parametrize("status", [529, 503])
def test_retries_then_success(llm_server: BackgroundServer, status: int) -> None:
    spec = f"ngram-retry+status={status},times=2"
    with model_for(llm_server, spec) as llm:
        delays = record_sleeps(llm)
        assert llm.invoke(SONG, **seeded(7, max_tokens=10)).text == partial(10)
    assert len(requests_for(llm_server, spec)) == 3
    if status == 503:
        assert delays == [1.0, 1.0]  # the server's Retry-After, honoured exactly
    else:
        assert 0 <= delays[0] <= 0.5 and 0 <= delays[1] <= 1.0  # no Retry-After: backoff with full jitter


@pytest.mark.asyncio
async def test_retries_async(llm_server: BackgroundServer) -> None:
    spec = "ngram-aretry+status=529,times=1"
    llm = model_for(llm_server, spec)
    delays = record_sleeps(llm)
    assert (await llm.ainvoke(SONG, **seeded(7, max_tokens=10))).text == partial(10)
    assert len(delays) == 1 and len(requests_for(llm_server, spec)) == 2
    await llm.aclose()


def test_a_server_that_requires_a_key() -> None:
    """A real key check over `x-api-key`: no key, a wrong key, the right key."""
    with BackgroundServer(fast=True, api_key=SECRET) as server:
        with model_for(server) as llm, pytest.raises(AuthenticationError) as info:
            llm.invoke("hi", max_tokens=2)
        assert "no API key was sent; set ANTHROPIC_API_KEY" in str(info.value)
        wrong = "sk-ant-test-WRONG987654"
        with model_for(server, api_key=wrong) as llm, pytest.raises(AuthenticationError) as info:
            llm.invoke("hi", max_tokens=2)
        assert wrong not in str(info.value) and "rejected the key" in str(info.value)
        with model_for(server, api_key=SECRET) as llm:
            requests = sent(llm)
            assert llm.invoke("hi", max_tokens=2).text
            assert SECRET not in repr(llm)
        assert requests[0].headers["x-api-key"] == SECRET and "authorization" not in requests[0].headers


def test_key_and_url_from_the_environment(llm_server: BackgroundServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", llm_server.base_url)  # ".../v1" is accepted as well as the root
    with get_model("anthropic:ngram") as llm:
        requests = sent(llm)
        assert llm.invoke("hi", max_tokens=2).text
    assert requests[0].headers["x-api-key"] == SECRET and requests[0].url.path == "/v1/messages"


def test_defaults() -> None:
    llm = get_model("anthropic")
    assert llm.base_url == "https://api.anthropic.com" and llm.model == "claude-sonnet-4-5"  # type: ignore[attr-defined]


@pytest.mark.asyncio
@pytest.mark.parametrize("helper", [False, True], ids=["break", "break in a helper generator"])
async def test_leaving_an_async_stream_early_closes_it_quietly(slow_llm_server: Any, helper: bool) -> None:
    name = f"ngram-anthropic-leave-{helper}"
    await assert_leaving_an_async_stream_early_is_quiet(model_for(slow_llm_server, name), slow_llm_server, name, helper)


def test_stopping_early_closes_the_connection(slow_llm_server: BackgroundServer) -> None:
    name = "ngram-anthropic-stop"
    assert_stopping_early_closes_the_connection(model_for(slow_llm_server, name), slow_llm_server, name)


# -- status ------------------------------------------------------------------------------------------


def test_status_of_a_local_server(llm_server: BackgroundServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", llm_server.url)
    status = AnthropicModel.status()
    assert status.configured and status.models == ["ngram"] and status.error is None
    assert "no key" in status.detail
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    status = AnthropicModel.status(list_models=False)
    assert "key set" in status.detail and SECRET not in repr(status) and status.models == []


def test_status_lists_the_models_of_a_server_that_requires_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The key goes as `x-api-key` to `GET /v1/models`, as the SDK sends it; the SDK lists them too."""
    with BackgroundServer(fast=True, api_key=SECRET) as server:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
        status = AnthropicModel.status()
        client = anthropic.Anthropic(base_url=server.url, api_key=SECRET, max_retries=0)
        listed = [model.id for model in client.models.list().data]
        client.close()
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-WRONG987654")
        refused = AnthropicModel.status()
    assert status.configured and status.models == ["ngram"] and status.error is None and listed == ["ngram"]
    assert refused.models == [] and "HTTP 401" in (refused.error or "") and SECRET not in (refused.error or "")


def test_status_without_key_for_the_real_api_asks_for_one() -> None:
    status = AnthropicModel.status()
    assert not status.configured and "ANTHROPIC_API_KEY" in status.detail and status.models == []


# -- the server's /v1/messages on the wire -------------------------------------------------------------


def post(server: BackgroundServer, body: dict[str, Any], **headers: str) -> httpx.Response:
    request = {"model": "ngram", "max_tokens": 20, "messages": [{"role": "user", "content": TRAINS}], **body}
    return httpx.post(f"{server.url}/v1/messages", json=request, headers={**VERSION, **headers}, timeout=10)


def events(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    blocks = [block.split("\n") for block in response.text.split("\n\n") if block]
    return [(name.removeprefix("event: "), json.loads(data.removeprefix("data: "))) for name, data in blocks]


def test_event_framing(llm_server: BackgroundServer) -> None:
    response = post(llm_server, {"stream": True, "seed": 4})
    assert response.headers["content-type"].startswith("text/event-stream")
    stream = events(response)
    assert all(name == payload["type"] for name, payload in stream)
    names = [name for name, _ in stream]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(names[3:-3]) == {"content_block_delta"}
    text = "".join(p["delta"]["text"] for n, p in stream if n == "content_block_delta")
    assert text == demo().invoke(TRAINS, seed=4, max_tokens=20).text
    assert stream[-2][1]["delta"]["stop_reason"] == "max_tokens" and stream[-2][1]["usage"]["output_tokens"] == 20


def test_whole_message(llm_server: BackgroundServer) -> None:
    message = post(llm_server, {"seed": 4, "max_tokens": 400}).json()
    assert set(message) == {"id", "type", "role", "content", "model", "stop_reason", "stop_sequence", "usage"}
    assert message["id"].startswith("msg_") and (message["type"], message["role"]) == ("message", "assistant")
    assert message["content"] == [{"type": "text", "text": demo().invoke(TRAINS, seed=4, max_tokens=400).text}]
    assert message["stop_reason"] == "end_turn" and message["stop_sequence"] is None
    assert set(message["usage"]) == {"input_tokens", "output_tokens"}


def test_whole_message_with_thinking(llm_server: BackgroundServer) -> None:
    thinking = {"type": "enabled", "budget_tokens": 1024}
    message = post(llm_server, {"seed": 3, "max_tokens": 2048, "thinking": thinking}).json()
    thought = demo().invoke(thinking_prompt(TRAINS), **thinking_options({"seed": 3}, THINKING_TOKENS))
    answer = demo().invoke(TRAINS, seed=3, max_tokens=2048 - THINKING_TOKENS)
    assert [block["type"] for block in message["content"]] == ["thinking", "text"]
    assert message["content"][0]["thinking"] == thought.text and message["content"][0]["signature"]
    assert message["content"][1]["text"] == answer.text
    assert message["usage"]["output_tokens"] == thought.usage.completion_tokens + answer.usage.completion_tokens


@pytest.mark.parametrize(
    ("body", "headers", "status", "kind", "message"),
    [
        ({"max_tokens": None}, VERSION, 400, "invalid_request_error", "max_tokens: Field required"),
        ({"temperature": 1.5}, VERSION, 400, "invalid_request_error", "temperature: range: 0..1, got 1.5"),
        ({"model": "claude-x"}, VERSION, 404, "not_found_error", "model: claude-x"),
        ({}, {"anthropic-version": ""}, 400, "invalid_request_error", "anthropic-version: header is required"),
        ({"model": "ngram+status=529"}, VERSION, 529, "overloaded_error", "Overloaded"),
        ({"model": "ngram+error_after=1"}, VERSION, 500, "api_error", "Internal server error"),
    ],
)
def test_errors_in_anthropics_shape(
    llm_server: BackgroundServer, body: dict[str, Any], headers: dict[str, str], status: int, kind: str, message: str
) -> None:
    request = {"model": "ngram", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}
    request.update(body)
    request = {k: v for k, v in request.items() if v is not None}
    response = httpx.post(f"{llm_server.url}/v1/messages", json=request, headers=headers, timeout=10)
    assert response.status_code == status
    assert response.json() == {"type": "error", "error": {"type": kind, "message": message}}


# -- the official anthropic SDK ------------------------------------------------------------------------


@pytest.fixture
def sdk(llm_server: BackgroundServer) -> Any:
    client = anthropic.Anthropic(base_url=llm_server.url, api_key="test", max_retries=0)
    yield client
    client.close()


def test_sdk_gets_the_same_text_as_ours(llm_server: BackgroundServer, sdk: Any) -> None:
    request = {"model": "ngram", "max_tokens": 50, "messages": [{"role": "user", "content": SONG}]}
    with sdk.messages.stream(**request, extra_body={"seed": 21}) as stream:
        streamed = "".join(stream.text_stream)
        final = stream.get_final_message()
    events = sdk.messages.create(**request, stream=True, extra_body={"seed": 21})
    raw = "".join(e.delta.text for e in events if e.type == "content_block_delta" and e.delta.type == "text_delta")
    whole = sdk.messages.create(**request, extra_body={"seed": 21})
    with model_for(llm_server) as llm:
        ours = llm.invoke(SONG, **seeded(21, max_tokens=50))
    assert streamed == raw == whole.content[0].text == ours.text
    assert (final.usage.input_tokens, final.usage.output_tokens) == (
        ours.usage.prompt_tokens,
        ours.usage.completion_tokens,
    )


def test_sdk_reads_thinking_blocks(llm_server: BackgroundServer, sdk: Any) -> None:
    request = {"model": "ngram", "max_tokens": 2048, "messages": [{"role": "user", "content": TRAINS}]}
    thinking = {"type": "enabled", "budget_tokens": 1024}
    with sdk.messages.stream(**request, thinking=thinking, extra_body={"seed": 3}) as stream:
        final = stream.get_final_message()
    with model_for(llm_server) as llm:
        ours = llm.invoke(TRAINS, thinking=thinking, **seeded(3))
    assert [block.type for block in final.content] == ["thinking", "text"]
    assert final.content[0].thinking == ours.reasoning and final.content[0].signature
    assert final.content[1].text == ours.text


@pytest.mark.parametrize(
    ("fault", "error"),
    [("status=529", anthropic.InternalServerError), ("error_after=3", anthropic.APIStatusError)],
)
def test_sdk_sees_faults_as_its_own_errors(sdk: Any, fault: str, error: type[Exception]) -> None:
    request = {"model": f"ngram+{fault}", "max_tokens": 30, "messages": [{"role": "user", "content": "hi"}]}
    with pytest.raises(error, match="overloaded_error"), sdk.messages.stream(**request) as stream:
        stream.until_done()


# -- the wire parser alone ------------------------------------------------------------------------------


def sse(*payloads: dict[str, Any]) -> bytes:
    return "".join(f"event: {p['type']}\ndata: {json.dumps(p)}\n\n" for p in payloads).encode()


def delta(kind: str, **fields: str) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": 0, "delta": {"type": kind, **fields}}


def test_parser_keeps_reasoning_apart_and_ignores_what_it_does_not_use() -> None:
    pieces = wire.decode_stream(
        [
            sse(
                {"type": "message_start", "message": {"usage": {"input_tokens": 3, "output_tokens": 1}}},
                {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}},
                delta("thinking_delta", thinking="hmm"),
                delta("signature_delta", signature="c2ln"),
                {"type": "content_block_stop", "index": 0},
                {"type": "some_future_event", "x": 1},
                delta("text_delta", text="Hi"),
                delta("citations_delta", citation="x"),
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "stop_sequence", "stop_sequence": "!"},
                    "usage": {"output_tokens": 9},
                },
                {"type": "message_stop"},
            )
        ]
    )
    chunks = [(p.kind, p.text, p.finish_reason) for p in pieces if isinstance(p, Chunk)]
    assert chunks == [(TEXT, "", None), (REASONING, "hmm", None), (TEXT, "Hi", None), (TEXT, "", "stop")]


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "refusal"),
    ],
)
def test_stop_reasons(stop_reason: str, finish: str) -> None:
    parser = wire.EventParser()
    parser.feed(json.dumps({"type": "message_delta", "delta": {"stop_reason": stop_reason}, "usage": {}}))
    assert (parser.finish_reason, parser.stop_reason) == (finish, stop_reason)


def test_parser_errors() -> None:
    with pytest.raises(InterruptedStreamError, match="without message_stop"):
        wire.decode_stream([sse(delta("text_delta", text="a"))])
    with pytest.raises(MalformedStreamError, match="not an event of the Anthropic"):
        wire.decode_stream([sse({"type": "content_block_delta", "delta": "text"})])
    error = {"type": "error", "error": {"type": "api_error", "message": f"bad key {SECRET}"}}
    with pytest.raises(ProviderStreamError) as info:
        wire.decode_stream([sse(error)])
    assert "api_error: bad key" in str(info.value) and SECRET not in str(info.value)
