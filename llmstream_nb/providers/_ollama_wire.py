"""Ollama's native wire format, apart from any HTTP: request bodies in, `Chunk`s, `Usage` and
`ProviderTimings` out.

`POST /api/chat` (messages) and `POST /api/generate` (prompt + system) stream newline-delimited
JSON: one object per token, `{"message": {"content": ...}, "done": false}` (generate: `"response"`),
then a last one with `"done": true`, the `done_reason` and the server's own counters and
nanosecond durations. Reasoning arrives in `message.thinking` (generate: `thinking`) when the
request sets `think`. An `{"error": "..."}` object can replace any line.

Lines go through `json.loads`: a local model writes at most a few hundred lines a second, and ~4 µs
a line is nothing beside that.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..chunks import REASONING, TEXT, Chunk, ProviderTimings, Usage
from ..errors import InterruptedStreamError
from ..http.errors import ErrorContext, malformed_error, stream_error
from ..http.payload import loads, text_field, why_malformed
from ..models.streams import Piece
from ..options import Request
from ..tool_calls import arguments_text, chat_tools, tool_call_chunk

APIS: tuple[str, ...] = ("chat", "generate")
PATHS: dict[str, str] = {"chat": "api/chat", "generate": "api/generate"}
_NO_CONTEXT = ErrorContext(provider="ollama", host="")
_EMPTY: tuple[Piece, ...] = ()
_NANOSECONDS = 1e9


# -- requests ---------------------------------------------------------------------------


def request_body(api: str, model: str, request: Request, *, stream: bool) -> dict[str, Any]:
    """The JSON body for `request`. Generation options go inside Ollama's `options` object, and only
    those that were set, so the model's Modelfile defaults stay in force for the rest."""
    body: dict[str, Any] = {"model": model}
    if api == "chat":
        body["messages"] = list(request.messages)
    else:
        system, prompt = split_system(request)
        body["prompt"] = prompt
        if system:
            body["system"] = system
    body["stream"] = stream
    options = _options(request)
    if options:
        body["options"] = options
    extra = request.extra
    for name in ("think", "keep_alive"):
        if extra.get(name) is not None:
            body[name] = extra[name]
    if extra.get("tools") and api == "chat":
        body["tools"] = chat_tools(extra["tools"])
        if extra.get("tool_choice") is not None:  # not Ollama's: our local server reads it, Ollama ignores it
            body["tool_choice"] = extra["tool_choice"]
    body.update(extra.get("extra_body") or {})
    return body


def split_system(request: Request) -> tuple[str | None, str]:
    """For `/api/generate`: the system messages joined, and the rest of the conversation as one prompt."""
    system = [m["content"] for m in request.messages if m["role"] == "system"]
    rest = tuple(m for m in request.messages if m["role"] != "system")
    prompt = Request(messages=rest).prompt if rest else ""
    return "\n\n".join(system) or None, prompt


def _options(request: Request) -> dict[str, Any]:
    options = request.options
    out: dict[str, Any] = {}
    if options.temperature is not None:
        out["temperature"] = options.temperature
    if options.seed is not None:
        out["seed"] = options.seed
    if options.stop:
        out["stop"] = list(options.stop)
    if options.max_tokens is not None:
        out["num_predict"] = options.max_tokens
    if request.extra.get("top_k") is not None:
        out["top_k"] = request.extra["top_k"]
    out.update(request.extra.get("extra_options") or {})
    return out


# -- streams ----------------------------------------------------------------------------


class LineParser:
    """Turns each NDJSON line into pieces: a reasoning and/or a text `Chunk`, and, from the last line,
    a final chunk with the finish reason, `Usage` and `ProviderTimings`.

    Lines with neither text nor reasoning (Ollama sends some while it thinks) yield nothing. `close()`
    at the end of the body raises `InterruptedStreamError` unless the `"done": true` line arrived.
    """

    __slots__ = ("calls", "context", "field", "finished")

    def __init__(self, api: str = "chat", context: ErrorContext = _NO_CONTEXT) -> None:
        if api not in APIS:
            raise ValueError(f"api must be one of {APIS}, got {api!r}")
        self.field = "message" if api == "chat" else None
        self.context = context
        self.finished = False
        self.calls = 0

    def feed(self, line: str) -> tuple[Piece, ...]:
        """The pieces one line carries; none after the `"done": true` line (what follows is not the answer)."""
        if self.finished:
            return _EMPTY
        try:
            payload = loads(line)
        except ValueError:
            raise malformed_error(self.context, line) from None
        if not isinstance(payload, dict):
            raise malformed_error(self.context, line, "not a JSON object")
        if "error" in payload:
            raise stream_error(self.context, payload)
        try:
            part = payload[self.field] if self.field else payload
            name = "message.content" if self.field else "response"
            text = text_field(part.get("content" if self.field else "response"), name)
            thinking = text_field(part.get("thinking"), "message.thinking" if self.field else "thinking")
            if self.field and part.get("tool_calls"):
                return self._tool_calls(part["tool_calls"], payload, text, thinking)
            if payload.get("done"):
                self.finished = True
                return _thought(thinking) + (
                    Chunk(text, TEXT, 0, 0.0, payload.get("done_reason") or "stop"),
                    Usage(payload.get("prompt_eval_count"), payload.get("eval_count")),
                    provider_timings(payload),
                )
            if text:
                return _thought(thinking) + (Chunk(text),)
            return _thought(thinking)
        except (AttributeError, KeyError, TypeError) as exc:  # JSON, but not shaped like an Ollama line
            raise malformed_error(self.context, line, why_malformed(exc, "not a line of Ollama's format")) from None

    def _tool_calls(self, calls: list[Any], payload: dict[str, Any], text: str, thinking: Any) -> tuple[Piece, ...]:
        """`message.tool_calls`: Ollama sends each call whole (arguments as an object), one chunk per call."""
        pieces: list[Piece] = list(_thought(thinking))
        if text:
            pieces.append(Chunk(text))
        for call in calls:
            function = call["function"]
            pieces.append(
                tool_call_chunk(arguments_text(function.get("arguments")), self.calls, call.get("id"), function["name"])
            )
            self.calls += 1
        if payload.get("done"):
            self.finished = True
            pieces += [
                Chunk("", TEXT, 0, 0.0, payload.get("done_reason") or "stop"),
                Usage(payload.get("prompt_eval_count"), payload.get("eval_count")),
                provider_timings(payload),
            ]
        return tuple(pieces)

    def close(self) -> None:
        """The body ended: fine only after the `"done": true` line."""
        if not self.finished:
            raise InterruptedStreamError(
                'the stream ended without its last ("done": true) line',
                provider=self.context.provider,
                host=self.context.host or None,
            )


def _thought(thinking: Any) -> tuple[Piece, ...]:
    return (Chunk(thinking, REASONING),) if thinking else _EMPTY


def provider_timings(payload: Mapping[str, Any]) -> ProviderTimings:
    """The last line's nanosecond durations in seconds, and the server-side token rates they imply."""
    total, load, prompt, generation = (
        _seconds(payload.get(f"{key}_duration")) for key in ("total", "load", "prompt_eval", "eval")
    )
    return ProviderTimings(
        total=total,
        load=load,
        prompt=prompt,
        generation=generation,
        prompt_tokens_per_second=_rate(payload.get("prompt_eval_count"), prompt),
        tokens_per_second=_rate(payload.get("eval_count"), generation),
    )


def _seconds(nanoseconds: Any) -> float | None:
    return nanoseconds / _NANOSECONDS if isinstance(nanoseconds, (int, float)) else None


def _rate(count: Any, seconds: float | None) -> float | None:
    return count / seconds if isinstance(count, int) and seconds else None


def decode_lines(lines: Iterable[str], api: str = "chat") -> list[Piece]:
    """NDJSON lines -> pieces, without HTTP: what the provider does with a body, for tests and replays."""
    parser = LineParser(api)
    pieces: list[Piece] = []
    for line in lines:
        if line.strip():
            pieces.extend(parser.feed(line))
    parser.close()
    return pieces
