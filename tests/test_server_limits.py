"""The local server bounds what a client can make it do: body size, JSON nesting, fault values, giant words."""

from __future__ import annotations

import select
import socket

import httpx
import pytest
from test_server import chat, client

from llmstream_nb.server import BackgroundServer, FaultSpec, FaultSpecError
from llmstream_nb.server.body import MAX_BODY_BYTES
from llmstream_nb.server.header_deadline import HeaderDeadlineProtocol

HEADERS = {"content-type": "application/json", "anthropic-version": "2023-06-01"}


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages", "/api/chat"])
def test_a_body_over_the_limit_is_a_413(llm_server: BackgroundServer, path: str) -> None:
    big = b'{"model": "ngram", "messages": [{"role": "user", "content": "' + b"a" * MAX_BODY_BYTES + b'"}]}'
    with client(llm_server) as http:
        response = http.post(path, content=big, headers=HEADERS)
        assert response.status_code == 413
        # chunked, with no Content-Length to refuse it by: still cut at the limit
        response = http.post(
            path, content=iter([big[i : i + 65536] for i in range(0, len(big), 65536)]), headers=HEADERS
        )
        assert response.status_code == 413


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages", "/api/chat"])
def test_deeply_nested_json_is_a_400_not_a_500(llm_server: BackgroundServer, path: str) -> None:
    nested = "[" * 100_000 + "]" * 100_000
    with client(llm_server) as http:
        response = http.post(path, content=nested, headers=HEADERS)
    assert response.status_code == 400
    assert "nested too deeply" in response.text


@pytest.mark.parametrize("spec", ["ttft=1e308", "stall=99999", "tps=1e300", "drop_after=10000000000"])
def test_fault_values_are_bounded(llm_server: BackgroundServer, spec: str) -> None:
    with pytest.raises(FaultSpecError, match="needs a value from 0 to"):
        FaultSpec.parse(spec)
    with client(llm_server) as http:
        response = http.post("/v1/chat/completions", json=chat(model=f"ngram+{spec}"))
    assert response.status_code == 400


def test_a_giant_word_is_answered(llm_server: BackgroundServer) -> None:
    """A 1,000,000-letter word once took minutes (and a RecursionError at 10,000): now it is cut linearly."""
    body = chat(messages=[{"role": "user", "content": "x" * 1_000_000}], max_tokens=3, stream=False)
    with httpx.Client(base_url=llm_server.url, timeout=60) as http:
        response = http.post("/v1/chat/completions", json=body)
    assert response.status_code == 200


def test_headers_dripped_forever_are_cut(llm_server: BackgroundServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A client dripping header bytes used to hold a connection for as long as it liked."""
    monkeypatch.setattr(HeaderDeadlineProtocol, "header_seconds", 0.5)
    host, port = llm_server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
        closed = False
        for _ in range(200):  # bounded: 200 drips of 0.1 s at most, whatever happens
            try:
                sock.sendall(b"X")
            except OSError:
                closed = True
                break
            readable, _, _ = select.select([sock], [], [], 0.1)
            if readable:
                try:
                    closed = sock.recv(1024) == b""
                except ConnectionResetError:
                    closed = True
                break
    assert closed
    with client(llm_server) as http:  # the server itself is fine
        assert http.post("/v1/chat/completions", json=chat(max_tokens=2)).status_code == 200
