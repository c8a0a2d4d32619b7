"""Streamed tool calls: the chunks that carry them, the calls they add up to, and the tools asked for.

A model that calls a tool streams the call's name first and its JSON arguments in fragments. Each
fragment is a `ToolCallChunk` (a `Chunk` of kind "tool_call" whose `text` is the fragment), so it
travels the same road as text: through a stream, a view, `astream_events`. Once the stream ends,
`assemble(chunks)` joins the fragments per call into `ToolCall`s, with the arguments parsed, or the
raw text and a clear error when they are not valid JSON. We display tool calls; we never run them.

Tools are given once, in OpenAI's Chat Completions shape (`{"type": "function", "function": {"name",
"description", "parameters"}}`; the flat `{"name", "description", "parameters"}` of the Responses API
and Anthropic's `input_schema` are read too), and each protocol gets them in its own shape.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .chunks import TOOL_CALL, Chunk
from .errors import ConfigurationError

__all__ = [
    "TOOL_CALL",
    "Tool",
    "ToolCall",
    "ToolCallChunk",
    "anthropic_tool_choice",
    "anthropic_tools",
    "arguments_text",
    "assemble",
    "chat_tool_choice",
    "chat_tools",
    "chosen_name",
    "parse_tools",
    "responses_tool_choice",
    "responses_tools",
    "tool_call_chunk",
    "tool_call_deltas",
    "tool_call_state",
]


@dataclass(slots=True, eq=False, repr=False)
class ToolCallChunk(Chunk):
    """A fragment of a tool call's arguments (`text`), with the call's `id` and `name` where the wire
    gave them (usually on the call's first chunk only). `call` numbers the calls of one answer from 0."""

    call_id: str | None = None
    name: str | None = None
    call: int = 0

    def __post_init__(self) -> None:
        self.kind = TOOL_CALL

    def __repr__(self) -> str:
        named = f", name={self.name!r}" if self.name else ""
        return f"ToolCallChunk({self.text!r}, call={self.call}{named}, index={self.index})"

    def to_dict(self) -> dict[str, Any]:
        names = (*Chunk.__slots__, *ToolCallChunk.__slots__)  # type: ignore[attr-defined]
        return {name: getattr(self, name) for name in names}


def tool_call_chunk(
    arguments: str, call: int, call_id: str | None = None, name: str | None = None, fallback: bool = False
) -> ToolCallChunk:
    return ToolCallChunk(arguments, TOOL_CALL, fallback=fallback, call_id=call_id, name=name, call=call)


def arguments_text(arguments: Any) -> str:
    """Arguments as the wire gave them: JSON text as is; an object (Ollama, Anthropic's whole `input`) as JSON."""
    if arguments is None:
        return ""
    return arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)


@dataclass
class ToolCall:
    """One call the model asked for: `arguments` parsed from JSON (None with an `error` when they were
    not valid JSON), `raw_arguments` the text as it arrived."""

    id: str | None
    name: str
    arguments: Any = None
    raw_arguments: str = ""
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "arguments": self.arguments,
            "raw_arguments": self.raw_arguments,
            "error": self.error,
        }


def assemble(chunks: Iterable[Chunk]) -> list[ToolCall]:
    """The calls that the tool-call chunks of an answer add up to, in the order they began."""
    parts: dict[int, list[str]] = {}
    heads: dict[int, ToolCall] = {}
    for chunk in chunks:
        if not isinstance(chunk, ToolCallChunk):
            continue
        head = heads.get(chunk.call)
        if head is None:
            head = heads[chunk.call] = ToolCall(chunk.call_id, chunk.name or "")
            parts[chunk.call] = []
        head.id = head.id or chunk.call_id
        head.name = head.name or chunk.name or ""
        parts[chunk.call].append(chunk.text)
    for call, head in heads.items():
        head.raw_arguments = "".join(parts[call])
        head.arguments, head.error = parse_arguments(head.raw_arguments, head.name)
    return list(heads.values())


def tool_call_deltas(chunks: Iterable[Chunk]) -> list[list[Any]]:
    """The widget's "t" entries for these chunks: [call, id, name, fragment] per tool-call chunk."""
    return [[c.call, c.call_id, c.name, c.text] for c in chunks if isinstance(c, ToolCallChunk)]


def tool_call_state(calls: Iterable[ToolCall]) -> list[dict[str, Any]]:
    """The widget's synced `tool_calls`: each call with its raw arguments, and indented JSON when they parse."""
    return [
        {
            "id": call.id,
            "name": call.name,
            "arguments": call.raw_arguments,
            "pretty": None if call.error else json.dumps(call.arguments, indent=2, ensure_ascii=False),
            "error": call.error,
        }
        for call in calls
    ]


def parse_arguments(raw: str, name: str = "") -> tuple[Any, str | None]:
    """A call's arguments from their JSON text: (value, None), or (None, why not). Empty means `{}`."""
    if not raw.strip():
        return {}, None
    try:
        return json.loads(raw), None
    except json.JSONDecodeError as exc:
        where = f" of {name}" if name else ""
        return None, f"the arguments{where} are not valid JSON ({exc.msg} at character {exc.pos})"


# -- the tools a request offers ---------------------------------------------------------------


@dataclass(frozen=True)
class Tool:
    """A function the model may call: its name, what it does, and the JSON schema of its arguments."""

    name: str
    description: str = ""
    parameters: Mapping[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})


def parse_tools(tools: Any) -> list[Tool]:
    """`tools=` as given (OpenAI chat shape, or flat, or Anthropic's), checked: one clear error per mistake."""
    if tools is None:
        return []
    if not isinstance(tools, Sequence) or isinstance(tools, (str, bytes)):
        raise ConfigurationError(f"tools must be a list of tool definitions, got {type(tools).__name__}")
    parsed = []
    for i, tool in enumerate(tools):
        if not isinstance(tool, Mapping):
            raise ConfigurationError(f"tools[{i}] must be a dict such as {{'type': 'function', 'function': {{...}}}}")
        function = tool.get("function")
        spec: Mapping[str, Any] = function if isinstance(function, Mapping) else tool
        name = spec.get("name")
        if not isinstance(name, str) or not name:
            raise ConfigurationError(f"tools[{i}] has no function name")
        schema = spec.get("parameters", spec.get("input_schema")) or {"type": "object", "properties": {}}
        parsed.append(Tool(name, str(spec.get("description") or ""), schema))
    return parsed


def _described(tool: Tool, fields: dict[str, Any]) -> dict[str, Any]:
    return {**fields, "description": tool.description} if tool.description else fields


def chat_tools(tools: Any) -> list[dict[str, Any]]:
    """Chat Completions (and Ollama) shape; tools given in it are sent as they are (`strict`... kept)."""
    checked = parse_tools(tools)
    return [
        dict(given) if isinstance(given.get("function"), Mapping) else
        {"type": "function", "function": _described(t, {"name": t.name, "parameters": dict(t.parameters)})}
        for given, t in zip(tools, checked)
    ]  # fmt: skip


def responses_tools(tools: Any) -> list[dict[str, Any]]:
    """Responses API shape: the function's fields at the top level."""
    return [
        {"type": "function", **_described(t, {"name": t.name, "parameters": dict(t.parameters)})}
        for t in parse_tools(tools)
    ]


def anthropic_tools(tools: Any) -> list[dict[str, Any]]:
    """Anthropic Messages shape: `input_schema`."""
    return [_described(t, {"name": t.name, "input_schema": dict(t.parameters)}) for t in parse_tools(tools)]


def chosen_name(tool_choice: Any) -> str | None:
    """The function a `tool_choice` names, in any of the three shapes; None if it names none."""
    if isinstance(tool_choice, Mapping):
        function = tool_choice.get("function")
        name = function.get("name") if isinstance(function, Mapping) else tool_choice.get("name")
        return name if isinstance(name, str) else None
    return None


def chat_tool_choice(tool_choice: Any) -> Any:
    """ "auto" / "required" / "none" as they are; a named function as `{"type": "function", "function": {...}}`."""
    name = chosen_name(tool_choice)
    return {"type": "function", "function": {"name": name}} if name else tool_choice


def responses_tool_choice(tool_choice: Any) -> Any:
    """ "auto" / "required" / "none" as they are; a named function as `{"type": "function", "name": ...}`."""
    name = chosen_name(tool_choice)
    return {"type": "function", "name": name} if name else tool_choice


def anthropic_tool_choice(tool_choice: Any) -> dict[str, Any]:
    """Anthropic's words: auto, any (a call is required), none, or one named tool."""
    name = chosen_name(tool_choice)
    if name:
        return {"type": "tool", "name": name}
    words = {"auto": "auto", "required": "any", "any": "any", "none": "none"}
    if isinstance(tool_choice, str) and tool_choice in words:
        return {"type": words[tool_choice]}
    raise ConfigurationError(f"tool_choice must be 'auto', 'required', 'none' or a named function, got {tool_choice!r}")
