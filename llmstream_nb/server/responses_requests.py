"""Reading OpenAI Responses API request bodies (`POST /v1/responses`) into the demo model's terms.

Problems are 400s in OpenAI's shape naming the parameter, as on the Chat Completions route. `input` is a
string or a list of items: messages (content a string or `input_text`/`output_text` parts) are the
conversation; other items (tool outputs, reasoning) are read as user text where they hold any. `seed`,
`top_k` and `min_tokens` are extensions of this server (the real API has none), for answers that repeat.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .openai_requests import _ROLES, _boolean, _content, _integer, _number
from .problem import Problem

LOGPROBS_INCLUDE = "message.output_text.logprobs"


@dataclass
class ParsedResponseRequest:
    """A `/v1/responses` request in our terms. `reasoning_summary`: the request asked to see a summary of
    the reasoning (`reasoning: {"summary": ...}`), which the demo answers by thinking first."""

    model: str
    messages: list[dict[str, str]]
    options: dict[str, Any] = field(default_factory=dict)
    stream: bool = False
    logprobs: bool = False
    max_output_tokens: int | None = None
    reasoning_summary: bool = False
    echo: dict[str, Any] = field(default_factory=dict)


def parse_responses(body: dict[str, Any]) -> ParsedResponseRequest:
    """A `/v1/responses` body."""
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise Problem(400, "Missing required parameter: 'model'.", param="model", code="missing_required_parameter")
    messages = _input(body.get("input"))
    parsed = ParsedResponseRequest(model.strip(), messages, stream=_boolean(body, "stream"))
    system = [m["content"] for m in messages if m["role"] == "system"]
    instructions = body.get("instructions")
    if isinstance(instructions, str) and instructions:
        system.insert(0, instructions)
    if system:
        parsed.options["system"] = "\n\n".join(system)
    parsed.max_output_tokens = _integer(body, "max_output_tokens", 1)
    for key, value in (
        ("temperature", _number(body, "temperature", 0.0, 2.0)),
        ("max_tokens", parsed.max_output_tokens),
        ("seed", _integer(body, "seed", -(2**63), 2**63)),
        ("top_k", _integer(body, "top_k", -1)),
        ("min_tokens", _integer(body, "min_tokens", 0)),
    ):
        if value is not None:
            parsed.options[key] = value
    include = body.get("include") or []
    if not isinstance(include, list) or not all(isinstance(item, str) for item in include):
        raise Problem(400, "Invalid type for 'include': expected an array of strings.", param="include")
    top = _integer(body, "top_logprobs", 0, 20)
    parsed.logprobs = LOGPROBS_INCLUDE in include
    if parsed.logprobs:
        parsed.options["logprobs"] = True
        parsed.options["top_logprobs"] = top or 0
    reasoning = body.get("reasoning")
    parsed.reasoning_summary = isinstance(reasoning, dict) and bool(reasoning.get("summary"))
    # Echoed in the response object, as the real API does.
    parsed.echo = {
        "instructions": instructions if isinstance(instructions, str) else None,
        "max_output_tokens": parsed.max_output_tokens,
        "temperature": parsed.options.get("temperature", 1.0),
        "top_logprobs": top or 0,
        "reasoning": reasoning if isinstance(reasoning, dict) else {"effort": None, "summary": None},
    }
    return parsed


def _input(raw: Any) -> list[dict[str, str]]:
    if isinstance(raw, str):
        return [{"role": "user", "content": raw}]
    if not isinstance(raw, list) or not raw:
        raise Problem(
            400,
            "Invalid 'input': expected a string or a non-empty array of input items.",
            param="input",
            code="invalid_value",
        )
    messages = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise Problem(400, f"Invalid 'input[{i}]': expected an object.", param=f"input[{i}]", code="invalid_type")
        kind = item.get("type", "message")
        if kind == "message" or "role" in item:
            name = item.get("role")
            role = _ROLES.get(name) if isinstance(name, str) else None
            if role is None:
                raise Problem(
                    400,
                    f"Invalid 'input[{i}].role': expected one of {', '.join(_ROLES)}.",
                    param=f"input[{i}].role",
                    code="invalid_value",
                )
            messages.append({"role": role, "content": _content(item.get("content"), i)})
        elif kind == "function_call_output" and isinstance(item.get("output"), str):
            messages.append({"role": "user", "content": item["output"]})
    if not messages:
        raise Problem(400, "Invalid 'input': no message to answer.", param="input", code="invalid_value")
    return messages
