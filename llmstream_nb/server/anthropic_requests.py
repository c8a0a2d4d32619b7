"""Reading Anthropic Messages request bodies into the demo model's terms.

Problems are 400s worded the way Anthropic words them (`max_tokens: Field required`), so a client
learns what the real API would tell it. Unknown fields are ignored, as on the OpenAI routes; `seed`
is an extension of this server (Anthropic has none), for answers that repeat.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .problem import Problem

_ROLES = ("user", "assistant")
#: Anthropic's floor for an extended-thinking budget.
MIN_THINKING_BUDGET = 1024


@dataclass
class ParsedMessages:
    """A `/v1/messages` request in our terms: the conversation, the demo's options, and the thinking budget."""

    model: str
    messages: list[dict[str, str]]
    max_tokens: int
    options: dict[str, Any] = field(default_factory=dict)
    stream: bool = False
    thinking_budget: int | None = None


def parse_messages(body: dict[str, Any]) -> ParsedMessages:
    """A `/v1/messages` body; `system` may be a string or a list of text blocks."""
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise _invalid("model: Field required")
    max_tokens = _integer(body, "max_tokens", 1)
    if max_tokens is None:
        raise _invalid("max_tokens: Field required")
    parsed = ParsedMessages(model.strip(), _messages(body.get("messages")), max_tokens)
    system = _text(body.get("system"), "system")
    if system:
        parsed.options["system"] = system
    for key, value in (
        ("temperature", _temperature(body)),
        ("stop", _stop_sequences(body.get("stop_sequences"))),
        ("top_k", _integer(body, "top_k", 0)),
        ("seed", _integer(body, "seed", -(2**63))),
    ):
        if value is not None:
            parsed.options[key] = value
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise _invalid("stream: Input should be a valid boolean")
    parsed.stream = stream
    parsed.thinking_budget = _thinking(body.get("thinking"), max_tokens)
    return parsed


def _invalid(message: str) -> Problem:
    return Problem(400, message, type="invalid_request_error")


def _messages(raw: Any) -> list[dict[str, str]]:
    if raw is None:
        raise _invalid("messages: Field required")
    if not isinstance(raw, list) or not raw:
        raise _invalid("messages: at least one message is required")
    messages = []
    for i, item in enumerate(raw):
        role = item.get("role") if isinstance(item, dict) else None
        if role not in _ROLES:
            raise _invalid(f"messages.{i}.role: Input should be 'user' or 'assistant'")
        messages.append({"role": role, "content": _text(item.get("content"), f"messages.{i}.content")})
    return messages


def _text(content: Any, where: str) -> str:
    """A string, or the text of a list of content blocks (images and tool blocks carry none we can use)."""
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list):
        return "".join(b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text")
    raise _invalid(f"{where}: Input should be a valid string or a list of content blocks")


def _temperature(body: dict[str, Any]) -> float | None:
    value = body.get("temperature")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _invalid("temperature: Input should be a valid number")
    if not 0 <= value <= 1:
        raise _invalid(f"temperature: range: 0..1, got {value}")
    return float(value)


def _integer(body: dict[str, Any], key: str, low: int, where: str = "") -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(f"{where}{key}: Input should be a valid integer")
    if value < low:
        raise _invalid(f"{where}{key}: Input should be greater than or equal to {low}")
    return value


def _stop_sequences(value: Any) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise _invalid("stop_sequences: Input should be a valid list of strings")
    return value or None


def _thinking(value: Any, max_tokens: int) -> int | None:
    """The budget of `{"type": "enabled", "budget_tokens": N}`, None for no thinking; Anthropic's own limits."""
    if value is None:
        return None
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "disabled":
        return None
    if kind != "enabled":
        raise _invalid("thinking.type: Input should be 'enabled' or 'disabled'")
    budget = _integer(value, "budget_tokens", MIN_THINKING_BUDGET, "thinking.enabled.")
    if budget is None:
        raise _invalid("thinking.enabled.budget_tokens: Field required")
    if max_tokens <= budget:
        raise _invalid("`max_tokens` must be greater than `thinking.budget_tokens`")
    return budget
