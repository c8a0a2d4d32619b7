"""What each wire protocol looks like on the hostile server: how a token, an end, a raw field value and an
error are framed, and how a model of ours is pointed at the server (library and CLI).

Written apart from our providers' parsers, from the providers' documentation, so a shared misreading
does not hide a bug.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

KEY = "sk-hostile-0123456789abcdefSECRET"


def _sse(data: Any, event: str | None = None) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {text}\n\n".encode()


@dataclass(frozen=True)
class Protocol:
    """One provider/protocol as the server sees it."""

    name: str  # e.g. "openai-chat"
    provider: str  # the provider name our errors carry
    path: str
    content_type: str
    opening: Callable[[], bytes]
    token: Callable[[Any], bytes]  # any JSON value where the text belongs
    ending: Callable[[], bytes]
    mid_error: Callable[[str], bytes]  # an error inside a started stream, in this protocol's own shape
    status_error: Callable[[str], bytes]  # an error body for an error status, in this provider's shape
    options: Callable[[str], dict[str, Any]]  # get_model options pointing at the server
    spec: str

    @property
    def sse(self) -> bool:
        return self.content_type == "text/event-stream"

    def body(self, tokens: list[str]) -> bytes:
        return self.opening() + b"".join(self.token(t) for t in tokens) + self.ending()

    def raw(self, data: str) -> bytes:
        """One event or line holding `data` (already JSON text) as is."""
        return _sse(data) if self.sse else data.encode() + b"\n"

    def cli_args(self, url: str, limits: dict[str, Any]) -> list[str]:
        args = ["-m", self.spec]
        for name, value in {**self.options(url), **limits}.items():
            args += ["--opt", f"{name}={value}"]
        return args


def _openai(api: str) -> Protocol:
    def choice(value: Any) -> dict[str, Any]:
        if api == "chat":
            return {"index": 0, "delta": {"content": value}, "finish_reason": None}
        return {"index": 0, "text": value, "finish_reason": None}

    def opening() -> bytes:
        if api == "chat":
            return _sse(
                {
                    "id": "h",
                    "object": "chat.completion.chunk",
                    "choices": [{"index": 0, "delta": {"role": "assistant"}}],
                }
            )
        return b""

    def ending() -> bytes:
        last = choice("")
        last["finish_reason"] = "stop"
        return _sse({"id": "h", "choices": [last]}) + _sse("[DONE]")

    return Protocol(
        name=f"openai-{api}",
        provider="openai",
        path="/v1/chat/completions" if api == "chat" else "/v1/completions",
        content_type="text/event-stream",
        opening=opening,
        token=lambda value: _sse({"id": "h", "choices": [choice(value)]}),
        ending=ending,
        mid_error=lambda message: _sse({"error": {"message": message, "type": "server_error"}}),
        status_error=lambda message: json.dumps(
            {"error": {"message": message, "type": "invalid_request_error"}}
        ).encode(),
        options=lambda url: {"base_url": f"{url}/v1", "api_key": KEY, "api": api},
        spec="openai:hostile",
    )


def _anthropic() -> Protocol:
    def opening() -> bytes:
        return _sse(
            {
                "type": "message_start",
                "message": {"id": "m", "role": "assistant", "content": [], "usage": {"input_tokens": 3}},
            },
            "message_start",
        ) + _sse(
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            "content_block_start",
        )

    def ending() -> bytes:
        return (
            _sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
            + _sse(
                {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 3}},
                "message_delta",
            )
            + _sse({"type": "message_stop"}, "message_stop")
        )

    return Protocol(
        name="anthropic",
        provider="anthropic",
        path="/v1/messages",
        content_type="text/event-stream",
        opening=opening,
        token=lambda value: _sse(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": value}},
            "content_block_delta",
        ),
        ending=ending,
        mid_error=lambda message: _sse(
            {"type": "error", "error": {"type": "overloaded_error", "message": message}}, "error"
        ),
        status_error=lambda message: json.dumps(
            {"type": "error", "error": {"type": "invalid_request_error", "message": message}}
        ).encode(),
        options=lambda url: {"base_url": url, "api_key": KEY},
        spec="anthropic:hostile",
    )


def _ollama(api: str) -> Protocol:
    def token(value: Any) -> bytes:
        line = {"model": "h", "message": {"role": "assistant", "content": value}, "done": False}
        if api == "generate":
            line = {"model": "h", "response": value, "done": False}
        return json.dumps(line).encode() + b"\n"

    def ending() -> bytes:
        last: dict[str, Any] = {"model": "h", "done": True, "done_reason": "stop", "eval_count": 3}
        if api == "chat":
            last["message"] = {"role": "assistant", "content": ""}
        else:
            last["response"] = ""
        return json.dumps(last).encode() + b"\n"

    return Protocol(
        name=f"ollama-{api}",
        provider="ollama",
        path=f"/api/{api}",
        content_type="application/x-ndjson",
        opening=lambda: b"",
        token=token,
        ending=ending,
        mid_error=lambda message: json.dumps({"error": message}).encode() + b"\n",
        status_error=lambda message: json.dumps({"error": message}).encode(),
        options=lambda url: {"host": url, "api_key": KEY, "api": api},
        spec="ollama:hostile",
    )


PROTOCOLS: tuple[Protocol, ...] = (
    _openai("chat"),
    _openai("completions"),
    _anthropic(),
    _ollama("chat"),
    _ollama("generate"),
)
