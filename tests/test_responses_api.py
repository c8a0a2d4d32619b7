"""OpenAI's Responses API: wire bytes -> pieces, our client against the local server's `/v1/responses`,
the official `openai` SDK against the same server, and the fault table of every HTTP provider."""

from __future__ import annotations

import json
import warnings
from typing import Any

import openai
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from provider_contract import (
    SONG,
    assert_clean_message,
    clear_env,
    sent,
)
from wire import NEWLINES, fixture_wire, random_splits

from llmstream_nb import (
    ConfigurationError,
    InterruptedStreamError,
    MalformedStreamError,
    ProviderStreamError,
    RateLimitError,
    ServerError,
    get_model,
)
from llmstream_nb.chunks import REASONING, REFUSAL, TEXT, Chunk, Usage
from llmstream_nb.providers import _responses_wire as wire
from llmstream_nb.providers.openai import OpenAIModel

SECRET = "sk-test-SECRET654321"
FIXTURE = "openai-responses-reasoning-logprobs"
PROMPT = "Write me a 1 verse song about goldfish on the moon"

no_openai_env = clear_env("OPENAI_API_KEY", "OPENAI_BASE_URL")


def responses_model(server: Any, spec: str = "ngram", **options: Any) -> OpenAIModel:
    model = get_model(f"openai:{spec}", base_url=server.base_url, api="responses", **options)
    assert isinstance(model, OpenAIModel)
    return model


def texts(pieces: list[Any], kind: str = TEXT) -> str:
    return "".join(p.text for p in pieces if isinstance(p, Chunk) and p.kind == kind)


def events(*payloads: dict[str, Any]) -> bytes:
    return "".join(f"event: {p['type']}\ndata: {json.dumps(p)}\n\n" for p in payloads).encode()


def delta(text: Any) -> dict[str, Any]:
    return {"type": "response.output_text.delta", "item_id": "m", "output_index": 0, "content_index": 0, "delta": text}


def terminal(kind: str = "response.completed", **response: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "response": {"status": "completed", "usage": {"input_tokens": 2, "output_tokens": 3}, **response},
    }


# -- the wire, without HTTP ---------------------------------------------------------------------


@pytest.mark.parametrize("newline", NEWLINES, ids=["lf", "crlf", "cr"])
def test_fixture_decodes_text_reasoning_logprobs_and_usage(newline: str) -> None:
    pieces = wire.decode_stream([fixture_wire(FIXTURE, newline)])
    assert texts(pieces) == "2 + 2 = 4 ✓"
    assert texts(pieces, REASONING) == "**Adding numbers**\n\nTwo plus two."
    usage = [p for p in pieces if isinstance(p, Usage)]
    assert [(u.prompt_tokens, u.completion_tokens) for u in usage] == [(12, 40)]
    tokens = [p for p in pieces if isinstance(p, Chunk) and p.kind == TEXT and p.text]
    assert [c.logprob for c in tokens] == [-0.01, -0.2, -0.05, -2.5]
    assert tokens[1].top_logprobs == ((" + 2", -0.2), (" plus", -1.9)) and tokens[3].top_logprobs is None
    assert pieces[0] == "" and [p.finish_reason for p in pieces if isinstance(p, Chunk) and p.finish_reason] == ["stop"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(min_value=0, max_value=9000), max_size=60), newline=st.sampled_from(NEWLINES))
def test_fixture_decodes_the_same_under_random_splits(cuts: list[int], newline: str) -> None:
    data = fixture_wire(FIXTURE, newline)
    pieces = wire.decode_stream(random_splits(data, cuts))
    assert pieces == wire.decode_stream([data])
    assert texts(pieces) == "2 + 2 = 4 ✓"


def test_refusal_deltas_are_their_own_kind() -> None:
    refusal = {"type": "response.refusal.delta", "item_id": "m", "output_index": 0, "content_index": 0, "delta": "No."}
    pieces = wire.decode_stream([events(refusal, terminal())])
    assert texts(pieces, REFUSAL) == "No." and texts(pieces) == ""


def test_cut_by_max_output_tokens_is_finish_reason_length() -> None:
    end = terminal("response.incomplete", status="incomplete", incomplete_details={"reason": "max_output_tokens"})
    pieces = wire.decode_stream([events(delta("a"), end)])
    assert texts(pieces) == "a" and pieces[-2].finish_reason == "length"


@pytest.mark.parametrize(
    ("last", "message"),
    [
        (terminal("response.failed", status="failed", error={"code": "server_error", "message": "It broke."}),
         "server_error: It broke."),
        ({"type": "error", "code": "rate_limit_exceeded", "message": "Slow down.", "param": None},
         "rate_limit_exceeded: Slow down."),
        (terminal("response.incomplete", status="incomplete", incomplete_details={"reason": "content_filter"}),
         "incomplete: content_filter"),
    ],
    ids=["failed", "error", "content_filter"],
)  # fmt: skip
def test_failures_raise_provider_errors(last: dict[str, Any], message: str) -> None:
    with pytest.raises(ProviderStreamError, match=message):
        wire.decode_stream([events(delta("a"), last)])


def test_no_terminal_event_is_interrupted_and_bad_values_are_malformed() -> None:
    with pytest.raises(InterruptedStreamError, match="before response.completed"):
        wire.decode_stream([events(delta("a"))])
    with pytest.raises(MalformedStreamError, match="delta is int, not text"):
        wire.decode_stream([events(delta(5), terminal())])
    with pytest.raises(MalformedStreamError, match="not an event of the OpenAI Responses format"):
        wire.decode_stream([b'data: {"no": "type"}\n\n'])


def test_request_body_names_and_refusals() -> None:
    llm = get_model("openai:gpt-5-mini", api="responses", base_url="http://127.0.0.1:1/v1")
    request = llm._request("hi", {"max_tokens": 9, "top_logprobs": 2, "temperature": 0.5})
    body = wire.request_body("gpt-5-mini", request, stream=True)
    assert body == {
        "model": "gpt-5-mini",
        "input": [{"role": "user", "content": "hi"}],
        "stream": True,
        "temperature": 0.5,
        "max_output_tokens": 9,
        "include": ["message.output_text.logprobs"],
        "top_logprobs": 2,
    }
    with pytest.raises(ConfigurationError, match="takes no stop sequences"):
        llm.stream("hi", stop=["x"])
    with pytest.warns(UserWarning, match="takes no seed"):
        assert "seed" not in llm._body(llm._request("hi", {"seed": 3}), stream=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert llm._body(llm._request("hi", {"seed": 3, "extra_body": {"seed": 3}}), stream=True)["seed"] == 3


# -- against the local server -------------------------------------------------------------------


def test_streams_what_the_chat_route_says_for_the_same_seed(llm_server: Any) -> None:
    options = {"max_tokens": 30, "extra_body": {"seed": 5}}
    with get_model("openai:ngram", base_url=llm_server.base_url) as chat:
        expected = chat.invoke(PROMPT, seed=5, max_tokens=30)
    with responses_model(llm_server) as llm:
        seen = sent(llm)
        stream = llm.stream(PROMPT, **options)
        chunks = [c.text for c in stream]
        whole = llm._complete(llm._request(PROMPT, options))
    assert seen[0].url.path == "/v1/responses"
    assert stream.text == expected.text == whole.text and len(chunks) > 10
    assert stream.finish_reason == "length" == whole.finish_reason
    assert stream.usage.completion_tokens == 30 and stream.usage.prompt_tokens


@pytest.mark.asyncio
async def test_async_stream_and_logprobs(llm_server: Any) -> None:
    llm = responses_model(llm_server)
    stream = llm.astream(PROMPT, max_tokens=8, top_logprobs=2, extra_body={"seed": 5})
    chunks = [c async for c in stream if c.text]
    await llm.aclose()
    assert len(chunks) == 8 and all(c.logprob is not None and len(c.top_logprobs or ()) == 2 for c in chunks)


def test_reasoning_summary_streams_before_the_answer(llm_server: Any) -> None:
    with responses_model(llm_server) as llm:
        stream = llm.stream(PROMPT, max_tokens=10, extra_body={"seed": 2, "reasoning": {"summary": "auto"}})
        kinds = [c.kind for c in stream if c.text]
    assert stream.reasoning and stream.text and kinds.index(TEXT) > kinds.index(REASONING)
    assert REASONING not in kinds[kinds.index(TEXT) :]


def test_the_official_sdk_gets_the_same_text(llm_server: Any) -> None:
    """`responses.create(stream=True)`, `responses.stream(...)` and a whole response, for one request and seed."""
    seed = {"seed": 11}
    with responses_model(llm_server) as llm:
        ours = llm.invoke(PROMPT, max_tokens=400, extra_body=seed)
    client = openai.OpenAI(base_url=llm_server.base_url, api_key="unused")
    created = client.responses.create(model="ngram", input=PROMPT, max_output_tokens=400, stream=True, extra_body=seed)
    streamed = "".join(event.delta for event in created if event.type == "response.output_text.delta")
    with client.responses.stream(model="ngram", input=PROMPT, max_output_tokens=400, extra_body=seed) as stream:
        for _ in stream:
            pass
        final = stream.get_final_response()
    whole = client.responses.create(model="ngram", input=PROMPT, max_output_tokens=400, extra_body=seed)
    client.close()
    assert ours.finish_reason == "stop" and final.status == "completed"
    assert ours.text == streamed == final.output_text == whole.output_text
    assert final.usage is not None and final.usage.output_tokens == ours.usage.completion_tokens


def test_the_sdk_sees_the_failure_event_of_an_injected_error(llm_server: Any) -> None:
    client = openai.OpenAI(base_url=llm_server.base_url, api_key="unused")
    created = client.responses.create(model="ngram+error_after=2", input=SONG, stream=True)
    kinds = [event.type for event in created]
    client.close()
    assert kinds[-1] == "response.failed" and kinds.count("response.output_text.delta") == 2


# -- faults (the stream fault table runs in test_openai_provider.py with api='responses') ---------------


def test_status_faults_are_the_api_errors(llm_server: Any) -> None:
    llm = responses_model(llm_server, "ngram+status=429,retry_after=0", api_key=SECRET, max_retries=0)
    with llm, pytest.raises(RateLimitError) as info:
        llm.invoke(SONG)
    assert "HTTP 429" in str(info.value)
    assert_clean_message(info.value, llm_server, SECRET, "openai")


def test_whole_response_faults(llm_server: Any) -> None:
    llm = responses_model(llm_server, "ngram+error_after=3", max_retries=0)
    with llm, pytest.raises(ServerError, match="HTTP 500"):
        llm._complete(llm._request(SONG, {}))
