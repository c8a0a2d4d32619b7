"""The OpenAI SDK's stream items (and their raw-JSON twins) as our pieces.

Chat chunks carry `choices[0].delta.content`; legacy completions `choices[0].text`.
Servers that stream a reasoning model's thoughts add `delta.reasoning_content` (DeepSeek,
vLLM) or `delta.reasoning` (OpenRouter) as an extra attribute the SDK keeps; either becomes
a reasoning chunk. A chunk with no choices carries the final usage (with
`stream_options={"include_usage": True}`) or Azure's filter results.
"""

from __future__ import annotations

from typing import Any

from ..chunks import REASONING, Chunk, Usage
from ._shared import Piece, count, field, tidy

#: Where servers put a reasoning model's thoughts, in order of preference (some send both, the same text).
REASONING_FIELDS = ("reasoning_content", "reasoning")


def openai_pieces(item: Any) -> list[Piece] | None:
    """Chunks and usage of one OpenAI chunk; None if `item` has no `choices` list."""
    choices = field(item, "choices")
    if not isinstance(choices, (list, tuple)):
        return None
    pieces: list[Piece] = list(_choice_chunks(choices[0]) if choices else [Chunk("")])
    usage = openai_usage(field(item, "usage"))
    if usage is not None:
        pieces.append(usage)
    return pieces


def _choice_chunks(choice: Any) -> list[Chunk]:
    finish = field(choice, "finish_reason")
    delta = field(choice, "delta")
    if delta is None:  # legacy completions
        text = field(choice, "text")
        return [Chunk(text if isinstance(text, str) else "", finish_reason=finish)]
    chunks = []
    reasoning = next((r for name in REASONING_FIELDS if isinstance(r := field(delta, name), str) and r), None)
    if reasoning:
        chunks.append(Chunk(reasoning, kind=REASONING))
    text = field(delta, "content")
    chunks.append(Chunk(text if isinstance(text, str) else "", finish_reason=finish))
    return tidy(chunks)


def openai_usage(usage: Any) -> Usage | None:
    """The SDK's `CompletionUsage` (totals) as ours."""
    if usage is None:
        return None
    prompt, completion = count(field(usage, "prompt_tokens")), count(field(usage, "completion_tokens"))
    if prompt is None and completion is None:
        return None
    return Usage(prompt, completion)

