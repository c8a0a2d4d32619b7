"""LangChain's stream items as our pieces, and what we can tell about a LangChain model.

Read by shape, never by importing langchain_core: message chunks (`.content`, a string
or a list of content blocks), generation chunks and parsers' strings (`.text`). Reasoning
comes as `{"type": "reasoning", "reasoning": ...}` blocks (LangChain's standard),
`{"type": "thinking", "thinking": ...}` blocks (Anthropic's) or
`additional_kwargs["reasoning_content"]` (DeepSeek and OpenAI-compatible servers).
`usage_metadata` is per chunk and adds up, as LangChain adds it when it merges chunks.
`tool_call_chunks` become our tool-call chunks (`llmstream_nb.tool_calls`).
"""

from __future__ import annotations

from typing import Any

from ..chunks import REASONING, TEXT, Chunk
from ..tool_calls import arguments_text, tool_call_chunk
from ._shared import Piece, UsageDelta, count, field, tidy

#: Block type -> the key holding its text, for blocks that carry reasoning.
REASONING_BLOCKS = {"reasoning": "reasoning", "thinking": "thinking"}
#: The classes whose `stream` falls back to one whole-answer chunk when `_stream` is missing.
_LANGCHAIN_BASES = {
    ("langchain_core.language_models.chat_models", "BaseChatModel"),
    ("langchain_core.language_models.llms", "BaseLLM"),
}


def langchain_pieces(item: Any) -> list[Piece] | None:
    """Chunks and usage of a message chunk (`.content`) or generation chunk (`.text`); None otherwise."""
    content = field(item, "content")
    if isinstance(content, (str, list, tuple)):
        chunks = _content_chunks(content)
        reasoning = _kwargs_reasoning(item)
        if reasoning:
            chunks.insert(0, Chunk(reasoning, kind=REASONING))
        chunks += _tool_call_chunks(item)
    else:
        text = field(item, "text")
        if callable(text):  # BaseMessage.text() in langchain-core < 1.0
            text = text()
        if not isinstance(text, str):
            return None
        chunks = [Chunk(str(text))]
    _set_finish_reason(chunks, _finish_reason(item))
    pieces: list[Piece] = list(tidy(chunks))
    usage = langchain_usage(item)
    if usage is not None:
        pieces.append(usage)
    return pieces


def _tool_call_chunks(item: Any) -> list[Chunk]:
    """`AIMessageChunk.tool_call_chunks` ({"name", "args", "id", "index"} each, `args` a fragment of JSON) as
    our tool-call chunks; a whole message's `tool_calls` (parsed `args`) when it has no chunks."""
    fragments = field(item, "tool_call_chunks")
    if isinstance(fragments, (list, tuple)) and fragments:
        return [
            tool_call_chunk(
                _text(field(f, "args")), _index(field(f, "index"), i), field(f, "id") or None, field(f, "name") or None
            )
            for i, f in enumerate(fragments)
        ]
    calls = field(item, "tool_calls")
    if isinstance(calls, (list, tuple)) and calls and field(item, "tool_call_chunks") is None:
        return [
            tool_call_chunk(arguments_text(field(c, "args")), i, field(c, "id") or None, field(c, "name") or None)
            for i, c in enumerate(calls)
        ]
    return []


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _index(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _content_chunks(content: str | list[Any] | tuple[Any, ...]) -> list[Chunk]:
    """One chunk per run of same-kind blocks, in order; blocks that are neither text nor reasoning are skipped."""
    if isinstance(content, str):
        return [Chunk(str(content))]
    chunks: list[Chunk] = []
    for block in content:
        kind, text = _block(block)
        if not text:
            continue
        if chunks and chunks[-1].kind == kind:
            chunks[-1].text += text
        else:
            chunks.append(Chunk(text, kind=kind))
    return chunks or [Chunk("")]


def _block(block: Any) -> tuple[str, str]:
    if isinstance(block, str):
        return TEXT, block
    kind = field(block, "type")
    key = REASONING_BLOCKS.get(kind) if isinstance(kind, str) else None
    if key is not None:
        text = field(block, key)
        return REASONING, text if isinstance(text, str) else ""
    text = field(block, "text")
    return TEXT, str(text) if isinstance(text, str) else ""


def content_text(content: Any) -> str | None:
    """The answer text of a LangChain `.content` (reasoning and other blocks left out); None if not content."""
    if isinstance(content, str):
        return str(content)
    if isinstance(content, (list, tuple)):
        return "".join(c.text for c in _content_chunks(content) if c.kind == TEXT)
    return None


def _kwargs_reasoning(item: Any) -> str:
    kwargs = field(item, "additional_kwargs")
    reasoning = kwargs.get("reasoning_content") if isinstance(kwargs, dict) else None
    return reasoning if isinstance(reasoning, str) else ""


def _set_finish_reason(chunks: list[Chunk], reason: str | None) -> None:
    """The finish reason goes on the answer's last chunk, never on a reasoning chunk."""
    if reason is None:
        return
    if not chunks or chunks[-1].kind != TEXT:
        chunks.append(Chunk(""))
    chunks[-1].finish_reason = reason


def _metadata(item: Any) -> dict[str, Any]:
    metadata = field(item, "response_metadata")
    return metadata if isinstance(metadata, dict) else {}


def _finish_reason(item: Any) -> str | None:
    """OpenAI-style `finish_reason`, or Anthropic-style `stop_reason`, as the integration reports it."""
    metadata = _metadata(item)
    reason = metadata.get("finish_reason") or metadata.get("stop_reason")
    return reason if isinstance(reason, str) else None


def langchain_model_name(item: Any) -> str | None:
    metadata = _metadata(item)
    name = metadata.get("model_name") or metadata.get("model")
    return name if isinstance(name, str) and name else None


def langchain_usage(item: Any) -> UsageDelta | None:
    """`usage_metadata` as counts to add up (a final message's is its total: callers decide)."""
    usage = field(item, "usage_metadata")
    if not isinstance(usage, dict):
        return None
    prompt, completion = count(usage.get("input_tokens")), count(usage.get("output_tokens"))
    if prompt is None and completion is None:
        return None
    return UsageDelta(prompt, completion)


def generations_text(output: Any) -> str | None:
    """The first generation's text of an `LLMResult` or its dict (a BaseLLM's end-of-run output)."""
    generations = field(output, "generations")
    if not isinstance(generations, (list, tuple)) or not generations:
        return None
    first = generations[0]
    if isinstance(first, (list, tuple)):
        first = first[0] if first else None
    text = field(first, "text")
    return str(text) if isinstance(text, str) else None


# -- models --------------------------------------------------------------------------------


def is_langchain(obj: Any) -> bool:
    """True for LangChain objects (a Runnable, a model), told by their classes' modules: nothing imported."""
    return any(klass.__module__.split(".")[0] in ("langchain_core", "langchain") for klass in type(obj).__mro__)


def answers_whole(model: Any, *, async_api: bool) -> bool:
    """True when a LangChain model's `stream()` (or `astream()`) will yield its whole answer as one chunk.

    LangChain streams only when the class implements `_stream` (async: `_stream` or
    `_astream`) or overrides `stream` itself (FakeStreamingListLLM does), and the instance
    has not turned streaming off. This mirrors that rule for LLMs and chat models; for any
    other object (a chain, a user's class) it answers False: we cannot know, so we don't mark.
    """
    cls = type(model)
    base = next((k for k in cls.__mro__ if (k.__module__, k.__qualname__) in _LANGCHAIN_BASES), None)
    if base is None:
        return False
    public = "astream" if async_api else "stream"
    if getattr(cls, public) is not getattr(base, public):
        return False
    hooks = ("_stream", "_astream") if async_api else ("_stream",)
    if all(getattr(cls, hook) is getattr(base, hook) for hook in hooks):
        return True
    if base.__qualname__ != "BaseChatModel":
        return False
    if getattr(model, "disable_streaming", False) is True:
        return True
    explicit: set[str] = getattr(model, "model_fields_set", set())
    return "streaming" in explicit and getattr(model, "streaming", None) is False
