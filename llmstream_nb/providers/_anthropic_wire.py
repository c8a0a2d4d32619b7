"""The Anthropic Messages wire format, apart from any HTTP: request bodies in, `Chunk`s and `Usage` out.

A Messages stream is typed server-sent events (https://docs.anthropic.com/en/api/messages-streaming):
`message_start` (input tokens), then per content block `content_block_start`, `content_block_delta`s
(`text_delta` for the answer, `thinking_delta` for extended thinking, `signature_delta` to verify the
thinking, `input_json_delta` for tool calls) and `content_block_stop`, then `message_delta` (stop reason,
output tokens) and `message_stop`. `ping` may come anywhere and `error` ends a stream that went wrong.
Every payload repeats its event name in `type`, so `EventParser.feed` needs only the data line, and
Anthropic may add event types at any time: unknown ones are ignored, as the API reference asks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..chunks import REASONING, Chunk, Usage
from ..errors import ConfigurationError, InterruptedStreamError, ProviderStreamError
from ..http.errors import ErrorContext, malformed_error
from ..http.payload import loads, text_field, why_malformed
from ..http.sse import SSEEvent, iter_sse
from ..models.streams import Piece
from ..options import Request
from ..tool_calls import anthropic_tool_choice, anthropic_tools, arguments_text, tool_call_chunk

PATH = "v1/messages"
VERSION = "2023-06-01"
#: Anthropic requires `max_tokens`; this is what we send when the caller sets none.
DEFAULT_MAX_TOKENS = 1024

#: Anthropic's stop reasons in the finish-reason words every other provider uses; others pass through
#: unchanged (`refusal`, `pause_turn`, ...), so nothing is lost to a guess.
FINISH_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls"}

_NO_CONTEXT = ErrorContext(provider="anthropic", host="")
_EMPTY: tuple[Piece, ...] = ()


def is_done(event: SSEEvent) -> bool:
    """The SSE event that ends a Messages stream."""
    return event.event == "message_stop"


# -- requests ---------------------------------------------------------------------------


def request_body(model: str, request: Request, *, stream: bool) -> dict[str, Any]:
    """The JSON body for `request`. System messages go to the top-level `system`; only options
    that were set are sent, except `max_tokens`, which Anthropic requires."""
    options, extra = request.options, request.extra
    if options.logprobs:
        raise ConfigurationError("anthropic: the Messages API returns no logprobs; remove logprobs=/top_logprobs=")
    thinking = thinking_config(extra.get("thinking"), extra.get("thinking_budget"))
    system = "\n\n".join(m["content"] for m in request.messages if m["role"] == "system")
    body: dict[str, Any] = {
        "model": model,
        "messages": [m for m in request.messages if m["role"] != "system"],
        "max_tokens": default_max_tokens(thinking) if options.max_tokens is None else options.max_tokens,
        "stream": stream,
    }
    if system:
        body["system"] = system
    if options.temperature is not None:
        body["temperature"] = options.temperature
    if options.stop:
        body["stop_sequences"] = list(options.stop)
    if extra.get("top_k") is not None:
        body["top_k"] = extra["top_k"]
    if thinking is not None:
        body["thinking"] = thinking
    if extra.get("tools"):
        body["tools"] = anthropic_tools(extra["tools"])
    if extra.get("tool_choice") is not None:
        body["tool_choice"] = anthropic_tool_choice(extra["tool_choice"])
    body.update(extra.get("extra_body") or {})
    return body


def thinking_config(thinking: Any, budget: Any) -> dict[str, Any] | None:
    """`thinking={"type": "enabled", "budget_tokens": N}` as given, or built from `thinking_budget=N`."""
    if thinking is not None and budget is not None:
        raise ConfigurationError("anthropic: give thinking= or thinking_budget=, not both")
    if budget is not None:
        if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
            raise ConfigurationError(f"anthropic: thinking_budget must be a whole number of tokens, got {budget!r}")
        return {"type": "enabled", "budget_tokens": budget}
    if thinking is not None and not isinstance(thinking, Mapping):
        raise ConfigurationError(
            f"anthropic: thinking must be a dict such as {{'type': 'enabled', 'budget_tokens': 2048}}, got {thinking!r}"
        )
    return dict(thinking) if thinking is not None else None


def default_max_tokens(thinking: Mapping[str, Any] | None) -> int:
    """Thinking counts against `max_tokens`, which must exceed its budget: leave the answer its own share."""
    budget = thinking.get("budget_tokens") if thinking and thinking.get("type") == "enabled" else None
    return DEFAULT_MAX_TOKENS + budget if isinstance(budget, int) else DEFAULT_MAX_TOKENS


# -- streams ----------------------------------------------------------------------------


class EventParser:
    """Turns the data of each Messages SSE event into pieces.

    `message_start` gives an empty text chunk (as the OpenAI role chunk does, so a stream always opens
    with "") and the input tokens; each text or thinking delta gives one chunk; `message_delta` gives an
    empty chunk with the finish reason, and the usage. `stop_reason` and `stop_sequence` keep Anthropic's
    own words. `close()` at the end of the body raises `InterruptedStreamError` unless the message ended.
    """

    __slots__ = ("context", "done", "finish_reason", "stop_reason", "stop_sequence")

    def __init__(self, context: ErrorContext = _NO_CONTEXT) -> None:
        self.context = context
        self.done = False
        self.finish_reason: str | None = None
        self.stop_reason: str | None = None
        self.stop_sequence: str | None = None

    def feed(self, data: str) -> tuple[Piece, ...]:
        """The pieces one event's data carries (often one chunk, often none)."""
        try:
            payload = loads(data)
        except ValueError:
            raise malformed_error(self.context, data) from None
        try:
            kind = payload.get("type")
            if kind == "content_block_delta":
                return _delta(payload["delta"], payload.get("index", 0))
            if kind == "content_block_start":
                return _block_start(payload["content_block"], payload.get("index", 0))
            if kind == "message_start":
                usage = payload["message"].get("usage") or {}
                return (Chunk(""), Usage(usage.get("input_tokens")))
            if kind == "message_delta":
                return self._message_delta(payload["delta"], payload.get("usage") or {})
            if kind == "message_stop":
                self.done = True
            elif kind == "error":
                raise stream_error(self.context, payload)
            elif kind == "message":  # a whole message where a stream was asked for
                return self._whole(payload)
            return _EMPTY  # ping, content_block_stop, and event types added after this was written
        except (AttributeError, KeyError, TypeError) as exc:  # JSON, but not shaped like a Messages event
            why = why_malformed(exc, "not an event of the Anthropic Messages format")
            raise malformed_error(self.context, data, why) from None

    @property
    def finished(self) -> bool:
        """The message has ended (`message_stop`, or a stop reason): a drop after this loses nothing."""
        return self.done or self.finish_reason is not None

    def close(self) -> None:
        """The body ended: fine once `finished`."""
        if not self.finished:
            raise InterruptedStreamError(
                "the stream ended without message_stop or a stop reason",
                provider=self.context.provider,
                host=self.context.host or None,
            )

    def _whole(self, message: Mapping[str, Any]) -> tuple[Piece, ...]:
        """A whole `message` body: its thinking and text blocks as fallback chunks, and its usage."""
        self.done = True
        self.stop_reason = message.get("stop_reason")
        self.finish_reason = finish_reason(self.stop_reason or "end_turn")
        pieces: list[Piece] = []
        for block in message.get("content") or ():
            if block.get("type") == "thinking":
                pieces.append(Chunk(block["thinking"], REASONING, fallback=True))
        text = "".join(block["text"] for block in message.get("content") or () if block.get("type") == "text")
        usage = message.get("usage") or {}
        pieces.append(Chunk(text, finish_reason=self.finish_reason, fallback=True))
        pieces += message_tool_uses(message)
        pieces.append(Usage(usage.get("input_tokens"), usage.get("output_tokens")))
        return tuple(pieces)

    def _message_delta(self, delta: Mapping[str, Any], usage: Mapping[str, Any]) -> tuple[Piece, ...]:
        self.stop_reason = delta.get("stop_reason")
        self.stop_sequence = delta.get("stop_sequence")
        if self.stop_reason:
            self.finish_reason = finish_reason(self.stop_reason)
        # Output tokens are a running total; newer API versions repeat input_tokens here too.
        pieces: tuple[Piece, ...] = (Usage(usage.get("input_tokens"), usage.get("output_tokens")),)
        return (Chunk("", finish_reason=self.finish_reason), *pieces) if self.finish_reason else pieces


def _delta(delta: Mapping[str, Any], index: int) -> tuple[Piece, ...]:
    kind = delta["type"]
    if kind == "text_delta":
        return (Chunk(text_field(delta["text"], "delta.text")),)
    if kind == "thinking_delta":
        return (Chunk(text_field(delta["thinking"], "delta.thinking"), REASONING),)
    if kind == "input_json_delta":  # a fragment of a tool call's arguments; the block's index is the call's
        return (tool_call_chunk(text_field(delta["partial_json"], "delta.partial_json"), index),)
    return _EMPTY  # signature_delta (verifies the thinking), citations_delta


def _block_start(block: Mapping[str, Any], index: int) -> tuple[Piece, ...]:
    """Blocks normally start empty; text already in one is kept rather than lost. A `tool_use` block
    names the call (its `input` is `{}` until the `input_json_delta`s fill it)."""
    kind = block.get("type")
    if kind == "text" and block.get("text"):
        return (Chunk(text_field(block["text"], "content_block.text")),)
    if kind == "thinking" and block.get("thinking"):
        return (Chunk(text_field(block["thinking"], "content_block.thinking"), REASONING),)
    if kind == "tool_use":
        return (tool_call_chunk("", index, block.get("id"), block.get("name")),)
    return _EMPTY


def message_tool_uses(message: Mapping[str, Any]) -> list[Piece]:
    """The `tool_use` blocks of a whole message as tool-call chunks, one per call."""
    blocks = [b for b in message.get("content") or () if isinstance(b, Mapping) and b.get("type") == "tool_use"]
    return [
        tool_call_chunk(arguments_text(b.get("input")), i, b.get("id"), b.get("name"), fallback=True)
        for i, b in enumerate(blocks)
    ]


def finish_reason(stop_reason: str) -> str:
    return FINISH_REASONS.get(stop_reason, stop_reason)


def stream_error(context: ErrorContext, payload: Any) -> ProviderStreamError:
    """An `error` event, e.g. `{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}`:
    the message, led by its type, which says more than the message itself ("overloaded_error: Overloaded")."""
    error = payload.get("error") if isinstance(payload, dict) else None
    error = error if isinstance(error, dict) else {}
    message = str(error.get("message") or "the provider reported an error mid-stream")
    kind = error.get("type")
    detail = f"{kind}: {message}" if isinstance(kind, str) and kind and kind not in message else message
    return ProviderStreamError(context.clean(detail), provider=context.provider, host=context.host or None)


def decode_stream(reads: Iterable[bytes]) -> list[Piece]:
    """Wire bytes -> pieces, without HTTP: what the provider does with a body, for tests and replays."""
    parser = EventParser()
    pieces: list[Piece] = []
    for event in iter_sse(reads):
        pieces.extend(parser.feed(event.data))
        if is_done(event):
            break
    parser.close()
    return pieces
