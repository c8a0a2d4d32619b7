"""Generation options shared by every provider, and the request a model receives.

Options are checked by name when a model is made and on every call, so a typo such as
`temprature=0` fails at once with the list of what is known instead of being ignored.
"""

from __future__ import annotations

import difflib
import json
import math
from dataclasses import dataclass, field, fields, replace
from typing import Any, Mapping, Sequence

from .errors import ConfigurationError

Message = dict[str, str]
PromptInput = str | Sequence[Message | tuple[str, str]]

_ROLE_ALIASES = {"human": "user", "ai": "assistant", "user": "user", "assistant": "assistant", "system": "system"}


@dataclass(frozen=True)
class GenerationOptions:
    """What every provider understands. None means "the provider's default"."""

    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    stop: tuple[str, ...] | None = None
    seed: int | None = None
    logprobs: bool = False
    top_logprobs: int | None = None

    def merged(self, overrides: Mapping[str, Any]) -> GenerationOptions:
        """A copy with `overrides` applied; values are normalised (a single stop string becomes a tuple)."""
        if not overrides:
            return self
        changes = dict(overrides)
        for name, value in changes.items():
            check_option(name, value)
        if isinstance(changes.get("stop"), str):
            changes["stop"] = (changes["stop"],)
        elif changes.get("stop") is not None:
            changes["stop"] = tuple(changes["stop"])
        if changes.get("top_logprobs"):
            changes.setdefault("logprobs", True)
        return replace(self, **changes)


GENERATION_OPTION_NAMES: frozenset[str] = frozenset(f.name for f in fields(GenerationOptions))
#: The largest `max_tokens` / `top_logprobs` anyone means; beyond, it is a typo.
MAX_TOKENS_LIMIT = 10_000_000
MAX_TOP_LOGPROBS = 100


def bounded_number(name: str, value: object, low: float, high: float, unit: str = "") -> float:
    """`value` as a float in [low, high], or one `ConfigurationError` line naming the option and the range."""
    number: float | None = None
    if not isinstance(value, bool) and isinstance(value, (int, float)):
        number = float(value) if not isinstance(value, int) or abs(value) < 10**300 else math.inf
    if number is None or not math.isfinite(number) or not low <= number <= high:
        what = f" {unit}" if unit else ""
        raise ConfigurationError(f"{name} must be a number from {low:g} to {high:g}{what}, got {value!r:.40}")
    return number


def whole_number(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigurationError(f"{name} must be a whole number from {low:,} to {high:,}, got {value!r:.40}")
    return value


def check_option(name: str, value: Any) -> None:
    """One clear line for a generation option of the wrong type or out of range (None is always fine)."""
    if value is None:
        return
    if name == "system" and not isinstance(value, str):
        raise ConfigurationError(f"system must be text, got {type(value).__name__} {value!r:.40}")
    if name == "temperature":
        bounded_number(name, value, 0, 100)
    elif name == "max_tokens":
        whole_number(name, value, 0, MAX_TOKENS_LIMIT)
    elif name == "seed":
        whole_number(name, value, -(2**63), 2**64 - 1)
    elif name == "top_logprobs":
        whole_number(name, value, 0, MAX_TOP_LOGPROBS)
    elif name == "logprobs" and not isinstance(value, bool):
        raise ConfigurationError(f"logprobs must be True or False, got {value!r:.40}")
    elif name == "stop" and not (
        isinstance(value, str) or (isinstance(value, (list, tuple)) and all(isinstance(s, str) for s in value))
    ):
        raise ConfigurationError(f"stop must be text or a list of texts, got {value!r:.40}")


@dataclass(frozen=True)
class Request:
    """One call to a model: the conversation and the options in force."""

    messages: tuple[Message, ...]
    options: GenerationOptions = field(default_factory=GenerationOptions)
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def prompt(self) -> str:
        """The conversation flattened to one prompt, for completion-style APIs."""
        if len(self.messages) == 1:
            return self.messages[0]["content"]
        return "\n\n".join(f"{m['role']}: {m['content']}" for m in self.messages) + "\n\nassistant:"

    @property
    def last_user_text(self) -> str:
        for message in reversed(self.messages):
            if message["role"] == "user":
                return message["content"]
        return self.prompt


def check_option_names(names: Sequence[str], known: Sequence[str], where: str) -> None:
    """Raise one clear line for any unknown option, suggesting the nearest known name."""
    unknown = [n for n in names if n not in known]
    if not unknown:
        return
    name = unknown[0]
    close = difflib.get_close_matches(name, known, n=1)
    suggestion = f" Did you mean {close[0]!r}?" if close else ""
    raise ConfigurationError(
        f"unknown option {name!r} for {where}.{suggestion} Known options: {', '.join(sorted(known))}"
    )


def to_messages(prompt: PromptInput, system: str | None = None) -> tuple[Message, ...]:
    """Accept a string, or a list of {"role", "content"} dicts or (role, content) pairs."""
    if isinstance(prompt, str):
        messages: list[Message] = [{"role": "user", "content": prompt}]
    elif isinstance(prompt, Sequence):
        messages = [_to_message(item) for item in prompt]
        if not messages:
            raise ConfigurationError("the prompt is an empty list of messages; give a string or at least one message")
    else:
        raise ConfigurationError(
            f"cannot use a {type(prompt).__name__} as a prompt; give a string or a list of messages"
        )
    if system and not any(m["role"] == "system" for m in messages):
        messages.insert(0, {"role": "system", "content": system})
    return tuple(messages)


def _to_message(item: Any) -> Message:
    if isinstance(item, Mapping):
        role, content = item.get("role"), item.get("content")
    elif isinstance(item, (tuple, list)) and len(item) == 2:
        role, content = item
    else:
        role = getattr(item, "type", None) or getattr(item, "role", None)
        content = getattr(item, "content", None)
    if role not in _ROLE_ALIASES or not isinstance(content, str):
        raise ConfigurationError(
            f"cannot read message {item!r:.80}; use {{'role': 'user'|'assistant'|'system', 'content': '...'}}"
        )
    return {"role": _ROLE_ALIASES[role], "content": content}


def parse_assignment(text: str) -> tuple[str, Any]:
    """Read "key=value" from a command line: numbers, true/false/none and JSON become values."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        shown = repr(text) if text.isidentifier() and len(text) <= 40 else "text with no '=' (not shown: maybe a key)"
        raise ConfigurationError(f"expected key=value, got {shown}")
    return key.strip().replace("-", "_"), parse_value(raw.strip())


def parse_value(raw: str) -> Any:
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    for convert in (int, float):
        try:
            return convert(raw)
        except ValueError:
            pass
    if raw[:1] in '[{"':
        try:
            return json.loads(raw)
        except ValueError:
            pass
    return raw
