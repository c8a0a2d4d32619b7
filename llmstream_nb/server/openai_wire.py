"""The OpenAI HTTP wire format going out: errors, whole answers and SSE frames. No HTTP here, only bytes.

Shapes follow the Chat Completions and legacy Completions APIs closely enough for the official `openai`
SDK and our own client. Streaming frames are built from per-response templates, so the per-token work is
one JSON string escape and one concatenation: the benchmarks push 20,000 chunks through this server and
must measure the client, not us.
"""

from __future__ import annotations

import json
import secrets
from json.encoder import encode_basestring as _quote  # str -> JSON string literal, non-ASCII kept as is
from typing import Any

from ..chunks import Chunk, Usage
from .problem import Problem

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

DONE = b"data: [DONE]\n\n"
SERVER_ERROR_MESSAGE = "The server had an error while processing your request. Sorry about that!"


# -- errors -----------------------------------------------------------------------------------

# What OpenAI says for each status a `status=` fault can ask for: message, type, code.
_STATUS_ERRORS: dict[int, tuple[str, str, str | None]] = {
    400: ("Invalid request: the request could not be processed.", "invalid_request_error", None),
    401: ("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"),
    403: ("You do not have access to the model `{model}`.", "permission_error", "permission_denied"),
    404: (
        "The model `{model}` does not exist or you do not have access to it.",
        "invalid_request_error",
        "model_not_found",
    ),
    429: (
        "Rate limit reached for {model} on requests per min (RPM). Please try again in {retry}s.",
        "requests",
        "rate_limit_exceeded",
    ),
    500: (SERVER_ERROR_MESSAGE, "server_error", None),
    503: ("The server is overloaded or not ready yet.", "server_error", None),
}


def status_problem(status: int, model: str, retry_after: str | None) -> Problem:
    """The error a `status=CODE` fault answers with, in OpenAI's words where OpenAI has some."""
    if status in _STATUS_ERRORS:
        message, kind, code = _STATUS_ERRORS[status]
        message = message.format(model=model, retry=retry_after or "1")
    else:
        message, kind, code = f"HTTP {status} (injected fault).", _type_for(status), None
    headers = {"retry-after": retry_after} if retry_after is not None else {}
    return Problem(status, message, code=code, type=kind, headers=headers)


def _type_for(status: int) -> str:
    return "server_error" if status >= 500 else "invalid_request_error"


def error_body(problem: Problem) -> bytes:
    """`{"error": {"message", "type", "param", "code"}}`."""
    kind = problem.type or _type_for(problem.status)
    return _dumps(
        {"error": {"message": problem.message, "type": kind, "param": problem.param, "code": problem.code}}
    ).encode()


def stream_error(message: str = SERVER_ERROR_MESSAGE) -> bytes:
    """An error object inside an SSE stream, as OpenAI sends it when generation fails midway."""
    return (
        b"data: "
        + _dumps({"error": {"message": message, "type": "server_error", "param": None, "code": None}}).encode()
        + b"\n\n"
    )


# -- responses --------------------------------------------------------------------------------


def new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(12)}"


def usage_dict(usage: Usage, tokens: int) -> dict[str, int]:
    prompt = usage.prompt_tokens or 0
    completion = tokens if usage.completion_tokens is None else usage.completion_tokens
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _model(model_id: str, created: int) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": created, "owned_by": "llmstream-nb"}


def models_list(model_ids: list[str], created: int) -> bytes:
    """`GET /v1/models`."""
    return _dumps({"object": "list", "data": [_model(m, created) for m in model_ids]}).encode()


def model_object(model_id: str, created: int) -> bytes:
    """`GET /v1/models/{id}`."""
    return _dumps(_model(model_id, created)).encode()


def chat_logprob(chunk: Chunk) -> dict[str, Any]:
    """One entry of `logprobs.content`: the token, its logprob, its UTF-8 bytes and the alternatives."""
    return {
        "token": chunk.text,
        "logprob": chunk.logprob,
        "bytes": list(chunk.text.encode()),
        "top_logprobs": [{"token": t, "logprob": lp, "bytes": list(t.encode())} for t, lp in chunk.top_logprobs or ()],
    }


def _top_map(chunk: Chunk) -> dict[str, float] | None:
    return dict(chunk.top_logprobs) if chunk.top_logprobs else None


class _Frames:
    """What the chat and the legacy stream share: the usage chunk, `[DONE]`, and the in-stream error."""

    _envelope: str
    include_usage: bool

    def closing(self, finish_reason: str | None, usage: dict[str, int]) -> tuple[bytes, ...]:
        """The usage chunk if the request asked for it (`stream_options.include_usage`), then `[DONE]`."""
        if not self.include_usage:
            return (DONE,)
        return f'data: {self._envelope},"choices":[],"usage":{_dumps(usage)}}}\n\n'.encode(), DONE

    def error(self, injected: bool) -> bytes:
        return stream_error()


class ChatFrames(_Frames):
    """The SSE frames of one `chat.completion.chunk` stream, built from templates fixed per response:
    the `StreamEncoder` of `/v1/chat/completions`."""

    def __init__(self, id: str, created: int, model: str, *, include_usage: bool, logprobs: bool) -> None:
        self._envelope = f'{{"id":"{id}","object":"chat.completion.chunk","created":{created},"model":{_quote(model)}'
        self._usage_null = ',"usage":null' if include_usage else ""
        self._head = f'data: {self._envelope},"choices":[{{"index":0,"delta":'
        self._content = self._head + '{"content":'
        self._tail = '},"logprobs":null,"finish_reason":null}]' + self._usage_null + "}\n\n"
        self._logprobs_tail = ']},"finish_reason":null}]' + self._usage_null + "}\n\n"
        self.include_usage = include_usage
        self.logprobs = logprobs

    def opening(self) -> tuple[bytes, ...]:
        """The role-only first chunk."""
        return ((self._head + '{"role":"assistant","content":""' + self._tail).encode(),)

    def token(self, chunk: Chunk) -> bytes:
        if self.logprobs:
            entry = _dumps(chat_logprob(chunk))
            return (
                self._content + _quote(chunk.text) + '},"logprobs":{"content":[' + entry + self._logprobs_tail
            ).encode()
        return (self._content + _quote(chunk.text) + self._tail).encode()

    def finish(self, reason: str) -> bytes:
        return (
            self._head + '{},"logprobs":null,"finish_reason":' + _quote(reason) + "}]" + self._usage_null + "}\n\n"
        ).encode()

    def malformed(self) -> bytes:
        """A frame cut off mid-JSON, as a broken proxy or a truncated write would leave it."""
        return (self._content + '"\n\n').encode()


class CompletionFrames(_Frames):
    """The SSE frames of one legacy `text_completion` stream (no role chunk, text in `choices[0].text`):
    the `StreamEncoder` of `/v1/completions`."""

    def __init__(self, id: str, created: int, model: str, *, include_usage: bool, logprobs: bool) -> None:
        self._envelope = f'{{"id":"{id}","object":"text_completion","created":{created},"model":{_quote(model)}'
        self._usage_null = ',"usage":null' if include_usage else ""
        self._head = f'data: {self._envelope},"choices":[{{"text":'
        self._tail = ',"index":0,"logprobs":null,"finish_reason":null}]' + self._usage_null + "}\n\n"
        self.include_usage = include_usage
        self.logprobs = logprobs
        self._offset = 0

    def opening(self) -> tuple[bytes, ...]:
        return ()

    def token(self, chunk: Chunk) -> bytes:
        if self.logprobs:
            logprobs = completion_logprobs([chunk], self._offset)
            self._offset += len(chunk.text)
            tail = ',"index":0,"logprobs":' + _dumps(logprobs) + ',"finish_reason":null}]' + self._usage_null + "}\n\n"
            return (self._head + _quote(chunk.text) + tail).encode()
        return (self._head + _quote(chunk.text) + self._tail).encode()

    def finish(self, reason: str) -> bytes:
        tail = ',"index":0,"logprobs":null,"finish_reason":' + _quote(reason) + "}]" + self._usage_null + "}\n\n"
        return (self._head + '""' + tail).encode()

    def malformed(self) -> bytes:
        return (self._head + '"\n\n').encode()


def completion_logprobs(chunks: list[Chunk], offset: int = 0) -> dict[str, Any]:
    """Legacy `logprobs`: parallel lists of tokens, their logprobs, `{token: logprob}` alternatives, offsets."""
    offsets = []
    for chunk in chunks:
        offsets.append(offset)
        offset += len(chunk.text)
    return {
        "tokens": [c.text for c in chunks],
        "token_logprobs": [c.logprob for c in chunks],
        "top_logprobs": [_top_map(c) for c in chunks],
        "text_offset": offsets,
    }


def chat_completion(
    id: str,
    created: int,
    model: str,
    text: str,
    finish_reason: str | None,
    usage: dict[str, int],
    logprobs: list[Chunk] | None,
) -> bytes:
    """A whole `chat.completion` answer."""
    choice = {
        "index": 0,
        "message": {"role": "assistant", "content": text, "refusal": None},
        "logprobs": None if logprobs is None else {"content": [chat_logprob(c) for c in logprobs]},
        "finish_reason": finish_reason,
    }
    return _dumps(
        {"id": id, "object": "chat.completion", "created": created, "model": model, "choices": [choice], "usage": usage}
    ).encode()


def text_completion(
    id: str,
    created: int,
    model: str,
    text: str,
    finish_reason: str | None,
    usage: dict[str, int],
    logprobs: list[Chunk] | None,
) -> bytes:
    """A whole legacy `text_completion` answer."""
    choice = {
        "text": text,
        "index": 0,
        "logprobs": None if logprobs is None else completion_logprobs(logprobs),
        "finish_reason": finish_reason,
    }
    return _dumps(
        {"id": id, "object": "text_completion", "created": created, "model": model, "choices": [choice], "usage": usage}
    ).encode()
