"""Ollama's native wire format on the server side: request bodies in, NDJSON lines and JSON answers out.

No HTTP here. Shapes follow Ollama's `/api/chat`, `/api/generate` and `/api/tags` closely enough for
the official `ollama` Python client and our own provider: one JSON object per line, each stamped with
`created_at`, the last one `"done": true` with the counters and nanosecond durations; errors are
`{"error": "..."}`, as a body or as a line. Ollama is lenient about unknown fields (the official client
sends empty `system`, `template`, `tools`...), so only what changes the answer is read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from json.encoder import encode_basestring as _quote  # str -> JSON string literal, non-ASCII kept as is
from typing import Any

from ..chunks import Chunk
from .problem import Problem, UnknownModel

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_ROLES = {"system": "system", "user": "user", "assistant": "assistant", "tool": "user"}
SERVER_ERROR_MESSAGE = "an error was encountered while running the model: unexpected EOF"

#: The demo model as /api/tags lists it: Ollama names always carry a tag.
MODEL_TAG = ":latest"


# -- requests in ------------------------------------------------------------------------------


@dataclass
class ParsedRequest:
    """A chat or generate request in our terms. `prompt` is a message list (chat) or a string."""

    model: str
    prompt: Any
    options: dict[str, Any] = field(default_factory=dict)
    stream: bool = True
    think: bool = False


def parse_chat(body: dict[str, Any]) -> ParsedRequest:
    """`/api/chat`: system messages become the system prompt, `tool` messages count as user turns."""
    parsed = _common(body)
    raw = body.get("messages") or []
    if not isinstance(raw, list):
        raise Problem(400, "messages must be an array of {role, content} objects")
    messages, system = [], []
    for i, item in enumerate(raw):
        role = _ROLES.get(str(item.get("role"))) if isinstance(item, dict) else None
        content = (item.get("content") or "") if isinstance(item, dict) else None
        if role is None or not isinstance(content, str):
            raise Problem(400, f"messages[{i}] must have a role ({', '.join(_ROLES)}) and a string content")
        if role == "system":
            system.append(content)
        else:
            messages.append({"role": role, "content": content})
    if system:
        parsed.options["system"] = "\n\n".join(system)
    parsed.prompt = messages
    return parsed


def parse_generate(body: dict[str, Any]) -> ParsedRequest:
    """`/api/generate`: a prompt string and an optional `system`."""
    parsed = _common(body)
    prompt, system = body.get("prompt") or "", body.get("system")
    if not isinstance(prompt, str) or not isinstance(system, (str, type(None))):
        raise Problem(400, "prompt and system must be strings")
    if system:
        parsed.options["system"] = system
    parsed.prompt = prompt
    return parsed


def _common(body: dict[str, Any]) -> ParsedRequest:
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise Problem(400, "model is required")
    stream, think = body.get("stream"), body.get("think")
    stream = True if stream is None else stream  # Ollama streams unless told not to
    if not isinstance(stream, bool):
        raise Problem(400, "stream must be true or false")
    options = body.get("options") or {}
    if not isinstance(options, dict):
        raise Problem(400, "options must be an object")
    ours: dict[str, Any] = {}
    for name, key, kinds in (
        ("temperature", "temperature", (int, float)),
        ("seed", "seed", (int,)),
        ("top_k", "top_k", (int,)),
        ("max_tokens", "num_predict", (int,)),
        ("stop", "stop", (list, str)),
    ):
        value = options.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, kinds) or (key == "stop" and not _strings(value)):
            raise Problem(400, f"options.{key} has the wrong type: {value!r:.40}")
        ours[name] = value
    if ours.get("max_tokens", 1) <= 0:  # -1 (no limit) and -2 (fill the context): the model's own limit
        del ours["max_tokens"]
    return ParsedRequest(model=model.strip(), prompt=None, options=ours, stream=stream, think=bool(think))


def _strings(value: Any) -> bool:
    return isinstance(value, str) or all(isinstance(item, str) for item in value)


# -- errors out -------------------------------------------------------------------------------

# What Ollama says for the statuses it answers with; `status=` faults use these words.
_STATUS_MESSAGES: dict[int, str] = {
    400: "invalid request",
    401: "unauthorized",
    403: "forbidden",
    404: "model '{model}' not found, try pulling it first",
    429: "too many requests, try again later",
    500: SERVER_ERROR_MESSAGE,
    503: "server busy, please try again.  maximum pending requests exceeded",
}


def status_problem(status: int, model: str, retry_after: str | None) -> Problem:
    """The error a `status=CODE` fault answers with."""
    message = _STATUS_MESSAGES.get(status, f"HTTP {status} (injected fault)").format(model=model)
    return Problem(status, message, headers={"retry-after": retry_after} if retry_after is not None else {})


def error_body(problem: Problem) -> bytes:
    """`{"error": "..."}`; an unknown model gets Ollama's own sentence, which tells what to do."""
    message = problem.message
    if isinstance(problem, UnknownModel):
        message = _STATUS_MESSAGES[404].format(model=problem.model)
    return _dumps({"error": message}).encode()


def error_line(message: str = SERVER_ERROR_MESSAGE) -> bytes:
    """An error in place of the next line of a stream that had started fine."""
    return _dumps({"error": message}).encode() + b"\n"


# -- answers out ------------------------------------------------------------------------------


def now() -> str:
    """`created_at`: RFC 3339 in UTC, as Ollama writes it."""
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


class Lines:
    """The NDJSON lines of one answer: the `StreamEncoder` (and `ThinkingEncoder`) of the Ollama routes.
    Chat carries text in `message.content` and reasoning in `message.thinking`, generate in `response` and
    `thinking`; the envelope is fixed per answer, so a token costs one JSON string escape and a concatenation."""

    def __init__(self, model: str, chat: bool) -> None:
        self._head = '{"model":' + _quote(model) + ',"created_at":"'
        self._open = '","message":{"role":"assistant","content":' if chat else '","response":'
        self._close = "}" if chat else ""
        self.chat = chat

    def opening(self) -> tuple[bytes, ...]:
        return ()

    def token(self, chunk: Chunk) -> bytes:
        return (self._head + now() + self._open + _quote(chunk.text) + self._close + ',"done":false}\n').encode()

    def finish(self, reason: str) -> bytes:
        return b""  # `done_reason` goes in the last line

    def reasoning(self, text: str) -> bytes:
        thinking = '"","thinking":' + _quote(text)
        return (self._head + now() + self._open + thinking + self._close + ',"done":false}\n').encode()

    def end_reasoning(self) -> tuple[bytes, ...]:
        return ()

    def malformed(self) -> bytes:
        """A line cut off mid-string, as a truncated write would leave it."""
        return (self._head + now() + self._open + '"\n').encode()

    def error(self, injected: bool) -> bytes:
        return error_line()

    def closing(self, finish_reason: str | None, usage: dict[str, int]) -> tuple[bytes, ...]:
        """The `"done": true` line that ends a stream, with the counters and durations in `usage`."""
        return (self.last("", finish_reason or "stop", usage),)

    def last(self, text: str, done_reason: str, stats: dict[str, int], thinking: str | None = None) -> bytes:
        """The `"done": true` object: the whole answer (and its `thinking`, if any) when not streaming,
        "" when it ends a stream."""
        tail = _dumps({"done": True, "done_reason": done_reason, **stats})
        content = _quote(text) + ("" if thinking is None else ',"thinking":' + _quote(thinking))
        return (self._head + now() + self._open + content + self._close + "," + tail[1:] + "\n").encode()


def tags(model: str, modified_at: str) -> bytes:
    """`GET /api/tags`: the one model this server serves, with the details Ollama clients read."""
    name = model + MODEL_TAG
    details = {
        "parent_model": "",
        "format": "ngram",
        "family": model,
        "families": [model],
        "parameter_size": "",
        "quantization_level": "",
    }
    entry = {"name": name, "model": name, "modified_at": modified_at, "size": 0, "digest": "", "details": details}
    return _dumps({"models": [entry]}).encode()
