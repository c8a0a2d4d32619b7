"""The demo model "thinks first": its stand-in for reasoning, shared by the protocols that can ask for it
(Anthropic's extended thinking, Ollama's `think`).

The demo has no reasoning of its own, so it writes up to `THINKING_TOKENS` tokens of its usual text for
`thinking_prompt(...)` (with `thinking_options`) before the answer. That is all it can honestly do, and it is
enough to carry reasoning end to end. A streamed answer writes the thoughts through `stream_answer(...,
thoughts=...)`; a whole one collects `after_thinking(...)` and reads the thoughts' text afterwards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from ..chunks import Chunk
from ..models.streams import AsyncTokenStream
from .faults import Event
from .state import Call

#: The most the demo model thinks, whatever the budget: enough to show reasoning, short enough to wait for.
THINKING_TOKENS = 32


def thinking_prompt(text: str) -> str:
    """What the demo model writes its thinking for: the last user message, pondered."""
    return f"Let me think about this: {text}"


def thinking_options(options: dict[str, Any], tokens: int) -> dict[str, Any]:
    """The request's sampling options for the thinking; its seed moved on by one, or the thinking would
    open with the very words of the answer (same prompt words, same passages drawn)."""
    chosen = {k: v for k, v in options.items() if k in ("temperature", "top_k")}
    if options.get("seed") is not None:
        chosen["seed"] = options["seed"] + 1
    return {**chosen, "max_tokens": tokens}


def think(
    call: Call, prompt: str | Sequence[Mapping[str, Any]], options: dict[str, Any], tokens: int = THINKING_TOKENS
) -> AsyncTokenStream:
    """The thoughts' stream: the demo model on `thinking_prompt` of the prompt's last message (or the
    prompt itself, when it is a string)."""
    last = prompt if isinstance(prompt, str) else str(prompt[-1]["content"])
    return call.model.astream(thinking_prompt(last), **thinking_options(options, tokens))


def thought_tokens(thoughts: AsyncTokenStream | None) -> int:
    """The tokens the thinking took (0 without thinking), for the answer's output count."""
    return (thoughts.completion.usage.completion_tokens or 0) if thoughts is not None else 0


def after_thinking(thoughts: AsyncIterator[Chunk] | None, events: AsyncIterator[Event]) -> AsyncIterator[Event]:
    """The answer's events, once the thinking (if any) has been written: a whole answer holds both."""
    return events if thoughts is None else _after(thoughts, events)


async def _after(thoughts: AsyncIterator[Chunk], events: AsyncIterator[Event]) -> AsyncIterator[Event]:
    async for _ in thoughts:
        pass
    async for event in events:
        yield event
