"""The `google-genai` SDK's `GenerateContentResponse`s (and their raw-JSON twins) as our pieces.

`client.models.generate_content_stream(...)` yields one response per event: the new text in
`candidates[0].content.parts` (parts with `thought` set are reasoning), `finish_reason` on the last one,
and `usage_metadata` with the totals so far. The raw JSON spells the same fields in camelCase
(`usageMetadata`, `finishReason`), so both spellings are read. A response is told apart from other
families by its `candidates` list, `prompt_feedback`, or Google's names in `usage_metadata` (LangChain's
chunks have a `usage_metadata` too), before LangChain's reader (a response has `.text`).
"""

from __future__ import annotations

from typing import Any

from ..chunks import REASONING, Chunk, Usage
from ._shared import Piece, count, field, tidy

#: Google's finish reasons in the words every other source uses; the others are lowercased
#: (`safety`, `recitation`...), which the view shows as they are.
FINISH_REASONS = {"STOP": "stop", "MAX_TOKENS": "length"}


def _get(obj: Any, snake: str, camel: str) -> Any:
    value = field(obj, snake)
    return field(obj, camel) if value is None else value


def gemini_pieces(item: Any) -> list[Piece] | None:
    """Chunks and usage of one response; None if `item` is not a Gemini response."""
    candidates = field(item, "candidates")
    usage = _get(item, "usage_metadata", "usageMetadata")
    feedback = _get(item, "prompt_feedback", "promptFeedback")
    report = gemini_usage(usage)
    if not isinstance(candidates, list) and feedback is None and report is None:
        return None  # LangChain's chunks have a `usage_metadata` too, with other names in it
    chunks: list[Chunk] = []
    first = next((c for c in candidates or () if (field(c, "index") or 0) == 0), None)
    if first is not None:
        for part in field(field(first, "content"), "parts") or ():
            text = field(part, "text")
            if isinstance(text, str) and text:
                chunks.append(Chunk(text, kind=REASONING) if field(part, "thought") else Chunk(text))
        reason = _get(first, "finish_reason", "finishReason")
        if reason:
            word = str(getattr(reason, "value", reason))
            chunks.append(Chunk("", finish_reason=FINISH_REASONS.get(word, word.lower())))
    blocked = _get(feedback, "block_reason", "blockReason") if feedback is not None else None
    if blocked:
        chunks.append(Chunk("", finish_reason=f"blocked: {getattr(blocked, 'value', blocked)}"))
    pieces: list[Piece] = list(tidy(chunks))
    if report is not None:
        pieces.append(report)
    return pieces


def gemini_usage(usage: Any) -> Usage | None:
    """Totals so far: prompt tokens, and output tokens counting the answer's and the thoughts'."""
    if usage is None:
        return None
    prompt = count(_get(usage, "prompt_token_count", "promptTokenCount"))
    answer = count(_get(usage, "candidates_token_count", "candidatesTokenCount"))
    thoughts = count(_get(usage, "thoughts_token_count", "thoughtsTokenCount"))
    output = None if answer is None and thoughts is None else (answer or 0) + (thoughts or 0)
    if prompt is None and output is None:
        return None
    return Usage(prompt, output)


def gemini_model_name(item: Any) -> str | None:
    """Each response names the model version that wrote it."""
    name = _get(item, "model_version", "modelVersion")
    return name if isinstance(name, str) and name and gemini_pieces(item) is not None else None
