"""The Anthropic Messages wire format going out: errors, whole messages and SSE events. No HTTP here, only bytes.

Shapes follow https://docs.anthropic.com/en/api/messages and /messages-streaming closely enough for the
official `anthropic` SDK and our own client: each event is `event: <type>` then `data: <json>` whose
`type` repeats the event name. The text delta, sent once per token, is built from a template, so the
per-token work is one JSON string escape and one concatenation, as on the OpenAI routes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from json.encoder import encode_basestring as _quote  # str -> JSON string literal, non-ASCII kept as is
from typing import Any

from ..chunks import Chunk
from .problem import Problem, UnknownModel

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

SERVER_ERROR_MESSAGE = "Internal server error"

# -- errors -----------------------------------------------------------------------------------

#: Anthropic's error type for each status (https://docs.anthropic.com/en/api/errors); other 5xx are api_error.
ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}

# What Anthropic says for each status a `status=` fault can ask for.
_STATUS_MESSAGES: dict[int, str] = {
    400: "There was an issue with the format or content of your request.",
    401: "invalid x-api-key",
    403: "Your API key does not have permission to use the specified resource.",
    404: "model: {model}",
    413: "Request exceeds the maximum allowed number of bytes.",
    429: "Your account has hit a rate limit. Please try again in {retry}s.",
    500: SERVER_ERROR_MESSAGE,
    529: "Overloaded",
}


def error_type(status: int) -> str:
    if status in ERROR_TYPES:
        return ERROR_TYPES[status]
    return "api_error" if status >= 500 else "invalid_request_error"


def status_problem(status: int, model: str, retry_after: str | None) -> Problem:
    """The error a `status=CODE` fault answers with, in Anthropic's words where Anthropic has some."""
    message = _STATUS_MESSAGES.get(status, f"HTTP {status} (injected fault).").format(
        model=model, retry=retry_after or "1"
    )
    headers = {"retry-after": retry_after} if retry_after is not None else {}
    return Problem(status, message, type=error_type(status), headers=headers)


def error_body(problem: Problem) -> bytes:
    """`{"type": "error", "error": {"type", "message"}}`. Types set by protocol-neutral code for OpenAI
    (`server_error`...) give way to Anthropic's type for the status."""
    kind = problem.type if problem.type in ERROR_TYPES.values() else error_type(problem.status)
    message = f"model: {problem.model}" if isinstance(problem, UnknownModel) else problem.message
    return _dumps({"type": "error", "error": {"type": kind, "message": message}}).encode()


def event(payload: dict[str, Any]) -> bytes:
    """One SSE event: its `type` as the event name, the payload as its data."""
    return f"event: {payload['type']}\ndata: {_dumps(payload)}\n\n".encode()


def error_event(kind: str, message: str) -> bytes:
    """An error inside a stream that had started fine (the response is already a 200)."""
    return event({"type": "error", "error": {"type": kind, "message": message}})


#: What Anthropic sends when generation fails mid-stream (its documented example).
OVERLOADED_EVENT = error_event("overloaded_error", "Overloaded")
PING_EVENT = event({"type": "ping"})
STOP_EVENT = event({"type": "message_stop"})


# -- messages -----------------------------------------------------------------------------------


def new_id() -> str:
    return f"msg_{secrets.token_hex(12)}"


def stop_reason(finish_reason: str | None) -> str:
    """The demo's finish reason in Anthropic's words. The demo does not say whether a stop sequence
    ended its answer, so `stop_sequence` is never reported: such answers say `end_turn`."""
    return "max_tokens" if finish_reason == "length" else "end_turn"


def usage(input_tokens: int, output_tokens: int) -> dict[str, int]:
    return {"input_tokens": input_tokens, "output_tokens": output_tokens}


def signature(thinking: str) -> str:
    """A stand-in for the signature Anthropic puts on a thinking block (a digest of it, nothing more):
    clients must pass it back untouched and never read it, which is all a test needs."""
    return base64.b64encode(hashlib.sha256(thinking.encode()).digest()).decode()


def message(
    id: str, model: str, thinking: str | None, text: str, finish_reason: str | None, usage: dict[str, int]
) -> bytes:
    """A whole `message` answer: a thinking block if there was thinking, then the text block."""
    content: list[dict[str, Any]] = []
    if thinking is not None:
        content.append({"type": "thinking", "thinking": thinking, "signature": signature(thinking)})
    content.append({"type": "text", "text": text})
    return _dumps(
        {
            "id": id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": stop_reason(finish_reason),
            "stop_sequence": None,
            "usage": usage,
        }
    ).encode()


class MessageFrames:
    """The SSE events of one streamed message, numbered per content block: the `StreamEncoder` (and
    `ThinkingEncoder`) of the Anthropic routes. With `thinking`, a `thinking` block comes before the text."""

    def __init__(self, id: str, model: str, thinking: bool = False) -> None:
        self.id = id
        self.model = model
        self.thinking = thinking
        self.index = -1
        self._text_head = ""
        self._thoughts: list[str] = []

    def start(self) -> bytes:
        """`message_start`. The demo reports its prompt tokens when it ends, so they come in `message_delta`
        (which carries `input_tokens` too, as the API does nowadays) and this one says 0."""
        shell: dict[str, Any] = {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage(0, 0),
        }
        return event({"type": "message_start", "message": shell})

    def opening(self) -> tuple[bytes, ...]:
        """`message_start`, the first block, and a ping after it opens, as the API does."""
        return self.start(), self.block_start("thinking" if self.thinking else "text"), PING_EVENT

    def block_start(self, kind: str) -> bytes:
        """Open the next content block: `text` or `thinking`."""
        self.index += 1
        self._text_head = (
            f'event: content_block_delta\ndata: {{"type":"content_block_delta","index":{self.index},'
            '"delta":{"type":"text_delta","text":'
        )
        empty = {"text": ""} if kind == "text" else {"thinking": "", "signature": ""}
        block = {"type": kind, **empty}
        return event({"type": "content_block_start", "index": self.index, "content_block": block})

    def token(self, chunk: Chunk) -> bytes:
        return (self._text_head + _quote(chunk.text) + "}}\n\n").encode()

    def finish(self, reason: str) -> bytes:
        return b""  # the stop reason goes in `message_delta`, at the end

    def reasoning(self, text: str) -> bytes:
        self._thoughts.append(text)
        return self._delta({"type": "thinking_delta", "thinking": text})

    def end_reasoning(self) -> tuple[bytes, ...]:
        """The thinking block's stand-in signature, its end, and the text block."""
        sign = self._delta({"type": "signature_delta", "signature": signature("".join(self._thoughts))})
        return sign, self.block_stop(), self.block_start("text")

    def _delta(self, delta: dict[str, str]) -> bytes:
        return event({"type": "content_block_delta", "index": self.index, "delta": delta})

    def block_stop(self) -> bytes:
        return event({"type": "content_block_stop", "index": self.index})

    def closing(self, finish_reason: str | None, usage: dict[str, int]) -> tuple[bytes, ...]:
        """The text block's end, `message_delta` with the stop reason and the final counts, `message_stop`."""
        delta = {"stop_reason": stop_reason(finish_reason), "stop_sequence": None}
        return self.block_stop(), event({"type": "message_delta", "delta": delta, "usage": usage}), STOP_EVENT

    def malformed(self) -> bytes:
        """A delta cut off mid-JSON, as a broken proxy or a truncated write would leave it."""
        return (self._text_head + '"\n\n').encode()

    def error(self, injected: bool) -> bytes:
        """An `error_after` fault as Anthropic's overloaded error; a model failure as an `api_error`."""
        return OVERLOADED_EVENT if injected else error_event("api_error", SERVER_ERROR_MESSAGE)
