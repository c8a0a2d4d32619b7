"""The `gemini` provider and the server's `/v1beta/models/*`, over real loopback HTTP (no mocks of httpx).

Gemini takes a `seed` in `generationConfig`, and our server's demo model samples with it exactly as
`get_model("demo")` does, so "the same text" is a real comparison. Google-specific answers the demo server
cannot give (a blocked prompt, an answer stopped by the safety filters) come from a canned loopback server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from provider_contract import (
    SONG,
    assert_async_fault_keeps_the_partial_text,
    assert_clean_message,
    assert_fault_keeps_the_partial_text,
    assert_leaving_an_async_stream_early_is_quiet,
    assert_stopping_early_closes_the_connection,
    clear_env,
    demo,
    each_stream_fault,
    partial,
    record_sleeps,
    requests_for,
    sent,
)

from llmstream_nb import (
    BadRequestError,
    ConfigurationError,
    NotFoundError,
    PermissionDeniedError,
    ProviderStreamError,
    RateLimitError,
    ServerError,
    get_model,
)
from llmstream_nb.chunks import REASONING, Usage
from llmstream_nb.providers.gemini import GeminiModel
from llmstream_nb.server import BackgroundServer
from llmstream_nb.server.thinking import THINKING_TOKENS, thinking_options, thinking_prompt

SECRET = "AIzaSyTEST-secret-key-0123456789abcdefg"
TRAINS = "Tell me about trains"

no_gemini_env = clear_env("GEMINI_API_KEY", "GOOGLE_API_KEY", "GEMINI_BASE_URL")


def model_for(server: BackgroundServer, spec: str = "ngram", **options: Any) -> GeminiModel:
    model = get_model(f"gemini:{spec}", base_url=server.url, **options)
    assert isinstance(model, GeminiModel)
    return model


# -- the same answer as the demo model ------------------------------------------------------------


def test_stream_and_invoke_give_the_demo_text(llm_server: BackgroundServer) -> None:
    expected = demo().invoke(SONG, seed=11, max_tokens=40)
    with model_for(llm_server) as llm:
        stream = llm.stream(SONG, seed=11, max_tokens=40)
        chunks = list(stream)
        whole = llm.invoke(SONG, seed=11, max_tokens=40)
    assert stream.text == whole.text == expected.text
    assert [c.text for c in chunks] == [c.text for c in expected.chunks]  # "" first, one chunk per token, "" last
    assert stream.finish_reason == whole.finish_reason == expected.finish_reason == "length"
    assert whole.usage.to_dict() == expected.usage.to_dict()
    assert whole.streamed and whole.model == "gemini:ngram" and whole.reasoning == ""


def test_greedy_needs_no_seed(llm_server: BackgroundServer) -> None:
    with model_for(llm_server, temperature=0) as llm:
        assert llm.invoke(TRAINS, max_tokens=30).text == demo().invoke(TRAINS, temperature=0, max_tokens=30).text


@pytest.mark.asyncio
async def test_async_stream_gives_the_same_text(llm_server: BackgroundServer) -> None:
    llm = model_for(llm_server)
    answer = await llm.ainvoke(TRAINS, seed=5, max_tokens=30)
    assert answer.text == demo().invoke(TRAINS, seed=5, max_tokens=30).text
    assert answer.usage.completion_tokens == 30 and answer.finish_reason == "length"
    await llm.aclose()


def test_options_reach_the_wire(llm_server: BackgroundServer) -> None:
    options = {"max_tokens": 40, "temperature": 0.3, "stop": [","], "system": "Be brief.", "seed": 2}
    with model_for(llm_server) as llm:
        requests = sent(llm)
        answer = llm.invoke(SONG, top_k=5, **options)
    assert answer.text == demo().invoke(SONG, top_k=5, **options).text
    assert requests[0].url.path == "/v1beta/models/ngram:streamGenerateContent"
    assert requests[0].url.query == b"alt=sse"
    assert json.loads(requests[0].content) == {
        "contents": [{"role": "user", "parts": [{"text": SONG}]}],
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "generationConfig": {
            "temperature": 0.3,
            "maxOutputTokens": 40,
            "stopSequences": [","],
            "seed": 2,
            "topK": 5,
        },
    }
    assert "x-goog-api-key" not in requests[0].headers  # no key set, none sent


def test_a_conversation_keeps_its_turns_and_extra_body_is_sent(llm_server: BackgroundServer) -> None:
    conversation = [("system", "Be kind."), ("human", "hi"), ("ai", "Hello!"), ("human", TRAINS)]
    safety = [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]
    with model_for(llm_server) as llm:
        requests = sent(llm)
        assert llm.invoke(conversation, seed=1, max_tokens=5, extra_body={"safetySettings": safety}).text
    body = json.loads(requests[0].content)
    assert [c["role"] for c in body["contents"]] == ["user", "model", "user"]
    assert body["systemInstruction"] == {"parts": [{"text": "Be kind."}]} and body["safetySettings"] == safety


def test_a_model_name_as_the_api_lists_it(llm_server: BackgroundServer) -> None:
    with model_for(llm_server, "models/ngram") as llm:
        requests = sent(llm)
        assert llm.invoke("hi", seed=1, max_tokens=3).text == demo().invoke("hi", seed=1, max_tokens=3).text
    assert requests[0].url.path == "/v1beta/models/ngram:streamGenerateContent"


# -- logprobs and thinking ------------------------------------------------------------------------------


def test_logprobs_match_the_demo(llm_server: BackgroundServer) -> None:
    options = {"seed": 3, "max_tokens": 10, "logprobs": True, "top_logprobs": 2}
    with model_for(llm_server) as llm:
        requests = sent(llm)
        ours = [c for c in llm.stream(TRAINS, **options) if c.text]
    theirs = [c for c in demo().stream(TRAINS, **options) if c.text]
    config = json.loads(requests[0].content)["generationConfig"]
    assert config["responseLogprobs"] is True and config["logprobs"] == 2
    assert [c.text for c in ours] == [c.text for c in theirs]
    assert [c.logprob for c in ours] == pytest.approx([c.logprob for c in theirs])
    assert [c.top_logprobs for c in ours] == [c.top_logprobs for c in theirs]


@pytest.mark.parametrize("top", [-1, 21, True, "2"])
def test_top_logprobs_out_of_geminis_range_is_refused_before_any_request(top: Any) -> None:
    llm = get_model("gemini:x", base_url="http://127.0.0.1:9")
    with pytest.raises(ConfigurationError, match=r"top_logprobs must be a whole number from 0 to (20|100)"):
        llm.stream("hi", top_logprobs=top)


def test_thoughts_arrive_as_reasoning_apart_from_the_answer(llm_server: BackgroundServer) -> None:
    with model_for(llm_server) as llm:
        requests = sent(llm)
        stream = llm.stream(TRAINS, seed=3, max_tokens=20, thinking_budget=1024)
        chunks = list(stream)
    assert json.loads(requests[0].content)["generationConfig"]["thinkingConfig"] == {
        "thinkingBudget": 1024,
        "includeThoughts": True,
    }
    expected = demo().invoke(TRAINS, seed=3, max_tokens=20)
    thought = demo().invoke(thinking_prompt(TRAINS), **thinking_options({"seed": 3}, THINKING_TOKENS))
    kinds = [c.kind for c in chunks if c.text]
    assert kinds == sorted(kinds, key=lambda kind: kind != REASONING) and REASONING in kinds  # thoughts first
    assert stream.reasoning == thought.text and stream.text == expected.text
    assert stream.usage.completion_tokens == expected.usage.completion_tokens + thought.usage.completion_tokens


def test_a_budget_of_zero_turns_thinking_off(llm_server: BackgroundServer) -> None:
    with model_for(llm_server) as llm:
        requests = sent(llm)
        answer = llm.invoke(TRAINS, seed=3, max_tokens=5, thinking_budget=0)
    assert json.loads(requests[0].content)["generationConfig"]["thinkingConfig"] == {
        "thinkingBudget": 0,
        "includeThoughts": False,
    }
    assert answer.reasoning == "" and answer.text == demo().invoke(TRAINS, seed=3, max_tokens=5).text


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"thinking_budget": -2}, "thinking_budget must be a whole number"),
        ({"thinking_budget": 1.5}, "thinking_budget must be a whole number"),
        ({"include_thoughts": "yes"}, "include_thoughts must be True or False"),
        ({"base_url": "localhost:8000"}, "http:// or https://"),
        ({"timeout": 0}, "more than 0"),
        ({"api_kye": "x"}, "Did you mean 'api_key'"),
    ],
)
def test_configuration_errors(options: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        get_model("gemini:x", **options)


# -- every fault mode --------------------------------------------------------------------------------


@each_stream_fault
def test_stream_faults_keep_exactly_the_partial_text(
    llm_server: BackgroundServer, fault: str, kind: type[Exception], tokens: int, options: dict[str, Any]
) -> None:
    with model_for(llm_server, f"ngram+{fault}", api_key=SECRET, **options) as llm:
        stream = llm.stream(SONG, seed=7, max_tokens=60)
        assert_fault_keeps_the_partial_text(stream, kind, tokens, llm_server, SECRET, "gemini")


@pytest.mark.asyncio
@each_stream_fault
async def test_stream_faults_async(
    llm_server: BackgroundServer, fault: str, kind: type[Exception], tokens: int, options: dict[str, Any]
) -> None:
    llm = model_for(llm_server, f"ngram+{fault}", api_key=SECRET, **options)
    await assert_async_fault_keeps_the_partial_text(
        llm.astream(SONG, seed=7, max_tokens=60), kind, tokens, llm_server, SECRET, "gemini"
    )
    await llm.aclose()


def test_an_error_event_says_googles_status_word(llm_server: BackgroundServer) -> None:
    with model_for(llm_server, "ngram+error_after=2") as llm, pytest.raises(ProviderStreamError) as info:
        llm.invoke(SONG, seed=7)
    assert "HTTP 503: UNAVAILABLE: The model is overloaded" in str(info.value) and info.value.status == 503


STATUS_FAULTS = [
    (400, BadRequestError, "Request contains an invalid argument."),
    (403, PermissionDeniedError, "Method doesn't allow unregistered callers"),
    (404, NotFoundError, "models/ngram is not found for API version v1beta"),
    (429, RateLimitError, "You exceeded your current quota"),
    (500, ServerError, "An internal error has occurred"),
    (503, ServerError, "The model is overloaded"),
]


@pytest.mark.parametrize(("status", "kind", "message"), STATUS_FAULTS)
def test_status_faults_say_googles_own_message(
    llm_server: BackgroundServer, status: int, kind: type[Exception], message: str
) -> None:
    llm = model_for(llm_server, f"ngram+status={status}", api_key=SECRET, max_retries=0)
    with llm, pytest.raises(kind) as info:
        llm.invoke(SONG)
    assert f"HTTP {status}: {message}" in str(info.value)
    assert info.value.partial_text == ""  # type: ignore[attr-defined]
    assert_clean_message(info.value, llm_server, SECRET, "gemini")


def test_an_unknown_model_is_not_found_in_googles_words(llm_server: BackgroundServer) -> None:
    with model_for(llm_server, "gemini-9-ultra", max_retries=0) as llm, pytest.raises(NotFoundError) as info:
        llm.invoke("hi")
    assert "models/gemini-9-ultra is not found" in str(info.value) and "check the model name" in str(info.value)


def test_retries_then_success(llm_server: BackgroundServer) -> None:
    spec = "ngram-gemini-retry+status=503,times=2,retry_after=1"  # its own spec: counters are per spec
    with model_for(llm_server, spec) as llm:
        delays = record_sleeps(llm)
        assert llm.invoke(SONG, seed=7, max_tokens=10).text == partial(10)
    assert len(requests_for(llm_server, spec)) == 3
    assert delays == [1.0, 1.0]  # the server's Retry-After, honoured exactly


@pytest.mark.asyncio
async def test_retries_async(llm_server: BackgroundServer) -> None:
    llm = model_for(llm_server, "ngram-gemini-aretry+status=429,times=1,retry_after=1")
    delays = record_sleeps(llm)
    assert (await llm.ainvoke(SONG, seed=7, max_tokens=10)).text == partial(10)
    assert delays == [1.0]
    await llm.aclose()


# -- the key -------------------------------------------------------------------------------------------


def test_a_server_that_requires_a_key(caplog: pytest.LogCaptureFixture) -> None:
    """No key is a 403 and a wrong one a 400, as Google answers; the right one is sent as `x-goog-api-key`,
    and it appears in no URL, no log line, no error, no repr, and not in the server's request log."""
    caplog.set_level(logging.DEBUG)
    with BackgroundServer(fast=True, api_key=SECRET) as server:
        with model_for(server, max_retries=0) as llm, pytest.raises(PermissionDeniedError) as info:
            llm.invoke("hi", max_tokens=2)
        assert "no API key was sent; set GEMINI_API_KEY" in str(info.value)
        wrong = "AIzaSyWRONG-key-98765432109876543210"
        with model_for(server, api_key=wrong, max_retries=0) as llm, pytest.raises(BadRequestError) as bad:
            llm.invoke("hi", max_tokens=2)
        assert "API key not valid" in str(bad.value) and wrong not in str(bad.value)
        with model_for(server, api_key=SECRET) as llm:
            requests = sent(llm)
            assert llm.invoke("hi", max_tokens=2).text
            assert SECRET not in repr(llm)
        server_log = json.dumps(server.requests())
    assert requests[0].headers["x-goog-api-key"] == SECRET and "authorization" not in requests[0].headers
    assert SECRET not in str(requests[0].url) and "key=" not in str(requests[0].url)
    assert SECRET not in caplog.text and SECRET not in server_log


def test_status_lists_the_models_of_a_server_that_requires_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    with BackgroundServer(fast=True, api_key=SECRET) as server:
        monkeypatch.setenv("GEMINI_BASE_URL", server.url)
        monkeypatch.setenv("GEMINI_API_KEY", SECRET)
        listed = GeminiModel.status()
        monkeypatch.setenv("GEMINI_API_KEY", "AIzaSyWRONG-key-98765432109876543210")
        refused = GeminiModel.status()
    assert listed.configured and listed.models == ["ngram"] and listed.error is None
    assert "key set" in listed.detail and SECRET not in repr(listed)
    assert refused.models == [] and "HTTP 400: API key not valid" in (refused.error or "")


@pytest.mark.parametrize("env", ["GEMINI_API_KEY", "GOOGLE_API_KEY"])
def test_key_and_url_from_the_environment(
    llm_server: BackgroundServer, monkeypatch: pytest.MonkeyPatch, env: str
) -> None:
    monkeypatch.setenv(env, SECRET)
    monkeypatch.setenv("GEMINI_BASE_URL", llm_server.url + "/v1beta")  # the versioned URL works as well as the root
    with get_model("gemini:ngram") as llm:
        requests = sent(llm)
        assert llm.invoke("hi", max_tokens=2).text
    assert requests[0].headers["x-goog-api-key"] == SECRET
    assert requests[0].url.path == "/v1beta/models/ngram:streamGenerateContent"


def test_gemini_api_key_wins_over_google_api_key(monkeypatch: pytest.MonkeyPatch, llm_server: BackgroundServer) -> None:
    monkeypatch.setenv("GOOGLE_API_KEY", "AIzaSyOLDER-key-000000000000000000000")
    monkeypatch.setenv("GEMINI_API_KEY", SECRET)
    with model_for(llm_server) as llm:
        requests = sent(llm)
        llm.invoke("hi", max_tokens=1)
    assert requests[0].headers["x-goog-api-key"] == SECRET


def test_defaults_and_status_without_a_key() -> None:
    llm = get_model("gemini")
    assert isinstance(llm, GeminiModel)
    assert llm.base_url == "https://generativelanguage.googleapis.com" and llm.model == "gemini-2.5-flash"
    status = GeminiModel.status()
    assert not status.configured and "GEMINI_API_KEY" in status.detail and status.models == []


def test_status_of_a_local_server(llm_server: BackgroundServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMINI_BASE_URL", llm_server.url)
    status = GeminiModel.status()
    assert status.configured and status.models == ["ngram"] and status.error is None and "no key" in status.detail


# -- leaving early -------------------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("helper", [False, True], ids=["break", "break in a helper generator"])
async def test_leaving_an_async_stream_early_closes_it_quietly(slow_llm_server: Any, helper: bool) -> None:
    name = f"ngram-gemini-leave-{helper}"
    await assert_leaving_an_async_stream_early_is_quiet(model_for(slow_llm_server, name), slow_llm_server, name, helper)


def test_stopping_early_closes_the_connection(slow_llm_server: BackgroundServer) -> None:
    name = "ngram-gemini-stop"
    assert_stopping_early_closes_the_connection(model_for(slow_llm_server, name), slow_llm_server, name)


# -- what only Google sends: blocked prompts and answers, from a canned loopback server --------------------


@contextmanager
def canned_server(body: bytes, content_type: str = "text/event-stream") -> Iterator[str]:
    """A loopback HTTP server that answers every POST with `body` whole: a recorded Gemini answer."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server's name for it
            self.rfile.read(int(self.headers.get("content-length") or 0))
            self.send_response(200)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def sse(*payloads: dict[str, Any]) -> bytes:
    return "".join(f"data: {json.dumps(p)}\r\n\r\n" for p in payloads).encode()


def text_event(text: str, finish: str | None = None, **candidate: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"content": {"parts": [{"text": text}], "role": "model"}, "index": 0, **candidate}
    if finish:
        body["finishReason"] = finish
    return {"candidates": [body], "modelVersion": "gemini-2.5-flash"}


def test_an_answer_stopped_by_the_safety_filters_keeps_its_text() -> None:
    body = sse(text_event("Here is how"), text_event(" you", "SAFETY", safetyRatings=[]))
    with canned_server(body) as url, get_model("gemini:gemini-2.5-flash", base_url=url, api_key=SECRET) as llm:
        stream = llm.stream("something risky")
        with pytest.raises(ProviderStreamError) as info:
            for _ in stream:
                pass
    assert info.value.partial_text == stream.text == "Here is how you"
    assert "stopped by Google's safety filters, SAFETY (safetySettings, passed with extra_body=" in str(info.value)
    assert SECRET not in str(info.value)


def test_a_blocked_prompt_is_an_error_that_says_why() -> None:
    body = sse({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}, "usageMetadata": {"promptTokenCount": 9}})
    blocked = pytest.raises(ProviderStreamError, match=r"the prompt was blocked .*PROHIBITED_CONTENT")
    with canned_server(body) as url, get_model("gemini:gemini-2.5-flash", base_url=url) as llm, blocked:
        llm.invoke("something prohibited")


def test_an_error_event_before_any_text() -> None:
    """Google's error object as the only event after a 200: its status word, message and code."""
    body = json.dumps(
        {"error": {"code": 429, "message": "Resource has been exhausted", "status": "RESOURCE_EXHAUSTED"}}
    )
    failing = pytest.raises(ProviderStreamError, match="RESOURCE_EXHAUSTED: Resource has been exhausted")
    body_bytes = ("data: " + body + "\r\n\r\n").encode()
    with canned_server(body_bytes) as url, get_model("gemini:x", base_url=url) as llm, failing as info:
        llm.invoke("hi")
    assert info.value.status == 429


# -- the server's /v1beta on the wire ---------------------------------------------------------------------


def post(server: BackgroundServer, method: str, body: dict[str, Any], model: str = "ngram") -> httpx.Response:
    request = {"contents": [{"role": "user", "parts": [{"text": TRAINS}]}], **body}
    suffix = "?alt=sse" if method == "streamGenerateContent" else ""
    return httpx.post(f"{server.url}/v1beta/models/{model}:{method}{suffix}", json=request, timeout=10)


def test_event_framing(llm_server: BackgroundServer) -> None:
    response = post(llm_server, "streamGenerateContent", {"generationConfig": {"seed": 4, "maxOutputTokens": 20}})
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.text.endswith("\r\n\r\n")
    events = [json.loads(block.removeprefix("data: ")) for block in response.text.split("\r\n\r\n") if block]
    assert all(set(e) >= {"candidates", "modelVersion", "responseId"} for e in events)
    assert len({e["responseId"] for e in events}) == 1
    text = "".join(part["text"] for e in events for part in e["candidates"][0]["content"]["parts"])
    assert text == demo().invoke(TRAINS, seed=4, max_tokens=20).text
    assert [e["candidates"][0].get("finishReason") for e in events][-2:] == [None, "MAX_TOKENS"]
    usage = events[-1]["usageMetadata"]
    assert usage["candidatesTokenCount"] == 20 and usage["totalTokenCount"] == usage["promptTokenCount"] + 20


def test_whole_response(llm_server: BackgroundServer) -> None:
    answer = post(llm_server, "generateContent", {"generation_config": {"seed": 4, "max_output_tokens": 400}}).json()
    assert set(answer) == {"candidates", "usageMetadata", "modelVersion", "responseId"}
    candidate = answer["candidates"][0]
    assert candidate["content"] == {
        "parts": [{"text": demo().invoke(TRAINS, seed=4, max_tokens=400).text}],
        "role": "model",
    }
    assert candidate["finishReason"] == "STOP" and candidate["index"] == 0


def test_whole_response_with_thoughts_and_logprobs(llm_server: BackgroundServer) -> None:
    config = {
        "seed": 3,
        "maxOutputTokens": 6,
        "responseLogprobs": True,
        "logprobs": 2,
        "thinkingConfig": {"includeThoughts": True, "thinkingBudget": -1},
    }
    candidate = post(llm_server, "generateContent", {"generationConfig": config}).json()["candidates"][0]
    thought = demo().invoke(thinking_prompt(TRAINS), **thinking_options({"seed": 3}, THINKING_TOKENS))
    answer = demo().invoke(TRAINS, seed=3, max_tokens=6, logprobs=True, top_logprobs=2)
    assert candidate["content"]["parts"] == [{"text": thought.text, "thought": True}, {"text": answer.text}]
    chosen = candidate["logprobsResult"]["chosenCandidates"]
    assert [c["token"] for c in chosen] == [c.text for c in answer.chunks if c.text]
    assert candidate["avgLogprobs"] == pytest.approx(sum(c["logProbability"] for c in chosen) / len(chosen))
    assert all(len(top["candidates"]) == 2 for top in candidate["logprobsResult"]["topCandidates"])


def test_model_list_and_one_model(llm_server: BackgroundServer) -> None:
    listed = httpx.get(f"{llm_server.url}/v1beta/models", timeout=10).json()
    assert [m["name"] for m in listed["models"]] == ["models/ngram"]
    assert "generateContent" in listed["models"][0]["supportedGenerationMethods"]
    assert httpx.get(f"{llm_server.url}/v1beta/models/ngram", timeout=10).json()["name"] == "models/ngram"
    missing = httpx.get(f"{llm_server.url}/v1beta/models/gemini-9", timeout=10)
    assert missing.status_code == 404 and missing.json()["error"]["status"] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("method", "body", "model", "status", "word", "message"),
    [
        ("generateContent", {"contents": []}, "ngram", 400, "INVALID_ARGUMENT", "contents is not specified"),
        (
            "generateContent",
            {"generationConfig": {"temperature": 3}},
            "ngram",
            400,
            "INVALID_ARGUMENT",
            "generation_config.temperature: must be in the range [0, 2]",
        ),
        (
            "generateContent",
            {"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]},
            "ngram",
            400,
            "INVALID_ARGUMENT",
            "Please use a valid role: user, model.",
        ),
        ("generateContent", {}, "gemini-9", 404, "NOT_FOUND", "models/gemini-9 is not found"),
        ("generateContent", {}, "ngram+status=429", 429, "RESOURCE_EXHAUSTED", "You exceeded your current quota"),
        ("generateContent", {}, "ngram+error_after=1", 500, "INTERNAL", "An internal error has occurred"),
    ],
)
def test_errors_in_googles_shape(
    llm_server: BackgroundServer, method: str, body: dict[str, Any], model: str, status: int, word: str, message: str
) -> None:
    response = post(llm_server, method, body, model)
    assert response.status_code == status
    error = response.json()["error"]
    assert set(error) == {"code", "message", "status"} and (error["code"], error["status"]) == (status, word)
    assert message in error["message"]


def test_a_stream_without_alt_sse_is_refused_clearly(llm_server: BackgroundServer) -> None:
    response = httpx.post(
        f"{llm_server.url}/v1beta/models/ngram:streamGenerateContent",
        json={"contents": [{"parts": [{"text": "hi"}]}]},
        timeout=10,
    )
    assert response.status_code == 400 and "?alt=sse" in response.json()["error"]["message"]


# -- the official google-genai SDK -------------------------------------------------------------------------


@pytest.fixture
def genai_client(llm_server: BackgroundServer) -> Any:
    """`google.genai.Client` pointed at the local server, without its own retries (a test-only dependency)."""
    genai = pytest.importorskip("google.genai")
    types = genai.types
    options = types.HttpOptions(base_url=llm_server.url, retry_options=types.HttpRetryOptions(attempts=1))
    client = genai.Client(api_key=SECRET, http_options=options)
    yield client
    client.close()


def test_sdk_gets_the_same_text_as_ours(llm_server: BackgroundServer, genai_client: Any) -> None:
    from google.genai import types

    config = types.GenerateContentConfig(seed=21, max_output_tokens=50, system_instruction="Be brief.")
    events = list(genai_client.models.generate_content_stream(model="ngram", contents=SONG, config=config))
    whole = genai_client.models.generate_content(model="ngram", contents=SONG, config=config)
    with model_for(llm_server) as llm:
        ours = llm.invoke(SONG, seed=21, max_tokens=50, system="Be brief.")
    assert "".join(e.text or "" for e in events) == whole.text == ours.text
    assert events[-1].candidates[0].finish_reason == types.FinishReason.MAX_TOKENS and ours.finish_reason == "length"
    usage = events[-1].usage_metadata
    assert (usage.prompt_token_count, usage.candidates_token_count) == (
        ours.usage.prompt_tokens,
        ours.usage.completion_tokens,
    )


def test_sdk_reads_thoughts_and_logprobs(llm_server: BackgroundServer, genai_client: Any) -> None:
    from google.genai import types

    thinking = types.ThinkingConfig(include_thoughts=True, thinking_budget=512)
    config = types.GenerateContentConfig(
        seed=3, max_output_tokens=8, thinking_config=thinking, response_logprobs=True, logprobs=2
    )
    answer = genai_client.models.generate_content(model="ngram", contents=TRAINS, config=config)
    with model_for(llm_server) as llm:
        ours = llm.invoke(TRAINS, seed=3, max_tokens=8, thinking_budget=512, top_logprobs=2)
    parts = answer.candidates[0].content.parts
    assert [(bool(p.thought), p.text) for p in parts] == [(True, ours.reasoning), (False, ours.text)]
    chosen = answer.candidates[0].logprobs_result.chosen_candidates
    assert [c.log_probability for c in chosen] == pytest.approx(
        [c.logprob for c in ours.chunks if c.text and c.kind != REASONING]
    )


def test_sdk_lists_the_models(llm_server: BackgroundServer) -> None:
    genai = pytest.importorskip("google.genai")
    options = genai.types.HttpOptions(base_url=llm_server.url, api_version="v1beta")
    with genai.Client(api_key=SECRET, http_options=options) as client:
        assert [model.name for model in client.models.list()] == ["models/ngram"]


@pytest.mark.parametrize(("fault", "code"), [("status=429", 429), ("error_after=3", 503), ("status=403", 403)])
def test_sdk_sees_faults_as_its_own_errors(genai_client: Any, fault: str, code: int) -> None:
    from google.genai import errors

    with pytest.raises(errors.APIError) as info:
        for _ in genai_client.models.generate_content_stream(model=f"ngram+{fault}", contents="hi"):
            pass
    assert info.value.code == code and info.value.message


def test_sdk_streams_are_sources_for_our_views(genai_client: Any) -> None:
    """`ChunkIterator` (what `show()` and `StreamView` read) over the SDK's stream: text, thoughts, usage, model."""
    from google.genai import types

    from llmstream_nb.sources import ChunkIterator

    thinking = types.ThinkingConfig(include_thoughts=True)
    config = types.GenerateContentConfig(seed=2, max_output_tokens=12, thinking_config=thinking)
    whole = genai_client.models.generate_content(model="ngram", contents=TRAINS, config=config)
    chunks = ChunkIterator(genai_client.models.generate_content_stream(model="ngram", contents=TRAINS, config=config))
    received = list(chunks)
    text = "".join(c.text for c in received if c.kind != REASONING)
    thoughts = "".join(c.text for c in received if c.kind == REASONING)
    assert text == whole.text and thoughts == whole.candidates[0].content.parts[0].text
    assert received[-1].finish_reason == "length"
    usage = whole.usage_metadata
    totals = (usage.prompt_token_count, usage.candidates_token_count + usage.thoughts_token_count)
    assert chunks.stamper.usage == Usage(*totals)
    assert chunks.stamper.model == "ngram"


@pytest.mark.parametrize("fault", ["drop_after=2", "stall_after=2,stall=0.2"])
def test_whole_response_faults_cut_the_body(llm_server: BackgroundServer, fault: str) -> None:
    """Not streaming, a drop or a stall sends half the JSON body, then drops the connection."""
    with pytest.raises(httpx.RemoteProtocolError):
        post(llm_server, "generateContent", {}, f"ngram+{fault}")


def test_whole_response_malformed_is_half_a_body(llm_server: BackgroundServer) -> None:
    response = post(llm_server, "generateContent", {"generationConfig": {"seed": 1}}, "ngram+malformed_after=1")
    assert response.status_code == 200 and response.text.startswith('{"candidates"')
    with pytest.raises(ValueError):
        response.json()


def test_sdk_async_streams_are_sources_too(llm_server: BackgroundServer) -> None:
    genai = pytest.importorskip("google.genai")
    from llmstream_nb.sources import AsyncChunkIterator

    async def main() -> str:
        options = genai.types.HttpOptions(base_url=llm_server.url)
        client = genai.Client(api_key=SECRET, http_options=options)
        config = genai.types.GenerateContentConfig(seed=8, max_output_tokens=10)
        stream = await client.aio.models.generate_content_stream(model="ngram", contents=TRAINS, config=config)
        chunks = AsyncChunkIterator(stream)
        try:
            return "".join([c.text async for c in chunks])
        finally:
            await chunks.aclose()
            await client.aio.aclose()

    assert asyncio.run(main()) == demo().invoke(TRAINS, seed=8, max_tokens=10).text
