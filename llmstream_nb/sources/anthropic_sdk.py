"""The Anthropic SDK's message-stream events (and their raw-JSON twins) as our pieces.

`client.messages.create(stream=True)` yields raw events; text and thinking arrive as
`content_block_delta` events (`text_delta`, `thinking_delta`), usage in `message_start`
(input) and `message_delta` (output so far), the stop reason in `message_delta`.
`client.messages.stream(...)` yields the same raw events, each text or thinking delta
followed by a helper event (`type` "text"/"thinking", with a `snapshot`) that repeats it:
those are skipped, so both kinds of stream read the same and nothing is counted twice.
"""

from __future__ import annotations

from typing import Any

from ..chunks import REASONING, Chunk, Usage
from ._shared import Piece, count, field

RAW_EVENTS = frozenset(
    {
        "message_start",
        "message_delta",
        "message_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "ping",
    }
)
#: MessageStream's helper events: each repeats a raw event that came just before it.
HELPER_EVENTS = frozenset({"text", "thinking", "citation", "input_json", "signature"})
#: Prompt tokens Anthropic counts apart from `input_tokens`; OpenAI's `prompt_tokens` includes them.
CACHE_FIELDS = ("cache_creation_input_tokens", "cache_read_input_tokens")


def anthropic_pieces(item: Any) -> list[Piece] | None:
    """Chunks and usage of one event; None if `item` is not an Anthropic stream event."""
    kind = field(item, "type")
    if not isinstance(kind, str):
        return None
    if kind in HELPER_EVENTS and (field(item, "snapshot") is not None or field(item, "signature") is not None):
        return []
    if kind not in RAW_EVENTS:
        return None
    if kind == "content_block_delta":
        return _delta_chunks(field(item, "delta"))
    if kind == "message_start":
        usage = anthropic_usage(field(field(item, "message"), "usage"))
        return [usage] if usage is not None else []
    if kind == "message_delta":
        pieces: list[Piece] = []
        stop = field(field(item, "delta"), "stop_reason")
        if isinstance(stop, str):
            pieces.append(Chunk("", finish_reason=stop))
        usage = anthropic_usage(field(item, "usage"))
        if usage is not None:
            pieces.append(usage)
        return pieces
    return []


def _delta_chunks(delta: Any) -> list[Piece]:
    kind = field(delta, "type")
    if kind == "text_delta":
        return [Chunk(field(delta, "text") or "")]
    if kind == "thinking_delta":
        return [Chunk(field(delta, "thinking") or "", kind=REASONING)]
    return []  # tool input JSON, citations, signatures: not text


def anthropic_usage(usage: Any) -> Usage | None:
    """Totals so far: `message_delta` repeats the output count cumulatively (and input, lately)."""
    if usage is None:
        return None
    prompt = count(field(usage, "input_tokens"))
    if prompt is not None:
        prompt += sum(count(field(usage, name)) or 0 for name in CACHE_FIELDS)
    completion = count(field(usage, "output_tokens"))
    if prompt is None and completion is None:
        return None
    return Usage(prompt, completion)


def anthropic_model_name(item: Any) -> str | None:
    """`message_start` names the model."""
    if field(item, "type") != "message_start":
        return None
    name = field(field(item, "message"), "model")
    return name if isinstance(name, str) and name else None
