"""OpenAI's Responses endpoint, `POST /v1/responses`, streaming and not, with the same faults as the other routes.

The steps are the Chat Completions route's: check the key, parse the body (responses_requests), resolve the
model name and fault spec and answer a `status=` fault (`state.admit`), start the model, then stream events
or collect the whole response while watching the client. Errors are OpenAI's `{"error": {...}}` answers.

Reasoning: when the request asks for a reasoning summary (`reasoning: {"summary": "auto"}`), the demo model
"thinks" first (`thinking.py`), streamed as a reasoning item's summary before the message.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from ..models.streams import AsyncTokenStream
from ..tool_calls import Tool
from . import openai_wire, tool_wire
from . import responses_wire as wire
from .body import read_body
from .faults import FAULT_HEADER
from .log import RequestRecord
from .openai_requests import parse_json
from .openai_routes import _check_key
from .problem import Problem, error_answer
from .responses_requests import ParsedResponseRequest, parse_responses
from .state import Call, Generation, ServerState
from .streaming import Answer, StreamingBody, answer_whole, stream_answer
from .thinking import THINKING_TOKENS, after_thinking, think, thought_tokens
from .tool_answers import plan, required_tool, tool_call_answer


def routes(state: ServerState) -> list[Route]:
    """The Responses route, bound to one server's state."""

    async def responses(request: Request) -> ASGIApp:
        return await _generate(state, request)

    return [Route("/v1/responses", responses, methods=["POST"])]


def _fail(problem: Problem, record: RequestRecord, headers: dict[str, str]) -> Response:
    return error_answer(problem, openai_wire.error_body, record, headers)


async def _generate(state: ServerState, request: Request) -> ASGIApp:
    record = state.log.begin(request.url.path)
    headers = {"x-request-id": record.id}
    try:
        _check_key(state, request)
        payload = parse_json(await read_body(request))
        parsed = parse_responses(payload)
        record.model, record.stream = parsed.model, parsed.stream
        call = state.admit(parsed.model, request.headers.get(FAULT_HEADER), record, headers, openai_wire.status_problem)
        tool = required_tool(payload.get("tools"), payload.get("tool_choice"))
        if tool is None:
            generation = await state.start(call, parsed.messages, parsed.options, record)
    except Problem as problem:
        return _fail(problem, record, headers)
    if tool is not None:
        return _tool_call(tool, parsed, payload, call, record, headers)
    thoughts = think(call, parsed.messages, parsed.options, THINKING_TOKENS) if parsed.reasoning_summary else None
    response_id, created = wire.new_id("resp"), int(time.time())
    if parsed.stream:
        frames = wire.ResponseFrames(
            response_id, created, call.model_name, parsed.echo, logprobs=parsed.logprobs, thinking=thoughts is not None
        )
        body = stream_answer(generation, frames, record, lambda: _usage(generation, thoughts, record), thoughts)
        return StreamingBody(body, record, headers=headers, batch=call.latency.is_zero)
    return await _whole(request, parsed, generation, thoughts, call, record, headers, response_id, created)


def _tool_call(
    tool: Tool, parsed: ParsedResponseRequest, body: dict[str, Any], call: Call, record: RequestRecord,
    headers: dict[str, str],
) -> ASGIApp:  # fmt: skip
    """The demo's answer when the request requires a tool call: one `function_call` item."""
    seed = parsed.options.get("seed")
    answer = plan(tool, parsed.messages, seed)
    response_id, created = wire.new_id("resp"), int(time.time())
    echo = {**parsed.echo, "tools": body.get("tools") or [], "tool_choice": body.get("tool_choice")}
    frames = tool_wire.ResponseToolFrames(response_id, created, call.model_name, echo)
    whole = tool_wire.whole_response(response_id, created, call.model_name, echo, answer)
    return tool_call_answer(
        answer, call, stream=parsed.stream, encoder=frames, whole=whole, seed=seed, record=record, headers=headers
    )


def _usage(generation: Generation, thoughts: AsyncTokenStream | None, record: RequestRecord) -> dict[str, Any]:
    answer = generation.stream.usage.completion_tokens
    output = record.tokens_sent if answer is None else answer
    thinking = thought_tokens(thoughts)
    return wire.usage(generation.stream.usage.prompt_tokens or 0, output + thinking, thinking)


async def _whole(
    request: Request,
    parsed: ParsedResponseRequest,
    generation: Generation,
    thoughts: AsyncTokenStream | None,
    call: Call,
    record: RequestRecord,
    headers: dict[str, str],
    response_id: str,
    created: int,
) -> ASGIApp:
    """Collect the response (faults included) while watching the client, then send it whole."""

    def render(answer: Answer) -> bytes:
        thinking = thoughts.text if thoughts is not None else None
        usage = _usage(generation, thoughts, record)
        logprobs = answer.logprobs if parsed.logprobs else None
        return wire.whole_response(
            response_id, created, call.model_name, parsed.echo, thinking, answer.text, answer.finish_reason, usage,
            logprobs,
        )  # fmt: skip

    def fail() -> Response:
        return _fail(Problem(500, openai_wire.SERVER_ERROR_MESSAGE, type="server_error"), record, headers)

    events = after_thinking(thoughts, generation.events)
    return await answer_whole(request.receive, events, record, headers, render, fail, parsed.logprobs)
