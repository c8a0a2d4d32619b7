"""OpenAI's Responses API wire format (`POST /v1/responses`), apart from any HTTP: bodies in, pieces out.

A Responses stream is typed server-sent events, each payload repeating its event name in `type`
(https://platform.openai.com/docs/api-reference/responses-streaming): `response.created`, then per
output item `response.output_item.added`, its parts and deltas (`response.output_text.delta` for the
answer, `response.reasoning_summary_text.delta` / `response.reasoning_text.delta` for reasoning,
`response.refusal.delta`, `response.function_call_arguments.delta` for tool calls) and `.done`
events, then one terminal event: `response.completed` (with the usage), `response.incomplete` or
`response.failed`; an `error` event may come instead. There is no `[DONE]`. Unknown event types are
ignored, so events added after this was written cost nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from ..chunks import REASONING, REFUSAL, TEXT, Chunk, Usage
from ..errors import ConfigurationError, InterruptedStreamError, ProviderStreamError
from ..http.errors import ErrorContext, malformed_error, stream_error
from ..http.payload import FieldTypeError, why_malformed
from ..http.sse import SSEEvent, WholeBody, iter_sse
from ..models.streams import Piece
from ..options import Request
from ..tool_calls import ToolCallChunk, arguments_text, responses_tool_choice, responses_tools, tool_call_chunk
from ._openai_wire import _fast_loads, chat_logprobs

PATH = "responses"
LOGPROBS_INCLUDE = "message.output_text.logprobs"
#: The events after which a Responses stream has nothing more to say.
TERMINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed", "error"})
_NO_CONTEXT = ErrorContext(provider="openai", host="")
_EMPTY: tuple[Piece, ...] = ()
_REASONING_DELTAS = frozenset({"response.reasoning_summary_text.delta", "response.reasoning_text.delta"})


def is_done(event: SSEEvent) -> bool:
    """The SSE event that ends a Responses stream (its name; the payload's `type` says the same)."""
    return event.event in TERMINAL_EVENTS


# -- requests ---------------------------------------------------------------------------


def request_body(model: str, request: Request, *, stream: bool) -> dict[str, Any]:
    """The JSON body for `request`: the conversation as `input` messages, options under their Responses
    names (`max_output_tokens`, `top_logprobs` with `include`). The API takes no `stop` and no `seed`:
    `stop` is refused, a seed goes through `extra_body` to servers that take one (ours does)."""
    options, extra = request.options, request.extra
    if options.stop:
        raise ConfigurationError("openai (api='responses'): the Responses API takes no stop sequences; remove stop=")
    body: dict[str, Any] = {"model": model, "input": [dict(m) for m in request.messages], "stream": stream}
    if options.temperature is not None:
        body["temperature"] = options.temperature
    if options.max_tokens is not None:
        body["max_output_tokens"] = options.max_tokens
    if options.logprobs:
        body["include"] = [LOGPROBS_INCLUDE]
        body["top_logprobs"] = options.top_logprobs or 0
    if extra.get("tools"):
        body["tools"] = responses_tools(extra["tools"])
    if extra.get("tool_choice") is not None:
        body["tool_choice"] = responses_tool_choice(extra["tool_choice"])
    body.update(extra.get("extra_body") or {})
    return body


# -- streams ----------------------------------------------------------------------------


class EventParser:
    """Turns the data of each Responses SSE event into pieces.

    `response.created` gives an empty text chunk (a stream always opens with "", as with Chat
    Completions); each text, reasoning or refusal delta gives one chunk; the terminal event gives an
    empty chunk with the finish reason, and the usage. `close()` raises `InterruptedStreamError` when
    the body ended before a terminal event.
    """

    __slots__ = ("context", "done", "finish_reason", "keep_top", "status")

    def __init__(self, context: ErrorContext = _NO_CONTEXT, keep_top: bool = True) -> None:
        self.context = context
        self.keep_top = keep_top
        self.done = False
        self.finish_reason: str | None = None
        #: The response's own word at the end: completed, incomplete (or failed, raised).
        self.status: str | None = None

    @property
    def finished(self) -> bool:
        return self.done

    def feed(self, data: str) -> tuple[Piece, ...]:
        """The pieces one event's data carries (often one chunk, often none)."""
        try:
            payload = _fast_loads(data)
        except ValueError:
            try:
                payload = json.loads(data)
            except ValueError:
                raise malformed_error(self.context, data) from None
        try:
            kind = payload["type"]
            if kind == "response.output_text.delta":
                delta = payload["delta"]
                if delta.__class__ is not str:
                    raise FieldTypeError("delta", delta)
                logprobs = payload.get("logprobs")
                if logprobs:
                    logprob, top = chat_logprobs(logprobs, self.keep_top)
                    return (Chunk(delta, TEXT, 0, 0.0, None, logprob, top),)
                return (Chunk(delta),)
            if kind in _REASONING_DELTAS:
                return (Chunk(_string(payload["delta"]), REASONING),)
            if kind == "response.refusal.delta":
                return (Chunk(_string(payload["delta"]), REFUSAL),)
            if kind == "response.function_call_arguments.delta":
                return (tool_call_chunk(_string(payload["delta"]), payload["output_index"]),)
            if kind == "response.output_item.added":
                item = payload["item"]
                if item.get("type") != "function_call":
                    return _EMPTY
                call = tool_call_chunk(arguments_text(item.get("arguments")), payload["output_index"])
                call.call_id, call.name = item.get("call_id"), item.get("name")
                return (call,)
            if kind == "response.created":
                return (Chunk(""),)
            if kind in TERMINAL_EVENTS:
                return self._end(kind, payload)
            return _EMPTY  # item and part bookkeeping, `.done` events, and types added since
        except (AttributeError, KeyError, TypeError) as exc:  # JSON, but not shaped like a Responses event
            why = why_malformed(exc, "not an event of the OpenAI Responses format")
            raise malformed_error(self.context, data, why) from None

    def close(self) -> None:
        """The body ended: fine after a terminal event."""
        if not self.done:
            raise InterruptedStreamError(
                "the stream ended before response.completed",
                provider=self.context.provider,
                host=self.context.host or None,
            )

    def whole(self, data: str) -> tuple[Piece, ...]:
        """A whole JSON body sent where a stream was asked for: a `response` object or an error."""
        text, reasoning, finish, usage = parse_response(json.loads(data), self.context)
        self.done, self.finish_reason = True, finish
        pieces: list[Piece] = [Chunk(reasoning, REASONING, fallback=True)] if reasoning else []
        return (*pieces, Chunk(text, TEXT, 0, 0.0, finish, fallback=True), *function_calls(json.loads(data)), usage)

    def _end(self, kind: str, payload: Mapping[str, Any]) -> tuple[Piece, ...]:
        self.done = True
        if kind == "error":
            raise _error(self.context, payload.get("code"), payload.get("message"))
        response = payload["response"]
        self.status = response.get("status")
        if kind == "response.failed":
            error = response.get("error") or {}
            raise _error(self.context, error.get("code"), error.get("message") or "the response failed")
        self.finish_reason = _finish_reason(response, self.context)
        return (Chunk("", finish_reason=self.finish_reason), _usage(response.get("usage")))


def _string(value: Any) -> str:
    if value.__class__ is not str:
        raise FieldTypeError("delta", value)
    return value  # type: ignore[no-any-return]


def _finish_reason(response: Mapping[str, Any], context: ErrorContext) -> str:
    """`stop` when completed (`tool_calls` when it holds function calls, as Chat Completions says it);
    `length` when cut by `max_output_tokens`; any other reason a response is incomplete (a content
    filter) is an error: the answer was withheld."""
    if response.get("status") != "incomplete":
        output = response.get("output") or ()
        return "tool_calls" if any(item.get("type") == "function_call" for item in output) else "stop"
    reason = (response.get("incomplete_details") or {}).get("reason")
    if reason == "max_output_tokens":
        return "length"
    raise ProviderStreamError(
        context.clean(f"the response is incomplete: {reason or 'no reason given'}"),
        provider=context.provider,
        host=context.host or None,
        hint="content_filter: the provider withheld the rest of the answer" if reason == "content_filter" else None,
    )


def _error(context: ErrorContext, code: Any, message: Any) -> ProviderStreamError:
    """`response.failed` or an `error` event: the provider's message, led by its code."""
    text = str(message or "the provider reported an error mid-stream")
    detail = f"{code}: {text}" if isinstance(code, str) and code and code not in text else text
    return ProviderStreamError(context.clean(detail), provider=context.provider, host=context.host or None)


def _usage(usage: Mapping[str, Any] | None) -> Usage:
    return Usage(usage.get("input_tokens"), usage.get("output_tokens")) if usage else Usage()


def decode_stream(reads: Iterable[bytes]) -> list[Piece]:
    """Wire bytes -> pieces, without HTTP: what the provider does with a body, for tests and replays."""
    parser = EventParser()
    pieces: list[Piece] = []
    for event in iter_sse(reads):
        if isinstance(event, WholeBody):
            pieces.extend(parser.whole(event.data))
            break
        pieces.extend(parser.feed(event.data))
        if is_done(event):
            break
    parser.close()
    return pieces


# -- whole answers --------------------------------------------------------------------------


def parse_response(payload: Any, context: ErrorContext = _NO_CONTEXT) -> tuple[str, str, str | None, Usage]:
    """A non-streamed `response` object: (text, reasoning, finish_reason, usage). An error body, or a
    response that failed, raises the provider's error."""
    if not isinstance(payload, dict):
        raise malformed_error(context, json.dumps(payload)[:200], "not a JSON object")
    if payload.get("object") != "response" and "output" not in payload:
        if "error" in payload:
            raise stream_error(context, payload)
        raise malformed_error(context, json.dumps(payload)[:200], "not a Responses API answer")
    if payload.get("status") == "failed":
        error = payload.get("error") or {}
        raise _error(context, error.get("code"), error.get("message") or "the response failed")
    texts: list[str] = []
    thoughts: list[str] = []
    for item in payload.get("output") or ():
        kind = item.get("type")
        if kind == "message":
            texts += [part.get("text") or "" for part in item.get("content") or () if part.get("type") == "output_text"]
        elif kind == "reasoning":
            thoughts += [part.get("text") or "" for part in item.get("summary") or ()]
            thoughts += [part.get("text") or "" for part in item.get("content") or ()]
    return "".join(texts), "".join(thoughts), _finish_reason(payload, context), _usage(payload.get("usage"))


def function_calls(payload: Any) -> list[ToolCallChunk]:
    """The `function_call` items of a whole `response` as chunks, one per call."""
    output = payload.get("output") if isinstance(payload, dict) else None
    calls = [item for item in output or () if isinstance(item, dict) and item.get("type") == "function_call"]
    return [
        tool_call_chunk(arguments_text(item.get("arguments")), i, item.get("call_id"), item.get("name"), True)
        for i, item in enumerate(calls)
    ]
