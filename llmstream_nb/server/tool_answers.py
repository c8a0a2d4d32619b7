"""The demo model's tool calls: when a request offers tools and requires a call, it answers with one.

A call is required when `tool_choice` is "required" (Anthropic: `{"type": "any"}`) or names a function;
"auto" (the default) keeps the usual text answer, since the demo cannot judge when a tool would help.
Ollama has no `tool_choice`: there, offered tools are called unless the request says "auto" or "none".
The arguments are plausible for the tool's JSON schema (`arguments_for`): enums pick one of their
values, numbers respect their bounds, strings take words of the prompt, required properties are always
there. They are deterministic for a seed, and streamed in small fragments at the request's latency, so
a view shows them growing. The bytes of each protocol (OpenAI chat, Responses, Anthropic, Ollama) are in
`tool_wire.py`; this module decides what is said and when.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import secrets
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.responses import Response
from starlette.types import ASGIApp

from ..demo.latency import LatencyProfile
from ..errors import ConfigurationError
from ..tool_calls import Tool, chosen_name, parse_tools
from .log import COMPLETED, RequestRecord
from .problem import Problem
from .settings import Latency
from .state import Call
from .streaming import StreamingBody

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{2,}")
_STOP_WORDS = frozenset({"the", "and", "for", "with", "what", "about", "please", "tell", "write", "me", "is", "of"})


@dataclass(frozen=True)
class ToolAnswer:
    """A tool call the demo will stream: the call's id and name, its arguments as JSON text, and the
    fragments that text is sent in."""

    call_id: str
    name: str
    arguments: str
    fragments: tuple[str, ...]
    prompt_tokens: int

    @property
    def output_tokens(self) -> int:
        return len(self.fragments)


def required_tool(tools: Any, tool_choice: Any) -> Tool | None:
    """The tool a request requires a call of, or None (no tools, `auto`, `none`). A named function that
    is not among the tools is a 400, as the real APIs answer."""
    if not tools or tool_choice is None:
        return None
    try:
        offered = parse_tools(tools)
    except ConfigurationError as exc:
        raise Problem(400, f"Invalid 'tools': {exc}", param="tools", code="invalid_value") from None
    name = chosen_name(tool_choice)
    if name is not None:
        for tool in offered:
            if tool.name == name:
                return tool
        raise Problem(400, f"Invalid 'tool_choice': no tool named {name!r}.", param="tool_choice", code="invalid_value")
    kind = tool_choice.get("type") if isinstance(tool_choice, Mapping) else tool_choice
    return offered[0] if kind in ("required", "any") and offered else None


def plan(tool: Tool, messages: Sequence[Mapping[str, Any]] | str, seed: int | None) -> ToolAnswer:
    """What the demo says for a required call of `tool`: the same seed and prompt give the same call."""
    prompt = messages if isinstance(messages, str) else " ".join(str(m.get("content") or "") for m in messages)
    rng = random.Random(f"{seed}:{tool.name}:{prompt}" if seed is not None else None)
    words = [w for w in _WORD.findall(prompt) if w.lower() not in _STOP_WORDS] or ["moon", "goldfish", "tea"]
    arguments = json.dumps(arguments_for(tool.parameters, rng, words), ensure_ascii=False)
    call_id = "call_" + (f"{rng.getrandbits(48):012x}" if seed is not None else secrets.token_hex(6))
    return ToolAnswer(call_id, tool.name, arguments, fragments(arguments, rng), len(prompt.split()))


def arguments_for(schema: Mapping[str, Any], rng: random.Random, words: list[str]) -> Any:
    """A value that matches `schema` (the JSON Schema subset tools use: object, array, string with enum
    or format, integer and number with bounds, boolean, null, anyOf/oneOf)."""
    if schema.get("enum"):
        return rng.choice(list(schema["enum"]))
    if "const" in schema:
        return schema["const"]
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            return arguments_for(rng.choice(schema[key]), rng, words)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        properties = schema.get("properties") or {}
        required = set(schema.get("required") or ())
        return {
            name: arguments_for(sub, rng, words)
            for name, sub in properties.items()
            if name in required or rng.random() < 0.7
        }
    if kind == "array":
        items = schema.get("items") or {"type": "string"}
        count = max(int(schema.get("minItems", 1)), min(int(schema.get("maxItems", 3)), rng.randint(1, 3)))
        return [arguments_for(items, rng, words) for _ in range(count)]
    if kind == "integer":
        low, high = int(schema.get("minimum", 1)), int(schema.get("maximum", 10))
        return rng.randint(low, max(low, high))
    if kind == "number":
        bottom, top = float(schema.get("minimum", 0.0)), float(schema.get("maximum", 100.0))
        return round(rng.uniform(bottom, max(bottom, top)), 2)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if schema.get("format") == "date":
        return f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    return " ".join(rng.sample(words, k=min(len(words), rng.randint(1, 2)))).capitalize()


def fragments(text: str, rng: random.Random) -> tuple[str, ...]:
    """`text` cut into pieces of 1 to 6 characters, as a model streams a call's arguments."""
    parts, start = [], 0
    while start < len(text):
        end = min(len(text), start + rng.randint(1, 6))
        parts.append(text[start:end])
        start = end
    return tuple(parts)


class ToolCallEncoder(Protocol):
    """The bytes of one streamed tool call in one protocol's framing (`tool_wire.py` has one per protocol)."""

    def tool_opening(self, answer: ToolAnswer) -> Sequence[bytes]: ...  # the answer's start, the call named
    def tool_fragment(self, answer: ToolAnswer, text: str) -> bytes: ...  # a fragment of the arguments
    def tool_closing(self, answer: ToolAnswer) -> Sequence[bytes]: ...  # the call's end, usage, end marker


async def stream_tool_call(
    answer: ToolAnswer, encoder: ToolCallEncoder, latency: Latency, seed: int | None
) -> AsyncIterator[bytes]:
    """The body of a streamed tool call: the opening, each fragment after the latency's delay (the demo
    model's profile, with the request's overrides), the closing."""
    for part in encoder.tool_opening(answer):
        yield part
    options = {"ttft": latency.ttft, "tokens_per_second": latency.tps, "jitter": latency.jitter}
    delays = LatencyProfile(**{k: v for k, v in options.items() if v is not None}).delays(seed)
    for text in answer.fragments:
        delay = next(delays)
        if delay > 0:
            await asyncio.sleep(delay)
        yield encoder.tool_fragment(answer, text)
    for part in encoder.tool_closing(answer):
        yield part


def tool_call_answer(
    answer: ToolAnswer,
    call: Call,
    *,
    stream: bool,
    encoder: ToolCallEncoder,
    whole: bytes,
    seed: int | None,
    record: RequestRecord,
    headers: dict[str, str],
    media_type: str = "application/json",
) -> ASGIApp:
    """The response to a request answered with a tool call: streamed through `encoder`, or `whole`."""
    if stream:
        body = stream_tool_call(answer, encoder, call.latency, seed)
        return StreamingBody(body, record, headers=headers, batch=call.latency.is_zero)
    record.finish(COMPLETED, 200)
    return Response(whole, media_type=media_type, headers=headers)
