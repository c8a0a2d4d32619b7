"""Reading Gemini `generateContent` request bodies into the demo model's terms.

Problems are 400 `INVALID_ARGUMENT`s worded the way Google words them (`Invalid value at
'generation_config.temperature'`), naming the field, so a client learns what the real API would tell it.
Unknown fields are ignored (`safetySettings`, `tools`...). The REST API takes both spellings of a field
(`generationConfig` and `generation_config`), and so does this parser.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .problem import Problem

_ROLES = {"user": "user", "model": "assistant"}
#: Gemini's limit on alternatives per token.
MAX_TOP_LOGPROBS = 20


@dataclass
class ParsedContent:
    """A `generateContent` request in our terms: the conversation, the demo's options, thinking and logprobs."""

    messages: list[dict[str, str]]
    options: dict[str, Any] = field(default_factory=dict)
    thinking_budget: int | None = None
    include_thoughts: bool = False
    logprobs: bool = False


def invalid(message: str) -> Problem:
    return Problem(400, message, type="INVALID_ARGUMENT")


def parse_content(body: dict[str, Any]) -> ParsedContent:
    """A `generateContent` / `streamGenerateContent` body (the model is in the URL, not the body)."""
    parsed = ParsedContent(_contents(_field(body, "contents")))
    system = _field(body, "systemInstruction")
    if system is not None:
        text = _parts_text(system.get("parts") if isinstance(system, dict) else None, "system_instruction")
        if text:
            parsed.options["system"] = text
    config = _field(body, "generationConfig") or {}
    if not isinstance(config, dict):
        raise invalid("Invalid value at 'generation_config': expected an object")
    for key, value in (
        ("temperature", _number(config, "temperature", 0.0, 2.0)),
        ("max_tokens", _integer(config, "maxOutputTokens", 1)),
        ("stop", _stop(_field(config, "stopSequences"))),
        ("seed", _integer(config, "seed", -(2**31), 2**31 - 1)),
        ("top_k", _integer(config, "topK", 1)),
    ):
        if value is not None:
            parsed.options[key] = value
    if _field(config, "responseLogprobs"):
        parsed.logprobs = True
        parsed.options["logprobs"] = True
        parsed.options["top_logprobs"] = _integer(config, "logprobs", 0, MAX_TOP_LOGPROBS) or 0
    thinking = _field(config, "thinkingConfig")
    if thinking is not None:
        if not isinstance(thinking, dict):
            raise invalid("Invalid value at 'generation_config.thinking_config': expected an object")
        budget = _integer(thinking, "thinkingBudget", -1, 32768, "generation_config.thinking_config.")
        parsed.include_thoughts = bool(_field(thinking, "includeThoughts"))
        parsed.thinking_budget = budget
    return parsed


def thinks(parsed: ParsedContent) -> bool:
    """Whether the demo should think first: thoughts asked for, and a budget that does not turn them off."""
    return parsed.include_thoughts and parsed.thinking_budget != 0


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def _field(body: dict[str, Any], name: str) -> Any:
    """`body[name]`, or its snake_case spelling, as the REST API accepts either."""
    return body[name] if name in body else body.get(_snake(name))


def _contents(raw: Any) -> list[dict[str, str]]:
    if not isinstance(raw, list) or not raw:
        raise invalid("* GenerateContentRequest.contents: contents is not specified")
    messages = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise invalid(f"Invalid value at 'contents[{i}]': expected a Content object")
        role = item.get("role") or "user"
        if role not in _ROLES:
            raise invalid(f"Please use a valid role: user, model. (contents[{i}].role: {role!r})")
        messages.append({"role": _ROLES[role], "content": _parts_text(item.get("parts"), f"contents[{i}].parts")})
    return messages


def _parts_text(parts: Any, where: str) -> str:
    """The text of a list of parts; parts of other kinds (images, function calls) carry none we can use."""
    if not isinstance(parts, list):
        raise invalid(f"* GenerateContentRequest.{where}: parts is not specified")
    texts = []
    for part in parts:
        if not isinstance(part, dict):
            raise invalid(f"Invalid value at '{where}': expected a Part object")
        text = part.get("text")
        if text is not None and not isinstance(text, str):
            raise invalid(f"Invalid value at '{where}.text' (TYPE_STRING), {text!r}")
        if text and not part.get("thought"):
            texts.append(text)
    return "".join(texts)


def _where(prefix: str, key: str) -> str:
    return f"{prefix or 'generation_config.'}{_snake(key)}"


def _number(config: dict[str, Any], key: str, low: float, high: float) -> float | None:
    value = _field(config, key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise invalid(f"Invalid value at '{_where('', key)}' (TYPE_FLOAT), {value!r}")
    if not low <= value <= high:
        raise invalid(f"* GenerateContentRequest.{_where('', key)}: must be in the range [{low:g}, {high:g}]")
    return float(value)


def _integer(config: dict[str, Any], key: str, low: int, high: int | None = None, prefix: str = "") -> int | None:
    value = _field(config, key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(f"Invalid value at '{_where(prefix, key)}' (TYPE_INT32), {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise invalid(f"* GenerateContentRequest.{_where(prefix, key)}: must be {bound}")
    return value


def _stop(value: Any) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise invalid("Invalid value at 'generation_config.stop_sequences': expected a list of strings")
    return value or None
