"""The OpenAI wire format, apart from any HTTP: request bodies in, `Chunk`s and `Usage` out.

Chat Completions and legacy Completions, as OpenAI and the servers that copy it (vLLM,
llama.cpp, Ollama's /v1, LM Studio, Groq, OpenRouter, Azure, DeepSeek) actually send them:
Azure's first chunk with `choices: []`, a choice without `delta`, `usage: null`, fields
nobody documents, reasoning under `reasoning_content` (DeepSeek, vLLM) or `reasoning`
(OpenRouter, Ollama), and an `{"error": ...}` object in place of a chunk.

`ChunkParser.feed` is the per-event hot path of every stream, so it sticks to direct dict
access and positional `Chunk(...)` calls, and it uses orjson when it is installed (about
4x faster than `json.loads` on a chunk here) without depending on it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

from ..chunks import REASONING, TEXT, Chunk, Usage
from ..errors import InterruptedStreamError
from ..http.errors import ErrorContext, malformed_error, stream_error
from ..http.sse import iter_sse
from ..models.streams import Piece
from ..options import Request

_fast_loads: Callable[[str], Any]
try:  # optional speed-up; json below catches what orjson refuses (NaN, huge integers, lone surrogates)
    import orjson

    _fast_loads = orjson.loads
except ImportError:  # pragma: no cover - depends on the environment
    _fast_loads = json.loads

Api = Literal["chat", "completions"]
APIS: tuple[str, ...] = ("chat", "completions")
PATHS: dict[str, str] = {"chat": "chat/completions", "completions": "completions"}
DONE = "[DONE]"
_NO_CONTEXT = ErrorContext(provider="openai", host="")
_EMPTY: tuple[Piece, ...] = ()


def is_done(event: Any) -> bool:
    """The SSE event that ends an OpenAI stream."""
    return event.data == DONE


# -- requests ---------------------------------------------------------------------------


def request_body(
    api: str,
    model: str,
    request: Request,
    *,
    stream: bool,
    include_usage: bool = True,
    max_tokens_field: str = "max_tokens",
) -> dict[str, Any]:
    """The JSON body for `request`. Only options that were set are sent, so each server keeps its defaults."""
    options = request.options
    body: dict[str, Any] = {"model": model}
    if api == "chat":
        body["messages"] = list(request.messages)
    else:
        body["prompt"] = request.prompt
    body["stream"] = stream
    if stream and include_usage:
        body["stream_options"] = {"include_usage": True}
    if options.temperature is not None:
        body["temperature"] = options.temperature
    if options.max_tokens is not None:
        body[max_tokens_field] = options.max_tokens
    if options.stop:
        body["stop"] = list(options.stop)
    if options.seed is not None:
        body["seed"] = options.seed
    if options.logprobs:
        if api == "chat":
            body["logprobs"] = True
            if options.top_logprobs:
                body["top_logprobs"] = options.top_logprobs
        else:
            # Legacy Completions takes a count; some servers read 0 as "off", so ask for at least one.
            body["logprobs"] = options.top_logprobs or 1
    extra = request.extra
    for name in ("top_k", "min_tokens"):
        if extra.get(name) is not None:
            body[name] = extra[name]
    body.update(extra.get("extra_body") or {})
    return body


# -- streams ----------------------------------------------------------------------------


class ChunkParser:
    """Turns the data of each SSE event into pieces: one `Chunk` per chunk with a choice, plus `Usage`.

    A role-only first chunk becomes an empty text chunk (as in LangChain), and a delta holding
    both reasoning and answer text becomes two chunks. `close()` at the end of the body raises
    `InterruptedStreamError` unless `[DONE]` or a finish reason arrived.
    """

    __slots__ = ("api", "context", "done", "finish_reason", "keep_top")

    def __init__(self, api: str = "chat", context: ErrorContext = _NO_CONTEXT, keep_top: bool = True) -> None:
        if api not in APIS:
            raise ValueError(f"api must be one of {APIS}, got {api!r}")
        self.api = api
        self.context = context
        self.keep_top = keep_top
        self.done = False
        self.finish_reason: str | None = None

    def feed(self, data: str) -> tuple[Piece, ...]:
        """The pieces one event's data carries (often one chunk)."""
        if data == DONE:
            self.done = True
            return _EMPTY
        try:
            payload = _fast_loads(data)
        except ValueError:
            payload = self._slow_loads(data)
        try:
            choices = payload.get("choices")
            usage = payload.get("usage")
            if choices:
                choice = choices[0]
                if choice.get("index", 0):  # another of `n` answers: we follow the first only
                    pieces: tuple[Piece, ...] = _EMPTY
                elif self.api == "chat":
                    pieces = self._chat_choice(choice)
                else:
                    pieces = self._completion_choice(choice)
                return pieces + (_usage(usage),) if usage else pieces
            if usage:
                return (_usage(usage),)
            if "error" in payload or payload.get("object") == "error":
                raise stream_error(self.context, payload)
            return _EMPTY
        except (AttributeError, KeyError, IndexError, TypeError):  # JSON, but not shaped like a chunk
            raise malformed_error(self.context, data, "not a chunk of the OpenAI format") from None

    @property
    def finished(self) -> bool:
        """The answer is whole: `[DONE]` or a finish reason arrived (a drop after it loses nothing)."""
        return self.done or self.finish_reason is not None

    def close(self) -> None:
        """The body ended: fine after `[DONE]` or a finish reason (some servers omit `[DONE]`)."""
        if not self.finished:
            raise InterruptedStreamError(
                "the stream ended without [DONE] or a finish reason",
                provider=self.context.provider,
                host=self.context.host or None,
            )

    def _slow_loads(self, data: str) -> Any:
        try:
            return json.loads(data)
        except ValueError:
            raise malformed_error(self.context, data) from None

    def _chat_choice(self, choice: dict[str, Any]) -> tuple[Piece, ...]:
        finish = choice.get("finish_reason")
        if finish:
            self.finish_reason = finish
        delta = choice.get("delta")
        if delta:
            text = delta.get("content") or ""
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        else:
            text, reasoning = "", None
        logprobs = choice.get("logprobs")
        if reasoning:
            thought = Chunk(reasoning, REASONING)
            if logprobs:
                thought.logprob, thought.top_logprobs = self._chat_logprobs(logprobs.get("reasoning_content"))
            if not text:
                if finish:
                    thought.finish_reason = finish
                return (thought,)
        if logprobs:
            logprob, top = self._chat_logprobs(logprobs.get("content"))
            chunk = Chunk(text, TEXT, 0, 0.0, finish, logprob, top)
        elif finish:
            chunk = Chunk(text, TEXT, 0, 0.0, finish)
        else:
            chunk = Chunk(text)
        return (thought, chunk) if reasoning else (chunk,)

    def _completion_choice(self, choice: dict[str, Any]) -> tuple[Piece, ...]:
        finish = choice.get("finish_reason")
        if finish:
            self.finish_reason = finish
        text = choice.get("text") or ""
        logprobs = choice.get("logprobs")
        if not logprobs:
            return (Chunk(text, TEXT, 0, 0.0, finish) if finish else Chunk(text),)
        values = [v for v in logprobs.get("token_logprobs") or () if v is not None]
        logprob = (values[0] if len(values) == 1 else sum(values)) if values else None
        top = None
        tops = logprobs.get("top_logprobs")
        if self.keep_top and tops and isinstance(tops[0], dict):
            top = tuple(tops[0].items()) or None
        return (Chunk(text, TEXT, 0, 0.0, finish, logprob, top),)

    def _chat_logprobs(
        self, entries: list[dict[str, Any]] | None
    ) -> tuple[float | None, tuple[tuple[str, float], ...] | None]:
        """A chunk's logprob (summed when a server packs several tokens in one chunk) and the first
        token's alternatives."""
        if not entries:
            return None, None
        first = entries[0]
        logprob = first.get("logprob") if len(entries) == 1 else sum(e.get("logprob") or 0.0 for e in entries)
        alternatives = first.get("top_logprobs")
        top = tuple((a["token"], a["logprob"]) for a in alternatives) if self.keep_top and alternatives else None
        return logprob, top


def _usage(usage: Mapping[str, Any]) -> Usage:
    return Usage(usage.get("prompt_tokens"), usage.get("completion_tokens"))


def decode_stream(reads: Iterable[bytes], api: str = "chat") -> list[Piece]:
    """Wire bytes -> pieces, without HTTP: what a provider does with a body, for tests and replays."""
    parser = ChunkParser(api)
    pieces: list[Piece] = []
    for event in iter_sse(reads):
        if is_done(event):
            parser.feed(event.data)
            break
        pieces.extend(parser.feed(event.data))
    parser.close()
    return pieces


# -- whole answers --------------------------------------------------------------------------


def parse_response(api: str, payload: Any, context: ErrorContext = _NO_CONTEXT) -> tuple[str, str, str | None, Usage]:
    """A non-streamed answer: (text, reasoning, finish_reason, usage)."""
    if not isinstance(payload, dict):
        raise malformed_error(context, json.dumps(payload)[:200], "not a JSON object")
    choices = payload.get("choices")
    if not choices:
        if "error" in payload or payload.get("object") == "error":
            raise stream_error(context, payload)
        raise malformed_error(context, json.dumps(payload)[:200], "an answer without choices")
    choice = choices[0]
    finish = choice.get("finish_reason")
    if api == "chat":
        message = choice.get("message") or {}
        text = message.get("content") or ""
        reasoning = message.get("reasoning_content") or message.get("reasoning") or ""
    else:
        text, reasoning = choice.get("text") or "", ""
    usage = payload.get("usage")
    return text, reasoning, finish, _usage(usage) if usage else Usage()
