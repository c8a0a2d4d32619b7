"""The `ollama` provider and the server's Ollama routes, over real loopback HTTP (no mocks of httpx),
plus the NDJSON line splitter and the Ollama line parser on their own."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
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
)

from llmstream_nb import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    InterruptedStreamError,
    MalformedStreamError,
    NotFoundError,
    ProviderStreamError,
    RateLimitError,
    ServerError,
    get_model,
)
from llmstream_nb.chunks import REASONING, TEXT, Chunk, Completion, ProviderTimings, Usage
from llmstream_nb.http.client import LineSplitter
from llmstream_nb.models.base import Model
from llmstream_nb.options import Request
from llmstream_nb.providers._ollama_wire import LineParser, decode_lines, request_body
from llmstream_nb.providers.ollama import DEFAULT_HOST, OllamaModel, base_url_from
from llmstream_nb.server import BackgroundServer
from llmstream_nb.server.thinking import THINKING_TOKENS, thinking_options, thinking_prompt

SECRET = "sk-test-SECRET123456"
APIS = ["chat", "generate"]
STAT_KEYS = (
    "total_duration",
    "load_duration",
    "prompt_eval_count",
    "prompt_eval_duration",
    "eval_count",
    "eval_duration",
)


no_ollama_env = clear_env("OLLAMA_HOST", "OLLAMA_API_KEY")


def model_for(server: Any, spec: str = "ngram", **options: Any) -> OllamaModel:
    model = get_model(f"ollama:{spec}", host=server.url, **options)
    assert isinstance(model, OllamaModel)
    return model


def wait_for_outcome(server: Any, model: str, outcome: str, timeout: float = 5.0) -> dict[str, Any]:
    """The log record of `model`'s request once it has `outcome` (the server closes records after the last write)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for record in requests_for(server, model):
            if record["outcome"] == outcome:
                return record
        time.sleep(0.01)
    raise AssertionError(f"no {outcome} request for {model}: {requests_for(server, model)}")


def ndjson(server: Any, path: str, body: dict[str, Any], **kwargs: Any) -> list[dict[str, Any]]:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        response = http.post(path, json=body, **kwargs)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in response.text.split("\n") if line]


# -- the same answer as the demo model and the official client ------------------------------------


@pytest.mark.parametrize("api", APIS)
def test_same_text_usage_and_finish_as_the_demo(llm_server: Any, api: str) -> None:
    options = {"seed": 11, "max_tokens": 40}
    expected = demo().invoke(SONG, **options)
    with model_for(llm_server, api=api) as llm:
        answer = llm.invoke(SONG, **options)
    assert answer.text == expected.text and answer.finish_reason == expected.finish_reason == "length"
    assert answer.usage.to_dict() == expected.usage.to_dict()  # prompt_eval_count and eval_count
    assert answer.timings.chunks == expected.timings.chunks and answer.streamed
    assert answer.model == "ollama:ngram"


@pytest.mark.asyncio
@pytest.mark.parametrize("api", APIS)
async def test_async_stream_matches(llm_server: Any, api: str) -> None:
    llm = model_for(llm_server, api=api)
    chunks = [chunk async for chunk in llm.astream(SONG, seed=5, max_tokens=30)]
    expected = demo().invoke(SONG, seed=5, max_tokens=30)
    assert "".join(c.text for c in chunks) == expected.text
    assert chunks[-1].finish_reason == expected.finish_reason and all(c.kind == TEXT for c in chunks)
    await llm.aclose()


@pytest.mark.parametrize("api", APIS)
def test_options_reach_the_wire(llm_server: Any, api: str) -> None:
    """System prompt, temperature, stop and top_k: the answer is the demo's for the same options."""
    options = {"seed": 2, "max_tokens": 40, "temperature": 0.3, "stop": [","], "system": "Be brief.", "top_k": 5}
    with model_for(llm_server, api=api) as llm:
        assert llm.invoke(SONG, **options).text == demo().invoke(SONG, **options).text


def test_provider_timings_on_the_stream_and_the_completion(llm_server: Any) -> None:
    with model_for(llm_server) as llm:
        stream = llm.stream(SONG, seed=3, max_tokens=12)
        chunks = list(stream)
    timings = stream.provider_timings
    assert isinstance(timings, ProviderTimings) and stream.completion.provider_timings is timings
    assert timings.total is not None and timings.load is not None and timings.generation is not None
    assert timings.total >= timings.load + (timings.prompt or 0) + timings.generation
    assert timings.tokens_per_second is not None and timings.tokens_per_second > 0
    assert stream.completion.to_dict()["provider_timings"] == timings.to_dict()
    assert not any(isinstance(c, ProviderTimings) for c in chunks)  # kept on the stream, not among the chunks


def test_provider_timings_survive_the_one_chunk_fallback() -> None:
    """A provider that only answers whole keeps its timings through `invoke`'s stream."""

    class Whole(Model):
        provider = "whole"

        def _complete(self, request: Request) -> Completion:
            return Completion("hi", provider_timings=ProviderTimings(total=1.5))

    assert Whole().invoke("x").provider_timings == ProviderTimings(total=1.5)


def test_server_timings_are_measured_not_invented(slow_llm_server: Any) -> None:
    """At 50 tokens/s after a 0.05 s first token, the durations the server reports say so."""
    with model_for(slow_llm_server) as llm:
        answer = llm.invoke(SONG, seed=3, max_tokens=11)
    timings = answer.provider_timings
    assert timings is not None and timings.generation is not None and timings.prompt is not None
    assert timings.generation >= 0.15  # ten gaps of 0.02 s between the 11 tokens (more on a busy machine)
    assert timings.prompt >= 0.04
    assert timings.prompt + timings.generation <= answer.timings.elapsed  # measured inside our request
    assert timings.tokens_per_second == pytest.approx(11 / timings.generation)


def test_same_text_as_the_official_client(llm_server: Any) -> None:
    ollama = pytest.importorskip("ollama")
    client = ollama.Client(host=llm_server.url)
    options = {"seed": 21, "num_predict": 50}
    messages = [{"role": "user", "content": SONG}]
    chat = "".join(part.message.content or "" for part in client.chat("ngram", messages, stream=True, options=options))
    generated = "".join(part.response for part in client.generate("ngram", SONG, stream=True, options=options))
    whole = client.chat("ngram", messages, options=options)
    assert whole.done and whole.done_reason == "length" and whole.eval_count == 50
    assert whole.total_duration and whole.eval_duration is not None
    with model_for(llm_server) as ours, model_for(llm_server, api="generate") as ours_generate:
        text = ours.invoke(SONG, seed=21, max_tokens=50).text
        assert text == chat == generated == whole.message.content
        assert ours_generate.invoke(SONG, seed=21, max_tokens=50).text == text
    assert [m.model for m in client.list().models] == ["ngram:latest"]


def test_official_client_sees_the_error_line(llm_server: Any) -> None:
    ollama = pytest.importorskip("ollama")
    client = ollama.Client(host=llm_server.url)
    got = []
    with pytest.raises(ollama.ResponseError, match="error was encountered"):
        for part in client.chat("ngram+error_after=3", [{"role": "user", "content": SONG}], stream=True):
            got.append(part.message.content)
    assert len(got) == 3


# -- the server's Ollama routes, on the wire ------------------------------------------------------


@pytest.mark.parametrize(("path", "field"), [("/api/chat", "message"), ("/api/generate", "response")])
def test_ndjson_lines_and_the_last_one(llm_server: Any, path: str, field: str) -> None:
    body: dict[str, Any] = {"model": "ngram", "options": {"seed": 4, "num_predict": 6}}
    body.update({"messages": [{"role": "user", "content": "tea"}]} if field == "message" else {"prompt": "tea"})
    lines = ndjson(llm_server, path, body)
    *tokens, last = lines
    assert len(tokens) == 6 and all(line["done"] is False and line["model"] == "ngram" for line in tokens)
    assert all(line["created_at"].endswith("Z") for line in lines)
    assert last["done"] is True and last["done_reason"] == "length" and last["eval_count"] == 6
    assert all(isinstance(last[key], int) for key in STAT_KEYS)
    text = "".join(t["message"]["content"] if field == "message" else t["response"] for t in tokens)
    assert text == demo().invoke("tea", seed=4, max_tokens=6).text


def test_stream_false_is_one_object(llm_server: Any) -> None:
    with httpx.Client(base_url=llm_server.url, timeout=10) as http:
        response = http.post(
            "/api/generate", json={"model": "ngram", "prompt": "tea", "stream": False, "options": {"seed": 1}}
        )
    answer = response.json()
    assert response.headers["content-type"] == "application/json"
    assert answer["done"] is True and answer["response"] == demo().invoke("tea", seed=1).text


@pytest.mark.parametrize(
    ("fault", "check"),
    [
        ("error_after=2", lambda r: r.status_code == 500 and "error" in r.json()),
        ("malformed_after=2", lambda r: r.status_code == 200 and not r.text.endswith("}\n")),
    ],
)
def test_stream_false_faults(llm_server: Any, fault: str, check: Any) -> None:
    with httpx.Client(base_url=llm_server.url, timeout=10) as http:
        response = http.post("/api/generate", json={"model": f"ngram+{fault}", "prompt": "tea", "stream": False})
    assert check(response)


def test_stream_false_drop(llm_server: Any) -> None:
    with httpx.Client(base_url=llm_server.url, timeout=10) as http, pytest.raises(httpx.RemoteProtocolError):
        http.post("/api/generate", json={"model": "ngram+drop_after=2", "prompt": "tea", "stream": False})


def test_empty_prompt_loads_the_model(llm_server: Any) -> None:
    (line,) = ndjson(llm_server, "/api/chat", {"model": "ngram", "messages": []})
    assert line["done"] is True and line["done_reason"] == "load" and line["message"]["content"] == ""


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"model": "llama3", "prompt": "hi"}, 404, "model 'llama3' not found, try pulling it first"),
        ({"model": "ngram", "prompt": "hi", "options": {"temperature": "hot"}}, 400, "options.temperature"),
        ({"model": "ngram+status=503", "prompt": "hi"}, 503, "server busy"),
        ({"prompt": "hi"}, 400, "model is required"),
    ],
)
def test_errors_are_ollama_shaped(llm_server: Any, body: dict[str, Any], status: int, error: str) -> None:
    with httpx.Client(base_url=llm_server.url, timeout=10) as http:
        response = http.post("/api/generate", json=body)
    assert response.status_code == status and error in response.json()["error"]


def test_faults_by_header_and_the_request_log(llm_server: Any) -> None:
    model = "ngram-ollama-log"
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    with httpx.Client(base_url=llm_server.url, timeout=10) as http:
        response = http.post("/api/chat", json=body, headers={"X-LLMStream-Fault": "malformed_after=2"})
    raw = response.text.split("\n")
    with pytest.raises(ValueError):
        json.loads(raw[2])
    assert json.loads(raw[-2])["done"] is True  # malformed_after goes on after the broken line
    record = wait_for_outcome(llm_server, model, "fault")
    assert record["path"] == "/api/chat" and record["faults_fired"] == ["malformed_after=2"] and record["stream"]


# -- every fault mode -------------------------------------------------------------------------------


@each_stream_fault
@pytest.mark.parametrize("api", APIS)
def test_stream_faults_keep_exactly_the_partial_text(
    llm_server: Any, fault: str, kind: type[Exception], tokens: int, options: dict[str, Any], api: str
) -> None:
    with model_for(llm_server, f"ngram+{fault}", api=api, api_key=SECRET, **options) as llm:
        stream = llm.stream(SONG, seed=7, max_tokens=60)
        assert_fault_keeps_the_partial_text(stream, kind, tokens, llm_server, SECRET, "ollama")


@pytest.mark.asyncio
@each_stream_fault
async def test_stream_faults_async(
    llm_server: Any, fault: str, kind: type[Exception], tokens: int, options: dict[str, Any]
) -> None:
    llm = model_for(llm_server, f"ngram+{fault}", **options)
    await assert_async_fault_keeps_the_partial_text(
        llm.astream(SONG, seed=7, max_tokens=60), kind, tokens, llm_server, SECRET, "ollama"
    )
    await llm.aclose()


def test_the_error_line_says_what_the_server_said(llm_server: Any) -> None:
    with model_for(llm_server, "ngram+error_after=2") as llm, pytest.raises(ProviderStreamError) as info:
        llm.invoke(SONG, seed=7)
    assert "error was encountered while running the model" in str(info.value)
    assert str(info.value).endswith(f"[after {len(partial(2))} characters of answer]")


@pytest.mark.parametrize(
    ("status", "kind"), [(400, BadRequestError), (404, NotFoundError), (429, RateLimitError), (500, ServerError)]
)
def test_status_faults(llm_server: Any, status: int, kind: type[Exception]) -> None:
    with model_for(llm_server, f"ngram+status={status}", max_retries=0) as llm, pytest.raises(kind) as info:
        llm.invoke(SONG)
    assert f"HTTP {status}" in str(info.value) and info.value.partial_text == ""  # type: ignore[attr-defined]
    assert_clean_message(info.value, llm_server, SECRET, "ollama")


def test_unknown_model_says_how_to_pull_it(llm_server: Any) -> None:
    with model_for(llm_server, "llama3.2") as llm, pytest.raises(NotFoundError) as info:
        llm.invoke("hi")
    message = str(info.value)
    assert "model 'llama3.2' not found, try pulling it first" in message and "`ollama pull llama3.2`" in message


def test_503_twice_then_success(llm_server: Any) -> None:
    spec = "ngram-ollama+status=503,times=2,jitter=0,ttft=0"  # its own spec text: `times=` counts per text
    llm = model_for(llm_server, spec)
    delays = record_sleeps(llm)
    assert llm.invoke(SONG, seed=7, max_tokens=10).text == partial(10)
    llm.close()
    assert delays == [1.0, 1.0] and len(requests_for(llm_server, spec)) == 3  # Retry-After: 1, honoured


def test_a_server_that_requires_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    with BackgroundServer(fast=True, api_key=SECRET) as server:
        with model_for(server) as llm, pytest.raises(AuthenticationError):
            llm.invoke("hi", max_tokens=2)
        with model_for(server, api_key=SECRET) as llm:
            assert llm.invoke("hi", max_tokens=2).text
        monkeypatch.setenv("OLLAMA_API_KEY", SECRET)
        with model_for(server) as llm:
            assert llm.invoke("hi", max_tokens=2).text and SECRET not in repr(llm)


@pytest.mark.parametrize("api", APIS)
def test_think_streams_reasoning_before_the_answer(llm_server: Any, api: str) -> None:
    """`think=True`: the server's demo model thinks first (as on the Anthropic routes), in `message.thinking`
    (generate: `thinking`) lines; they arrive as reasoning chunks, apart from the answer."""
    with model_for(llm_server, api=api, think=True) as llm:
        stream = llm.stream(SONG, seed=3, max_tokens=20)
        chunks = list(stream)
    expected = demo().invoke(SONG, seed=3, max_tokens=20)
    thought = demo().invoke(thinking_prompt(SONG), **thinking_options({"seed": 3}, THINKING_TOKENS))
    kinds = [c.kind for c in chunks if c.text]
    assert kinds == sorted(kinds, key=lambda kind: kind != REASONING) and REASONING in kinds  # thinking first
    assert "".join(c.text for c in chunks if c.kind == REASONING) == stream.reasoning == thought.text
    assert stream.text == expected.text and stream.completion.reasoning == thought.text
    assert stream.finish_reason == expected.finish_reason
    assert stream.usage.completion_tokens == expected.usage.completion_tokens + thought.usage.completion_tokens


@pytest.mark.parametrize("path", ["/api/chat", "/api/generate"])
def test_think_on_the_wire_streamed_and_whole(llm_server: Any, path: str) -> None:
    """Thinking lines carry `thinking` and an empty answer field, before the answer's lines; `eval_count`
    counts both; a whole answer has the thoughts beside the text."""
    chat = path == "/api/chat"
    body: dict[str, Any] = {"model": "ngram", "think": True, "options": {"seed": 4, "num_predict": 6}}
    body.update({"messages": [{"role": "user", "content": "tea"}]} if chat else {"prompt": "tea"})
    thought = demo().invoke(thinking_prompt("tea"), **thinking_options({"seed": 4}, THINKING_TOKENS))
    answer = demo().invoke("tea", seed=4, max_tokens=6).text

    def fields(line: dict[str, Any]) -> tuple[str | None, str]:
        """(thinking, answer text) of one line."""
        part = line["message"] if chat else line
        return part.get("thinking"), part["content" if chat else "response"]

    *tokens, last = ndjson(llm_server, path, body)
    thinking = [fields(t) for t in tokens if fields(t)[0]]
    assert [fields(t) for t in tokens[: len(thinking)]] == thinking and all(text == "" for _, text in thinking)
    assert "".join(reasoning for reasoning, _ in thinking) == thought.text
    assert "".join(fields(t)[1] for t in tokens) == answer
    assert last["done"] is True and last["eval_count"] == 6 + thought.usage.completion_tokens
    with httpx.Client(base_url=llm_server.url, timeout=10) as http:
        whole = http.post(path, json={**body, "stream": False}).json()
    assert fields(whole) == (thought.text, answer) and whole["eval_count"] == last["eval_count"]


@pytest.mark.asyncio
@pytest.mark.parametrize("helper", [False, True], ids=["break", "break in a helper generator"])
async def test_leaving_an_async_stream_early_closes_it_quietly(slow_llm_server: Any, helper: bool) -> None:
    name = f"ngram-ollama-leave-{helper}"
    await assert_leaving_an_async_stream_early_is_quiet(model_for(slow_llm_server, name), slow_llm_server, name, helper)


def test_stopping_early_closes_the_connection(slow_llm_server: Any) -> None:
    name = "ngram-ollama-stop"
    with model_for(slow_llm_server, name) as llm:
        stream = llm.stream(SONG, max_tokens=500)
        for index, _chunk in enumerate(stream):
            if index == 2:
                break
        stream.close()
        assert wait_for_outcome(slow_llm_server, name, "client_disconnected")["tokens_sent"] < 500


# -- configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "url"),
    [
        (None, "http://127.0.0.1:11434"),
        ("", "http://127.0.0.1:11434"),
        ("  ", "http://127.0.0.1:11434"),
        ("1.2.3.4", "http://1.2.3.4:11434"),
        (":56789", "http://127.0.0.1:56789"),
        ("1.2.3.4:56789", "http://1.2.3.4:56789"),
        ("example.com", "http://example.com:11434"),
        ("example.com:56789/path/", "http://example.com:56789/path"),
        ("http://1.2.3.4", "http://1.2.3.4:80"),
        ("https://example.com", "https://example.com:443"),
        ("HTTPS://example.com:8443/ollama", "https://example.com:8443/ollama"),
        ("0.0.0.0", "http://127.0.0.1:11434"),
        ("0.0.0.0:11500", "http://127.0.0.1:11500"),
        ("http://0.0.0.0:11434", "http://127.0.0.1:11434"),
        ("::", "http://[::1]:11434"),
        ("[::]:11434", "http://[::1]:11434"),
        ("[::1]", "http://[::1]:11434"),
        ("[fe80::1]:8080", "http://[fe80::1]:8080"),
    ],
)
def test_ollama_host_is_read_as_ollama_reads_it(host: str | None, url: str) -> None:
    assert base_url_from(host) == url


@pytest.mark.parametrize("host", ["ftp://example.com", "example.com:port", "example.com:70000", "[::1]x"])
def test_unusable_ollama_host(host: str) -> None:
    with pytest.raises(ConfigurationError, match=r"OLLAMA_HOST") as info:
        base_url_from(host)
    assert "\n" not in str(info.value)


def test_host_from_the_environment_and_host_wins(llm_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", llm_server.url.removeprefix("http://"))  # host:port, no scheme
    with get_model("ollama:ngram") as llm:
        assert llm.base_url == llm_server.url and llm.invoke("hi", max_tokens=2).text  # type: ignore[attr-defined]
    assert get_model("ollama", host="gpu-box").base_url == "http://gpu-box:11434"  # type: ignore[attr-defined]
    monkeypatch.delenv("OLLAMA_HOST")
    default = get_model("ollama")
    assert default.base_url == DEFAULT_HOST and default.http.timeout.read == 120  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"api": "completions"}, "use 'chat' or 'generate'"),
        ({"logprobs": True}, "does not return logprobs"),
        ({"top_logprobs": 2}, "does not return logprobs"),
        ({"think": "deep"}, "think must be"),
        ({"timeout": 0}, "more than 0"),
        ({"hots": "x"}, "Did you mean 'host'"),
    ],
)
def test_configuration_errors(options: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match) as info:
        get_model("ollama:ngram", **options)
    assert "\n" not in str(info.value)


def test_logprobs_refused_per_call_before_any_request() -> None:
    llm = get_model("ollama:ngram", host="127.0.0.1:9")
    with pytest.raises(ConfigurationError, match="ollama:ngram: the ollama provider does not return logprobs"):
        llm.stream("hi", logprobs=True)


def test_request_bodies() -> None:
    llm = get_model("ollama:m", host="127.0.0.1:9")
    request = llm._request([("system", "Be brief."), ("user", "hi")], {"seed": 1, "max_tokens": 9, "stop": "."})
    chat = request_body("chat", "m", request, stream=True)
    assert chat["messages"][0] == {"role": "system", "content": "Be brief."} and chat["stream"] is True
    assert chat["options"] == {"seed": 1, "stop": ["."], "num_predict": 9}
    generate = request_body("generate", "m", request, stream=False)
    assert (generate["system"], generate["prompt"], generate["stream"]) == ("Be brief.", "hi", False)
    request = llm._request("hi", {"think": "low", "keep_alive": "5m", "extra_options": {"num_ctx": 4096}})
    body = request_body("chat", "m", request, stream=True)
    assert (body["think"], body["keep_alive"], body["options"]) == ("low", "5m", {"num_ctx": 4096})


# -- status ---------------------------------------------------------------------------------------


def test_status_lists_the_models(llm_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", llm_server.url)
    status = OllamaModel.status()
    assert status.configured and status.models == ["ngram:latest"] and status.error is None
    assert llm_server.url in status.detail and "no key needed" in status.detail


def test_status_of_a_server_that_is_not_there(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:9")
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)  # what a retry would wait: the listing retries nothing
    status = OllamaModel.status()
    assert waits == []
    assert status.models == [] and "could not connect to 127.0.0.1:9 — is the server running?" in (status.error or "")
    assert OllamaModel.status(list_models=False).error is None


def test_status_with_an_unusable_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "ftp://x")
    status = OllamaModel.status()
    assert not status.configured and "OLLAMA_HOST" in (status.error or "")


# -- the wire format without HTTP -------------------------------------------------------------------

THINKING_CHAT = [  # the shape a reasoning model sends with "think": true (Ollama 0.9+)
    '{"model":"qwen3","created_at":"2025-06-01T10:00:00.1Z","message":{"role":"assistant","content":"","thinking":"Tea"},"done":false}',
    '{"model":"qwen3","created_at":"2025-06-01T10:00:00.2Z","message":{"role":"assistant","content":"","thinking":" is hot."},"done":false}',
    '{"model":"qwen3","created_at":"2025-06-01T10:00:00.3Z","message":{"role":"assistant","content":"Hot \\u2028tea"},"done":false}',
    '{"model":"qwen3","created_at":"2025-06-01T10:00:00.4Z","message":{"role":"assistant","content":"."},"done":false}',
    (
        '{"model":"qwen3","created_at":"2025-06-01T10:00:00.5Z","message":{"role":"assistant","content":""},"done":true,'
        '"done_reason":"stop","total_duration":2000000000,"load_duration":500000000,"prompt_eval_count":10,'
        '"prompt_eval_duration":250000000,"eval_count":40,"eval_duration":1000000000}'
    ),
]
GENERATE = [
    '{"model":"llama3.2","created_at":"2025-06-01T10:00:00Z","response":"Hi","done":false}',
    '{"model":"llama3.2","created_at":"2025-06-01T10:00:00Z","response":" there","done":false}',
    (
        '{"model":"llama3.2","created_at":"2025-06-01T10:00:00Z","response":"","done":true,"done_reason":"length",'
        '"context":[1,2,3],"total_duration":100,"eval_count":2}'
    ),
]


def test_thinking_text_usage_and_timings_from_the_lines() -> None:
    pieces = decode_lines(THINKING_CHAT)
    chunks = [p for p in pieces if isinstance(p, Chunk)]
    assert [(c.kind, c.text) for c in chunks] == [
        (REASONING, "Tea"),
        (REASONING, " is hot."),
        (TEXT, "Hot \u2028tea"),
        (TEXT, "."),
        (TEXT, ""),
    ]
    assert chunks[-1].finish_reason == "stop"
    (usage,) = [p for p in pieces if isinstance(p, Usage)]
    assert (usage.prompt_tokens, usage.completion_tokens) == (10, 40)
    (timings,) = [p for p in pieces if isinstance(p, ProviderTimings)]
    assert timings == ProviderTimings(
        total=2.0, load=0.5, prompt=0.25, generation=1.0, prompt_tokens_per_second=40.0, tokens_per_second=40.0
    )


def test_generate_lines_and_missing_counters() -> None:
    pieces = decode_lines(GENERATE, api="generate")
    assert "".join(p.text for p in pieces if isinstance(p, Chunk)) == "Hi there"
    assert [p for p in pieces if isinstance(p, Usage)] == [Usage(None, 2)]
    (timings,) = [p for p in pieces if isinstance(p, ProviderTimings)]
    assert timings.total == 1e-7 and timings.generation is None and timings.tokens_per_second is None


@pytest.mark.parametrize(
    ("lines", "kind", "match"),
    [
        (
            [GENERATE[0], '{"error":"model runner has unexpectedly stopped"}'],
            ProviderStreamError,
            "unexpectedly stopped",
        ),
        ([GENERATE[0], '{"model":"x","response":"'], MalformedStreamError, "not valid JSON"),
        ([GENERATE[0], "[1, 2]"], MalformedStreamError, "not a JSON object"),
        ([GENERATE[0], '{"response": 3, "done": false}'], MalformedStreamError, "Ollama's format"),
        (GENERATE[:2], InterruptedStreamError, '"done": true'),
    ],
)
def test_broken_streams(lines: list[str], kind: type[Exception], match: str) -> None:
    with pytest.raises(kind, match=match):
        decode_lines(lines, api="generate")


def test_parser_refuses_an_unknown_api() -> None:
    with pytest.raises(ValueError, match="api must be one of"):
        LineParser("completions")


# -- NDJSON line splitting (llmstream_nb.http.client.LineSplitter) ----------------------------------


def split_all(reads: list[bytes]) -> list[str]:
    splitter = LineSplitter()
    lines = [line for read in reads for line in splitter.feed(read)]
    return lines + splitter.close()


def test_lines_split_on_newline_only() -> None:
    body = 'a\u2028b\n\r\n{"x": "é"}\r\n\nlast'.encode()
    assert split_all([body]) == ["a\u2028b", '{"x": "é"}\r', "last"]
    assert split_all([body[i : i + 1] for i in range(len(body))]) == ["a\u2028b", '{"x": "é"}\r', "last"]
    assert split_all([b"", b"\n", b""]) == []


@settings(max_examples=60, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=30))
def test_lines_do_not_depend_on_where_reads_are_cut(cuts: list[int]) -> None:
    body = "\n".join(THINKING_CHAT).encode() + b"\n"
    points = sorted({c for c in cuts if 0 < c < len(body)})
    reads = [body[a:b] for a, b in zip([0, *points], [*points, len(body)])]
    assert decode_lines(split_all(reads)) == decode_lines(THINKING_CHAT)


def test_a_long_line_in_small_reads_is_joined_once() -> None:
    """8 MB in 1 KB reads: re-joining the pending bytes on every read copies ~32 GB (over 2 minutes here),
    joining once copies 8 MB. The reads wait as they came until the line ends, then are joined once."""
    line = b'{"response":"' + b"x" * (8 * 1024 * 1024) + b'"}\n'
    reads = [line[i : i + 1024] for i in range(0, len(line), 1024)]
    splitter = LineSplitter()
    assert [splitter.feed(read) for read in reads[:-1]] == [[]] * (len(reads) - 1)
    assert len(splitter._pending) == len(reads) - 1  # nothing joined yet: no copy per read
    (got,) = splitter.feed(reads[-1])
    assert len(got) == len(line) - 1 and splitter._pending == []


@pytest.fixture
def long_line_server() -> Iterator[BackgroundServer]:
    """A server whose /api/generate answers one 2 MB line, written in 512-byte parts."""
    server = BackgroundServer(fast=True)
    line = json.dumps({"response": "y" * 2_000_000, "done": False}).encode() + b"\n"
    last = json.dumps({"response": "", "done": True, "eval_count": 1}).encode() + b"\n"

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/x-ndjson")]}
        )
        for start in range(0, len(line), 512):
            await send({"type": "http.response.body", "body": line[start : start + 512], "more_body": True})
        await send({"type": "http.response.body", "body": last, "more_body": False})

    server.app = app
    with server:
        yield server


def test_a_long_line_over_http(long_line_server: Any) -> None:
    with model_for(long_line_server, api="generate") as llm:
        answer = llm.invoke("hi")
    assert answer.text == "y" * 2_000_000 and answer.usage.completion_tokens == 1
