"""Ollama's native endpoints: `GET /api/tags`, `POST /api/chat`, `POST /api/generate`.

The same steps as the OpenAI routes (`state.admit`/`start`, `streaming.stream_answer`/`answer_whole`), in
Ollama's terms: streaming is the default (`"stream": false` asks for one JSON object), the body is NDJSON,
errors are `{"error": "..."}`, and the last line reports durations measured here, on this answer, in
nanoseconds as Ollama reports them: load (until the model is ready: reading the request, and the demo
model's one-off training), prompt (until the first token), generation (first to last token), total.

`think: true`: the demo model "thinks" first (`thinking.py`), in `message.thinking` (generate: `thinking`)
lines before the answer, as a reasoning model does. The thinking counts in `eval_count` and its tokens in
the generation time; `num_predict` limits the answer alone.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from ..chunks import Chunk, Usage
from . import ollama_wire as wire
from . import tool_wire
from .body import read_body
from .faults import FAULT_HEADER
from .log import COMPLETED, RequestRecord
from .openai_requests import parse_json
from .problem import Problem, error_answer
from .state import ServerState
from .streaming import Answer, StreamingBody, answer_whole, stream_answer
from .thinking import after_thinking, think, thought_tokens
from .tool_answers import plan, required_tool, tool_call_answer

E = TypeVar("E")
NDJSON = {"content-type": "application/x-ndjson"}


def routes(state: ServerState) -> list[Route]:
    """The Ollama routes, bound to one server's state."""
    modified_at = wire.now()

    async def tags(request: Request) -> Response:
        record = state.log.begin(request.url.path)
        try:
            _check_key(state, request)
        except Problem as problem:
            return _fail(problem, record, {})
        record.finish(COMPLETED, 200)
        return Response(wire.tags(state.served_model, modified_at), media_type="application/json")

    async def chat(request: Request) -> ASGIApp:
        return await _generate(state, request, chat=True)

    async def generate(request: Request) -> ASGIApp:
        return await _generate(state, request, chat=False)

    return [
        Route("/api/tags", tags, methods=["GET"]),
        Route("/api/chat", chat, methods=["POST"]),
        Route("/api/generate", generate, methods=["POST"]),
    ]


def _fail(problem: Problem, record: RequestRecord, headers: dict[str, str]) -> Response:
    """A Problem as Ollama's `{"error": "..."}` answer."""
    return error_answer(problem, wire.error_body, record, headers)


def _check_key(state: ServerState, request: Request) -> None:
    """Ollama itself has no keys; a server started with one asks for it here too (as a bearer token)."""
    if not state.requires_key:
        return
    scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not state.key_matches(token.strip()):
        raise Problem(401, "unauthorized")


class _Clock:
    """Nanosecond stamps of one answer, for the durations its last line reports."""

    def __init__(self) -> None:
        self.arrived = self.loaded = time.perf_counter_ns()
        self.first: int | None = None
        self.last: int | None = None

    async def watch(self, events: AsyncIterator[E]) -> AsyncIterator[E]:
        """Pass `events` on (the answer's, or the thoughts' chunks), stamping the first and the last token."""
        try:
            async for event in events:
                if event.__class__ is Chunk and event.text:  # type: ignore[attr-defined]
                    self.last = time.perf_counter_ns()
                    if self.first is None:
                        self.first = self.last
                yield event
        finally:
            await events.aclose()  # type: ignore[attr-defined]

    def stats(self, usage: Usage, tokens: int, thinking: int = 0) -> dict[str, int]:
        """The counters and durations of the last line; `tokens` sent, if the model did not count them,
        and `thinking`, the tokens of the thoughts before the answer."""
        end = time.perf_counter_ns()
        first = self.first if self.first is not None else end
        last = self.last if self.last is not None else first
        return {
            "total_duration": end - self.arrived,
            "load_duration": self.loaded - self.arrived,
            "prompt_eval_count": usage.prompt_tokens or 0,
            "prompt_eval_duration": first - self.loaded,
            "eval_count": (tokens if usage.completion_tokens is None else usage.completion_tokens) + thinking,
            "eval_duration": last - first,
        }


async def _generate(state: ServerState, request: Request, chat: bool) -> ASGIApp:
    clock = _Clock()
    record = state.log.begin(request.url.path)
    headers = {"x-request-id": record.id}
    try:
        _check_key(state, request)
        body = parse_json(await read_body(request))
        parsed = wire.parse_chat(body) if chat else wire.parse_generate(body)
        record.model, record.stream = parsed.model, parsed.stream
        call = state.admit(parsed.model, request.headers.get(FAULT_HEADER), record, headers, wire.status_problem)
        lines = wire.Lines(call.model_name, chat)
        await state.ensure_warm()
        clock.loaded = time.perf_counter_ns()
        if not parsed.prompt:  # Ollama's way to load a model without asking it anything
            record.finish(COMPLETED, 200)
            return Response(lines.last("", "load", {}), media_type=NDJSON["content-type"], headers=headers)
        # Ollama has no `tool_choice` (its models decide): offered tools are called unless this server's
        # `tool_choice` extension says "auto" or "none".
        tool = required_tool(body.get("tools"), body.get("tool_choice", "required")) if chat else None
        if tool is not None:
            seed = parsed.options.get("seed")
            answer = plan(tool, parsed.prompt, seed)
            encoder = tool_wire.OllamaToolLines(call.model_name)
            last = encoder.last(answer, with_call=True)
            return tool_call_answer(
                answer, call, stream=parsed.stream, encoder=encoder, whole=last, seed=seed, record=record,
                headers={**headers, **NDJSON} if parsed.stream else headers,
            )  # fmt: skip
        generation = await state.start(call, parsed.prompt, parsed.options, record)
    except Problem as problem:
        return _fail(problem, record, headers)
    thoughts = think(call, parsed.prompt, parsed.options) if parsed.think else None
    watched = clock.watch(thoughts) if thoughts is not None else None
    generation.events = clock.watch(generation.events)

    def stats(tokens: int) -> dict[str, int]:
        return clock.stats(generation.stream.usage, tokens, thought_tokens(thoughts))

    if parsed.stream:
        parts = stream_answer(generation, lines, record, lambda: stats(record.tokens_sent), watched)
        return StreamingBody(parts, record, headers={**headers, **NDJSON}, batch=call.latency.is_zero)

    def whole(answer: Answer) -> bytes:
        thinking = thoughts.text if thoughts is not None else None
        return lines.last(answer.text, answer.finish_reason or "stop", stats(len(answer.texts)), thinking)

    def failed() -> Response:
        return _fail(Problem(500, wire.SERVER_ERROR_MESSAGE), record, headers)

    events = after_thinking(watched, generation.events)
    return await answer_whole(request.receive, events, record, headers, whole, failed)
