"""The OpenAI SDK's stream items (and their raw-JSON twins) as our pieces.

Chat chunks carry `choices[0].delta.content`; legacy completions `choices[0].text`.
Servers that stream a reasoning model's thoughts add `delta.reasoning_content` (DeepSeek,
vLLM) or `delta.reasoning` (OpenRouter) as an extra attribute the SDK keeps; either becomes
a reasoning chunk. A chunk with no choices carries the final usage (with
`stream_options={"include_usage": True}`) or Azure's filter results.

Responses API events (`response.output_text.delta`...) are read by `openai_response_pieces`.
"""

from __future__ import annotations

from typing import Any

from ..chunks import REASONING, REFUSAL, TEXT, Chunk, Usage
from ..errors import ProviderStreamError
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


# -- the Responses API ------------------------------------------------------------------------

#: Responses API events that carry a delta of text, by the kind of chunk they make.
RESPONSE_DELTAS = {
    "response.output_text.delta": TEXT,
    "response.reasoning_summary_text.delta": REASONING,
    "response.reasoning_text.delta": REASONING,
    "response.refusal.delta": REFUSAL,
}
RESPONSE_ENDS = frozenset({"response.completed", "response.incomplete"})


def openai_response_pieces(item: Any) -> list[Piece] | None:
    """Chunks and usage of one Responses API stream event (`client.responses.create(stream=True)` or
    `client.responses.stream(...)`, whose events add a `snapshot` but are the same events); None if `item`
    is not one. A failed response or an `error` event raises `ProviderStreamError` with its message."""
    kind = field(item, "type")
    if not isinstance(kind, str) or not (kind.startswith("response.") or kind == "error"):
        return None
    if kind in RESPONSE_DELTAS:
        text = field(item, "delta")
        chunk = Chunk(text if isinstance(text, str) else "", kind=RESPONSE_DELTAS[kind])
        entries = field(item, "logprobs")
        if entries:
            first = entries[0]
            chunk.logprob = field(first, "logprob")
            top = field(first, "top_logprobs")
            chunk.top_logprobs = tuple((field(a, "token"), field(a, "logprob")) for a in top) if top else None
        return [chunk]
    if kind in RESPONSE_ENDS:
        response = field(item, "response")
        details = field(response, "incomplete_details")
        finish = "length" if field(details, "reason") == "max_output_tokens" else "stop"
        usage = field(response, "usage")
        pieces: list[Piece] = [Chunk("", finish_reason=finish)]
        if usage is not None:
            pieces.append(Usage(count(field(usage, "input_tokens")), count(field(usage, "output_tokens"))))
        return pieces
    if kind in ("response.failed", "error"):
        error = field(field(item, "response"), "error") if kind == "response.failed" else item
        code, message = field(error, "code"), field(error, "message") or "the response failed"
        raise ProviderStreamError(f"{code}: {message}" if code else str(message), provider="openai")
    return []  # created, items and parts added or done: bookkeeping, no text


def openai_response_model_name(item: Any) -> str | None:
    """`response.created` names the model."""
    if field(item, "type") != "response.created":
        return None
    name = field(field(item, "response"), "model")
    return name if isinstance(name, str) and name else None
