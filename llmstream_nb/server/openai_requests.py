"""Reading OpenAI request bodies (Chat Completions and legacy Completions) into the demo model's terms.

Every problem is a 400 in OpenAI's shape, naming the parameter (`param`), so a client sees exactly what
to fix. Unknown parameters are ignored, as OpenAI-compatible servers do; those that would change the
answer in a way this server cannot honour (`n > 1`, `echo`, `best_of > 1`) are refused.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from .problem import Problem

_ROLES = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "assistant": "assistant",
    "tool": "user",
    "function": "user",
}
_TEXT_PARTS = ("text", "input_text", "output_text")


@dataclass
class ParsedRequest:
    """A chat or completions request in our terms. `prompt` is a message list (chat) or a string."""

    model: str
    prompt: Any
    options: dict[str, Any] = field(default_factory=dict)
    stream: bool = False
    include_usage: bool = False
    logprobs: bool = False


def parse_json(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 in OpenAI's words."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested deeper than the interpreter goes
        why = "it is nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:200]
        raise Problem(
            400, f"We could not parse the JSON body of your request: {why}. The API expects a JSON payload."
        ) from None
    if not isinstance(body, dict):
        raise Problem(400, f"The request body must be a JSON object, not {type(body).__name__}.")
    return body


def parse_chat(body: dict[str, Any]) -> ParsedRequest:
    """A `/v1/chat/completions` body. `top_logprobs` implies `logprobs`."""
    messages, system = _messages(body.get("messages"))
    parsed = _common(body)
    parsed.prompt = messages
    if system:
        parsed.options["system"] = system
    top = _integer(body, "top_logprobs", 0, 20)
    parsed.logprobs = _boolean(body, "logprobs") or bool(top)
    if parsed.logprobs:
        parsed.options["logprobs"] = True
        parsed.options["top_logprobs"] = top or 0
    return parsed


def parse_completion(body: dict[str, Any]) -> ParsedRequest:
    """A legacy `/v1/completions` body: one prompt string; `logprobs=N` asks for N alternatives per token."""
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if prompt is None:
        raise Problem(400, "Missing required parameter: 'prompt'.", param="prompt", code="missing_required_parameter")
    if not isinstance(prompt, str):
        raise Problem(
            400, "Invalid 'prompt': this server takes one prompt string.", param="prompt", code="invalid_value"
        )
    if body.get("echo"):
        raise Problem(400, "'echo' is not supported by this server.", param="echo", code="unsupported_parameter")
    if (_integer(body, "best_of", 1) or 1) != 1:
        raise Problem(400, "'best_of' must be 1 on this server.", param="best_of")
    parsed = _common(body)
    parsed.prompt = prompt
    top = _integer(body, "logprobs", 0, 20)
    if top is not None:
        parsed.logprobs = True
        parsed.options["logprobs"] = True
        parsed.options["top_logprobs"] = top
    return parsed


def _common(body: dict[str, Any]) -> ParsedRequest:
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise Problem(400, "Missing required parameter: 'model'.", param="model", code="missing_required_parameter")
    if (_integer(body, "n", 1, 128) or 1) != 1:
        raise Problem(
            400, "This server generates one choice per request: 'n' must be 1.", param="n", code="invalid_value"
        )
    options: dict[str, Any] = {}
    for key, value in (
        ("temperature", _number(body, "temperature", 0.0, 2.0)),
        ("max_tokens", _integer(body, "max_completion_tokens", 1) or _integer(body, "max_tokens", 1)),
        ("seed", _integer(body, "seed", -(2**63), 2**63)),
        ("stop", _stop(body.get("stop"))),
        ("top_k", _integer(body, "top_k", -1)),  # extensions, as vLLM takes them
        ("min_tokens", _integer(body, "min_tokens", 0)),
    ):
        if value is not None:
            options[key] = value
    stream = _boolean(body, "stream")
    stream_options = body.get("stream_options") or {}
    if not isinstance(stream_options, dict):
        raise Problem(
            400, "Invalid type for 'stream_options': expected an object.", param="stream_options", code="invalid_type"
        )
    include_usage = stream and bool(stream_options.get("include_usage"))
    return ParsedRequest(model=model.strip(), prompt=None, options=options, stream=stream, include_usage=include_usage)


def _messages(raw: Any) -> tuple[list[dict[str, str]], str | None]:
    if raw is None:
        raise Problem(
            400, "Missing required parameter: 'messages'.", param="messages", code="missing_required_parameter"
        )
    if not isinstance(raw, list) or not raw:
        raise Problem(
            400, "Invalid 'messages': expected a non-empty array of messages.", param="messages", code="invalid_value"
        )
    messages, system = [], []
    for i, item in enumerate(raw):
        name = item.get("role") if isinstance(item, dict) else None
        role = _ROLES.get(name) if isinstance(name, str) else None
        if role is None:
            raise Problem(
                400,
                f"Invalid 'messages[{i}]': expected an object with a role of {', '.join(_ROLES)}.",
                param=f"messages[{i}]",
                code="invalid_value",
            )
        content = _content(item.get("content"), i)
        if role == "system":
            system.append(content)
        messages.append({"role": role, "content": content})
    return messages, "\n\n".join(system) or None


def _content(content: Any, i: int) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") in _TEXT_PARTS)
    raise Problem(
        400,
        f"Invalid type for 'messages[{i}].content': expected a string or an array of parts.",
        param=f"messages[{i}].content",
        code="invalid_type",
    )


def _number(body: dict[str, Any], key: str, low: float, high: float) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise Problem(400, f"Invalid type for '{key}': expected a number.", param=key, code="invalid_type")
    if not low <= value <= high:
        raise Problem(
            400,
            f"Invalid '{key}': expected a value between {low:g} and {high:g}, got {value}.",
            param=key,
            code="invalid_value",
        )
    return float(value)


def _integer(body: dict[str, Any], key: str, low: int, high: int | None = None) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise Problem(400, f"Invalid type for '{key}': expected an integer.", param=key, code="invalid_type")
    if value < low or (high is not None and value > high):
        limit = f"between {low} and {high}" if high is not None else f">= {low}"
        raise Problem(
            400, f"Invalid '{key}': expected an integer {limit}, got {value}.", param=key, code="invalid_value"
        )
    return value


def _boolean(body: dict[str, Any], key: str) -> bool:
    value = body.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise Problem(400, f"Invalid type for '{key}': expected a boolean.", param=key, code="invalid_type")
    return value


def _stop(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(s, str) for s in value):
        return value or None
    raise Problem(
        400, "Invalid type for 'stop': expected a string or an array of strings.", param="stop", code="invalid_type"
    )
