"""The local OpenAI-compatible server, over real loopback HTTP: wire format, determinism, every fault mode,
the official openai SDK, disconnect detection, API keys, and the CLI entry points."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from llmstream_nb import get_model
from llmstream_nb.server import BackgroundServer, FaultSpec, FaultSpecError
from llmstream_nb.server.run import add_serve_arguments, is_loopback, run_serve

PROMPT = "Tell me about trains"
SEED = 7
FAULT_HEADER = "X-LLMStream-Fault"


# -- helpers ------------------------------------------------------------------------------------


def client(server: BackgroundServer, **kwargs: Any) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=10, **kwargs)


def chat(**overrides: Any) -> dict[str, Any]:
    return {
        "model": "ngram",
        "messages": [{"role": "user", "content": PROMPT}],
        "seed": SEED,
        "max_tokens": 30,
        **overrides,
    }


def completion(**overrides: Any) -> dict[str, Any]:
    return {"model": "ngram", "prompt": PROMPT, "seed": SEED, "max_tokens": 30, **overrides}


def stream(
    http: httpx.Client, body: dict[str, Any], path: str = "/v1/chat/completions", **kwargs: Any
) -> tuple[list[str], Exception | None, httpx.Response]:
    """POST a streaming request; the `data:` payloads that arrived, the transport error (if any), the response."""
    data = bytearray()
    error: Exception | None = None
    with http.stream("POST", path, json={**body, "stream": True}, **kwargs) as response:
        try:
            for piece in response.iter_bytes():
                data += piece
        except httpx.HTTPError as exc:
            error = exc
    events = [block[len("data: ") :] for block in data.decode().split("\n\n") if block.startswith("data: ")]
    return events, error, response


def contents(events: list[str]) -> list[str]:
    """The content tokens of chat or completions SSE payloads (invalid JSON and [DONE] skipped)."""
    tokens = []
    for event in events:
        try:
            payload = json.loads(event)
        except ValueError:
            continue
        for choice in payload.get("choices", []) if isinstance(payload, dict) else []:
            text = choice["delta"].get("content") if "delta" in choice else choice.get("text")
            if text:
                tokens.append(text)
    return tokens


def reference(prompt: str = PROMPT, **options: Any) -> str:
    return get_model("demo", ttft=0, tokens_per_second=0).invoke(prompt, **options).text


def wait_for_outcome(server: BackgroundServer, request_id: str, timeout: float = 3.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record: dict[str, Any] | None = server.request(request_id)
        if record is not None and record["outcome"]:
            return record
        time.sleep(0.002)
    raise AssertionError(f"request {request_id} has no outcome after {timeout}s: {server.request(request_id)}")


# -- models and plain answers -----------------------------------------------------------------


def test_models_list_and_retrieve(llm_server: BackgroundServer) -> None:
    with client(llm_server) as http:
        listing = http.get("/v1/models")
        one = http.get("/v1/models/ngram")
        missing = http.get("/v1/models/gpt-4o")
    assert listing.status_code == 200
    body = listing.json()
    assert body["object"] == "list"
    assert [(m["id"], m["object"], m["owned_by"]) for m in body["data"]] == [("ngram", "model", "llmstream-nb")]
    assert isinstance(body["data"][0]["created"], int)
    assert one.json()["id"] == "ngram"
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "model_not_found"


@pytest.mark.parametrize("model", ["ngram", "demo", "ngram-large", "demo:ngram"])
def test_model_ids_with_our_prefixes_are_served(llm_server: BackgroundServer, model: str) -> None:
    with client(llm_server) as http:
        response = http.post("/v1/chat/completions", json=chat(model=model, max_tokens=3))
    assert response.status_code == 200
    assert response.json()["model"] == model


def test_unknown_model_is_an_openai_shaped_404(llm_server: BackgroundServer) -> None:
    with client(llm_server) as http:
        response = http.post("/v1/chat/completions", json=chat(model="gpt-4o"))
    assert response.status_code == 404
    error = response.json()["error"]
    assert error == {
        "message": "The model `gpt-4o` does not exist or you do not have access to it.",
        "type": "invalid_request_error",
        "param": "model",
        "code": "model_not_found",
    }


def test_chat_whole_answer_matches_the_demo_model(llm_server: BackgroundServer) -> None:
    with client(llm_server) as http:
        first = http.post("/v1/chat/completions", json=chat()).json()
        second = http.post("/v1/chat/completions", json=chat()).json()
    assert first["object"] == "chat.completion" and first["id"].startswith("chatcmpl-")
    choice = first["choices"][0]
    assert choice["index"] == 0 and choice["message"]["role"] == "assistant" and choice["logprobs"] is None
    assert choice["finish_reason"] in ("stop", "length")
    text = choice["message"]["content"]
    assert text and text == second["choices"][0]["message"]["content"]
    assert text == reference(seed=SEED, max_tokens=30)
    usage = first["usage"]
    assert (
        usage["completion_tokens"] > 0 and usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    )


def test_chat_stream_wire_format(llm_server: BackgroundServer) -> None:
    with client(llm_server) as http:
        events, error, response = stream(http, chat())
        whole = http.post("/v1/chat/completions", json=chat()).json()
    assert error is None and response.headers["content-type"].startswith("text/event-stream")
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    ids = {c["id"] for c in chunks}
    assert len(ids) == 1 and ids.pop().startswith("chatcmpl-")
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == "ngram" and "usage" not in c for c in chunks)
    assert chunks[0]["choices"] == [
        {"index": 0, "delta": {"role": "assistant", "content": ""}, "logprobs": None, "finish_reason": None}
    ]
    assert chunks[-1]["choices"] == [
        {"index": 0, "delta": {}, "logprobs": None, "finish_reason": whole["choices"][0]["finish_reason"]}
    ]
    middle = chunks[1:-1]
    assert middle and all(set(c["choices"][0]["delta"]) == {"content"} for c in middle)
    assert "".join(contents(events)) == whole["choices"][0]["message"]["content"]


def test_include_usage_adds_a_final_usage_chunk(llm_server: BackgroundServer) -> None:
    with client(llm_server) as http:
        events, _, _ = stream(http, chat(stream_options={"include_usage": True}))
        whole = http.post("/v1/chat/completions", json=chat()).json()
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c["usage"] is None for c in chunks[:-1])
    last = chunks[-1]
    assert last["choices"] == [] and last["usage"] == whole["usage"]


def test_completions_whole_and_streamed_match_the_demo_model(llm_server: BackgroundServer) -> None:
    with client(llm_server) as http:
        whole = http.post("/v1/completions", json=completion()).json()
        events, error, _ = stream(http, completion(stream_options={"include_usage": True}), "/v1/completions")
    assert whole["object"] == "text_completion" and whole["id"].startswith("cmpl-")
    choice = whole["choices"][0]
    assert set(choice) == {"text", "index", "logprobs", "finish_reason"} and choice["logprobs"] is None
    assert choice["text"] == reference(seed=SEED, max_tokens=30)
    assert error is None and events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c["object"] == "text_completion" for c in chunks)
    assert chunks[-2]["choices"][0]["finish_reason"] == choice["finish_reason"]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == whole["usage"]
    assert "".join(contents(events)) == choice["text"]


def test_chat_logprobs(llm_server: BackgroundServer) -> None:
    with client(llm_server) as http:
        events, _, _ = stream(http, chat(logprobs=True, top_logprobs=3, max_tokens=8))
        whole = http.post("/v1/chat/completions", json=chat(logprobs=True, top_logprobs=3, max_tokens=8)).json()
    chunks = [json.loads(e) for e in events[:-1]]
    token_chunks = [c for c in chunks if c["choices"][0]["delta"].get("content")]
    streamed = [entry for c in token_chunks for entry in c["choices"][0]["logprobs"]["content"]]
    entries = whole["choices"][0]["logprobs"]["content"]
    assert streamed == entries and len(entries) == len(token_chunks) > 0
    for entry, chunk in zip(entries, token_chunks):
        assert entry["token"] == chunk["choices"][0]["delta"]["content"]
        assert entry["bytes"] == list(entry["token"].encode()) and entry["logprob"] <= 0
        assert len(entry["top_logprobs"]) == 3
        assert all(set(top) == {"token", "logprob", "bytes"} for top in entry["top_logprobs"])


def test_completion_logprobs(llm_server: BackgroundServer) -> None:
    with client(llm_server) as http:
        whole = http.post("/v1/completions", json=completion(logprobs=2, max_tokens=6)).json()
        events, _, _ = stream(http, completion(logprobs=2, max_tokens=6), "/v1/completions")
    logprobs = whole["choices"][0]["logprobs"]
    assert "".join(logprobs["tokens"]) == whole["choices"][0]["text"]
    assert len(logprobs["token_logprobs"]) == len(logprobs["tokens"]) == len(logprobs["top_logprobs"])
    assert all(isinstance(top, dict) and len(top) <= 2 for top in logprobs["top_logprobs"])
    offsets = [0]
    for token in logprobs["tokens"][:-1]:
        offsets.append(offsets[-1] + len(token))
    assert logprobs["text_offset"] == offsets
    streamed = [json.loads(e)["choices"][0]["logprobs"] for e in events[:-1]]
    assert [t for lp in streamed if lp for t in lp["tokens"]] == logprobs["tokens"]
    assert [o for lp in streamed if lp for o in lp["text_offset"]] == offsets


@pytest.mark.parametrize(
    ("content", "body", "param"),
    [
        (b"{not json", None, None),
        (None, {"model": "ngram"}, "messages"),
        (None, {"model": "ngram", "messages": []}, "messages"),
        (None, {"messages": [{"role": "user", "content": "hi"}]}, "model"),
        (None, chat(temperature="hot"), "temperature"),
        (None, chat(n=2), "n"),
    ],
)
def test_bad_requests_are_openai_shaped_400s(
    llm_server: BackgroundServer, content: bytes | None, body: Any, param: str | None
) -> None:
    with client(llm_server) as http:
        response = http.post(
            "/v1/chat/completions", content=content, json=body, headers={"content-type": "application/json"}
        )
    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error" and error["param"] == param and error["message"]


# -- faults -----------------------------------------------------------------------------------

STATUS_CASES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", "permission_denied"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    503: ("server_error", None),
}


@pytest.mark.parametrize("status", sorted(STATUS_CASES))
@pytest.mark.parametrize("via", ["header", "model"])
def test_status_faults(llm_server: BackgroundServer, status: int, via: str) -> None:
    spec = f"status={status}"
    body, headers = (chat(), {FAULT_HEADER: spec}) if via == "header" else (chat(model=f"ngram+{spec}"), {})
    with client(llm_server) as http:
        whole = http.post("/v1/chat/completions", json=body, headers=headers)
        streamed = http.post("/v1/chat/completions", json={**body, "stream": True}, headers=headers)
    for response in (whole, streamed):
        assert response.status_code == status
        error = response.json()["error"]
        assert (error["type"], error["code"]) == STATUS_CASES[status]
        assert error["message"]
        assert response.headers.get("retry-after") == ("1" if status in (429, 503) else None)
    messages = {
        401: "Incorrect API key provided.",
        404: "The model `ngram` does not exist",
        503: "The server is overloaded",
    }
    if status in messages:
        assert whole.json()["error"]["message"].startswith(messages[status])


def test_retry_after_override(llm_server: BackgroundServer) -> None:
    with client(llm_server) as http:
        zero = http.post("/v1/chat/completions", json=chat(), headers={FAULT_HEADER: "status=429,retry_after=0"})
        five = http.post("/v1/chat/completions", json=chat(model="ngram+status=503,retry_after=5"))
    assert (zero.status_code, zero.headers["retry-after"]) == (429, "0")
    assert (five.status_code, five.headers["retry-after"]) == (503, "5")


@pytest.mark.parametrize("n", [0, 4])
def test_error_after_sends_an_error_object_after_n_tokens(llm_server: BackgroundServer, n: int) -> None:
    with client(llm_server) as http:
        events, error, response = stream(http, chat(), headers={FAULT_HEADER: f"error_after={n}"})
    assert error is None and response.status_code == 200
    assert len(contents(events)) == n
    assert json.loads(events[-1])["error"]["type"] == "server_error"
    assert "[DONE]" not in events
    assert wait_for_outcome(llm_server, response.headers["x-request-id"])["outcome"] == "fault"


@pytest.mark.parametrize("path, body", [("/v1/chat/completions", chat()), ("/v1/completions", completion())])
def test_drop_after_cuts_the_connection_after_n_tokens(
    llm_server: BackgroundServer, path: str, body: dict[str, Any]
) -> None:
    with client(llm_server) as http:
        events, error, response = stream(http, {**body, "model": "ngram+drop_after=5"}, path)
    assert isinstance(error, httpx.RemoteProtocolError)
    assert len(contents(events)) == 5 and "[DONE]" not in events
    record = wait_for_outcome(llm_server, response.headers["x-request-id"])
    assert (record["outcome"], record["tokens_sent"], record["faults_fired"]) == ("fault", 5, ["drop_after=5"])


def test_fault_fires_at_the_end_of_a_short_answer(llm_server: BackgroundServer) -> None:
    with client(llm_server) as http:
        events, error, _ = stream(http, chat(max_tokens=3, model="ngram+drop_after=50"))
    assert isinstance(error, httpx.RemoteProtocolError) and len(contents(events)) == 3


def test_malformed_after_sends_one_bad_line_then_continues(llm_server: BackgroundServer) -> None:
    with client(llm_server) as http:
        clean, _, _ = stream(http, chat())
        events, error, _ = stream(http, chat(), headers={FAULT_HEADER: "malformed_after=3"})
    assert error is None and events[-1] == "[DONE]"
    bad = []
    for i, event in enumerate(events[:-1]):
        try:
            json.loads(event)
        except ValueError:
            bad.append(i)
    assert len(bad) == 1
    assert len(contents(events[: bad[0]])) == 3
    assert contents(events) == contents(clean)


def test_stall_after_goes_silent_then_drops(llm_server: BackgroundServer) -> None:
    arrivals: list[float] = []
    data = bytearray()
    started = time.monotonic()
    body = chat(stream=True, model="ngram+stall_after=2,stall=0.4")
    with client(llm_server) as http, http.stream("POST", "/v1/chat/completions", json=body) as response:
        with pytest.raises(httpx.RemoteProtocolError):
            for piece in response.iter_bytes():
                data += piece
                arrivals.append(time.monotonic())
    ended = time.monotonic()
    events = [b[6:] for b in data.decode().split("\n\n") if b.startswith("data: ")]
    assert len(contents(events)) == 2
    assert ended - arrivals[-1] >= 0.35 and ended - started < 5


def test_times_applies_the_fault_to_the_first_k_requests_only(llm_server: BackgroundServer) -> None:
    # `times` counts per exact spec string and per server, so these spellings are kept to this test.
    spec = "times=2,status=503,retry_after=0"
    with client(llm_server) as http:
        codes = [
            http.post("/v1/chat/completions", json=chat(max_tokens=3), headers={FAULT_HEADER: spec}).status_code
            for _ in range(4)
        ]
        dropped = [stream(http, chat(model="ngram+times=1,drop_after=1"))[1] for _ in range(2)]
    assert codes == [503, 503, 200, 200]
    assert isinstance(dropped[0], httpx.RemoteProtocolError) and dropped[1] is None


@pytest.mark.parametrize(
    "spec, fragment",
    [
        ("bogus=1", "known keys: status, retry_after"),
        ("drop_after=x", "whole number"),
        ("status=200", "400-599"),
        ("retry_after=1", "status="),
    ],
)
def test_bad_fault_specs_are_400s(llm_server: BackgroundServer, spec: str, fragment: str) -> None:
    with client(llm_server) as http:
        response = http.post("/v1/chat/completions", json=chat(model=f"ngram+{spec}"))
    assert response.status_code == 400 and fragment in response.json()["error"]["message"]
    with pytest.raises(FaultSpecError):
        FaultSpec.parse(spec)


def test_whole_answers_honour_faults(llm_server: BackgroundServer) -> None:
    with client(llm_server) as http:
        failed = http.post("/v1/chat/completions", json=chat(model="ngram+error_after=2"))
        malformed = http.post("/v1/chat/completions", json=chat(model="ngram+malformed_after=2"))
        with pytest.raises(httpx.RemoteProtocolError):
            http.post("/v1/chat/completions", json=chat(model="ngram+drop_after=2"))
        started = time.monotonic()
        with pytest.raises(httpx.RemoteProtocolError):
            http.post("/v1/completions", json=completion(model="ngram+stall_after=1,stall=0.3"))
        stalled = time.monotonic() - started
    assert failed.status_code == 500 and failed.json()["error"]["type"] == "server_error"
    assert malformed.status_code == 200
    with pytest.raises(ValueError):
        json.loads(malformed.content)
    assert stalled >= 0.28


def test_latency_override_by_model_suffix(llm_server: BackgroundServer) -> None:
    with client(llm_server) as http:
        started = time.monotonic()
        events, _, _ = stream(http, chat(max_tokens=2, model="ngram+ttft=0.3,tps=0"))
    assert time.monotonic() - started >= 0.28 and len(contents(events)) == 2


# -- the official SDK ---------------------------------------------------------------------------


def test_openai_sdk_streams_the_same_text_as_a_raw_request(llm_server: BackgroundServer) -> None:
    sdk = openai.OpenAI(base_url=llm_server.base_url, api_key="test", max_retries=0)
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": PROMPT}]
    chat_stream = sdk.chat.completions.create(model="ngram", messages=messages, seed=SEED, max_tokens=30, stream=True)
    chat_text = "".join(c.choices[0].delta.content or "" for c in chat_stream if c.choices)
    text_stream = sdk.completions.create(model="ngram", prompt=PROMPT, seed=SEED, max_tokens=30, stream=True)
    completion_text = "".join(c.choices[0].text for c in text_stream if c.choices)
    whole = sdk.chat.completions.create(model="ngram", messages=messages, seed=SEED, max_tokens=30)
    with client(llm_server) as http:
        raw, _, _ = stream(http, chat())
    assert chat_text == completion_text == whole.choices[0].message.content == "".join(contents(raw)) != ""
    assert whole.usage is not None and whole.usage.completion_tokens > 0


def test_openai_sdk_sees_faults_as_its_own_errors(llm_server: BackgroundServer) -> None:
    sdk = openai.OpenAI(base_url=llm_server.base_url, api_key="test", max_retries=0)
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": PROMPT}]
    with pytest.raises(openai.RateLimitError):
        sdk.chat.completions.create(model="ngram+status=429", messages=messages)
    with pytest.raises(openai.APIError, match="server had an error"):
        for _ in sdk.chat.completions.create(model="ngram+error_after=2", messages=messages, stream=True):
            pass
    retrying = openai.OpenAI(base_url=llm_server.base_url, api_key="test", max_retries=2)
    answer = retrying.chat.completions.create(
        model="ngram+times=1,retry_after=0,status=503", messages=messages, max_tokens=3
    )
    assert answer.choices[0].message.content


# -- disconnects, concurrency, the log ----------------------------------------------------------


def test_server_sees_a_client_leave_mid_stream_at_once(slow_llm_server: BackgroundServer) -> None:
    with client(slow_llm_server) as http:
        with http.stream(
            "POST", "/v1/chat/completions", json=chat(stream=True, model="ngram+tps=5", min_tokens=50)
        ) as response:
            request_id = response.headers["x-request-id"]
            seen = 0
            for line in response.iter_lines():
                seen += '"content":"' in line and '"role"' not in line
                if seen == 2:
                    break
        closed = time.time()
    record = wait_for_outcome(slow_llm_server, request_id)
    assert record["outcome"] == "client_disconnected"
    assert record["ended"] - closed < 3.0  # the 48 tokens still due would take 9.6 s: it stopped at once
    assert record["tokens_sent"] == 2


def test_server_sees_a_client_give_up_on_a_whole_answer(slow_llm_server: BackgroundServer) -> None:
    with client(slow_llm_server) as http, pytest.raises(httpx.ReadTimeout):
        http.post("/v1/chat/completions", json=chat(model="ngram+tps=5", min_tokens=50), timeout=0.3)
    closed = time.time()
    record = [r for r in slow_llm_server.requests() if r["model"] == "ngram+tps=5" and not r["stream"]][-1]
    record = wait_for_outcome(slow_llm_server, record["id"])
    assert record["outcome"] == "client_disconnected"
    assert record["ended"] - closed < 3.0  # the whole answer would take 10 s: it stopped at once


def test_streams_run_concurrently(slow_llm_server: BackgroundServer) -> None:
    """Six slow streams at once overlap on the server: none waits for another to finish."""

    async def one(http: httpx.AsyncClient) -> tuple[str, int]:
        tokens = 0
        async with http.stream("POST", "/v1/chat/completions", json=chat(stream=True, max_tokens=10)) as response:
            async for line in response.aiter_lines():
                tokens += '"content":"' in line and '"role"' not in line
        return response.headers["x-request-id"], tokens

    async def main() -> list[tuple[str, int]]:
        async with httpx.AsyncClient(base_url=slow_llm_server.url, timeout=10) as http:
            return await asyncio.gather(*(one(http) for _ in range(6)))

    results = asyncio.run(main())
    assert [tokens for _, tokens in results] == [10] * 6
    records = [wait_for_outcome(slow_llm_server, request_id) for request_id, _ in results]
    assert max(r["started"] for r in records) < min(r["ended"] for r in records)


def test_request_log_over_http_and_in_python(llm_server: BackgroundServer) -> None:
    with client(llm_server) as http:
        response = http.post("/v1/chat/completions", json=chat(max_tokens=4), headers={FAULT_HEADER: "ttft=0"})
        request_id = response.headers["x-request-id"]
        listing = http.get("/llmstream/requests").json()
        one = http.get(f"/llmstream/requests/{request_id}").json()
    assert any(r["id"] == request_id for r in listing)
    assert set(one) >= {"id", "path", "model", "fault", "stream", "started", "ended", "tokens_sent", "outcome"}
    assert (one["path"], one["model"], one["fault"], one["stream"], one["tokens_sent"], one["outcome"]) == (
        "/v1/chat/completions",
        "ngram",
        "ttft=0",
        False,
        4,
        "completed",
    )
    assert one["ended"] >= one["started"]
    assert llm_server.request(request_id) == one


# -- API keys -----------------------------------------------------------------------------------


def test_api_key_mode_answers_401_without_echoing_the_key() -> None:
    wrong = "sk-wrong-key-123456789"
    with BackgroundServer(fast=True, api_key="sk-right-key-abcdef") as server, client(server) as http:
        missing = http.post("/v1/chat/completions", json=chat(max_tokens=2))
        bad = http.post("/v1/chat/completions", json=chat(max_tokens=2), headers={"Authorization": f"Bearer {wrong}"})
        log = http.get("/llmstream/requests", headers={"Authorization": f"Bearer {wrong}"})
        good = http.post(
            "/v1/chat/completions", json=chat(max_tokens=2), headers={"Authorization": "Bearer sk-right-key-abcdef"}
        )
        sdk = openai.OpenAI(base_url=server.base_url, api_key=wrong, max_retries=0)
        with pytest.raises(openai.AuthenticationError) as raised:
            sdk.models.list()
    assert missing.status_code == bad.status_code == log.status_code == 401
    assert bad.json()["error"] == {
        "message": "Incorrect API key provided.",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }
    for response in (missing, bad, log):
        assert wrong not in response.text and "sk-right" not in response.text
        assert all(wrong not in value for value in response.headers.values())
    assert wrong not in str(raised.value)
    assert good.status_code == 200


def test_models_take_an_x_api_key_too() -> None:
    """`/v1/models` is shared with Anthropic's clients, which send the key as `x-api-key`."""
    wrong = "sk-wrong-key-123456789"
    with BackgroundServer(fast=True, api_key="sk-right-key-abcdef") as server, client(server) as http:
        listing = http.get("/v1/models", headers={"x-api-key": "sk-right-key-abcdef"})
        one = http.get("/v1/models/ngram", headers={"x-api-key": "sk-right-key-abcdef"})
        bad = http.get("/v1/models", headers={"x-api-key": wrong})
        chat_with_it = http.post(
            "/v1/chat/completions", json=chat(max_tokens=2), headers={"x-api-key": "sk-right-key-abcdef"}
        )
    assert [m["id"] for m in listing.json()["data"]] == ["ngram"] and one.json()["id"] == "ngram"
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "invalid_api_key" and wrong not in bad.text
    assert chat_with_it.status_code == 401  # OpenAI's own endpoints still want a bearer token


# -- packaging and running ------------------------------------------------------------------------


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)


def test_importing_the_package_does_not_load_starlette() -> None:
    result = _python("import sys, llmstream_nb.server; print('starlette' in sys.modules, 'uvicorn' in sys.modules)")
    assert result.stdout.split() == ["False", "False"], result.stderr


def test_a_missing_extra_is_one_clear_line() -> None:
    result = _python(
        "import sys; sys.modules['starlette'] = None\n"
        "import argparse\n"
        "from llmstream_nb.server.run import add_serve_arguments, run_serve\n"
        "p = argparse.ArgumentParser(); add_serve_arguments(p)\n"
        "code = run_serve(p.parse_args([]))\n"
        "try:\n    from llmstream_nb.server import BackgroundServer\nexcept ImportError as e:\n    print('IMPORT', e)\n"
        "sys.exit(code)"
    )
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "install llmstream-nb[server]" in result.stderr
    assert "IMPORT" in result.stdout and "install llmstream-nb[server]" in result.stdout


def test_serve_arguments_and_loopback_check(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    add_serve_arguments(parser)
    args = parser.parse_args([])
    assert (args.host, args.port, args.fast, args.api_key, args.ttft) == ("127.0.0.1", 8000, False, None, None)
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert run_serve(parser.parse_args(["--port", str(port), "--fast"])) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot listen on 127.0.0.1:{port}") and err.count("\n") == 1


def test_python_m_serves_until_ctrl_c() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "llmstream_nb.server", "--port", "0", "--fast"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("llmstream-nb serving the demo model at http://127.0.0.1:")
        assert line.endswith("/v1 (OpenAI-compatible; Ctrl-C to stop)")
        base_url = line.split(" at ")[1].split(" ")[0]
        assert httpx.get(f"{base_url}/models", timeout=10).json()["data"][0]["id"] == "ngram"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.stderr is not None and process.stderr.read() == ""
