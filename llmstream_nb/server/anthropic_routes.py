"""Anthropic's Messages endpoint, `POST /v1/messages`, streaming and not, with the same faults as the OpenAI routes.

The steps are the OpenAI routes' steps: check the key (`x-api-key`) and `anthropic-version`, parse the body
(anthropic_requests), resolve the model name and fault spec and answer a `status=` fault (`state.admit`),
start the model (`state.start`), then stream events or collect the whole message while watching the client
(`streaming.answer_whole`).

Extended thinking: when the request enables it, the demo model "thinks" first (`thinking.py`), streamed as a
`thinking` block with a stand-in signature, then answers in a `text` block. Thinking counts in `output_tokens`
and against `max_tokens` (the answer gets what is left after the most the thinking may use); fault counts
(`drop_after=N`...) are answer tokens.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from ..models.streams import AsyncTokenStream
from . import anthropic_wire as wire
from . import tool_wire
from .anthropic_requests import parse_messages
from .body import read_body
from .faults import FAULT_HEADER
from .log import RequestRecord
from .openai_requests import parse_json
from .problem import Problem, error_answer
from .state import Call, Generation, ServerState
from .streaming import Answer, StreamingBody, answer_whole, stream_answer
from .thinking import THINKING_TOKENS, after_thinking, think, thought_tokens
from .tool_answers import plan, required_tool, tool_call_answer


def routes(state: ServerState) -> list[Route]:
    """The Anthropic routes, bound to one server's state."""

    async def messages(request: Request) -> ASGIApp:
        return await _generate(state, request)

    return [Route("/v1/messages", messages, methods=["POST"])]


def _fail(problem: Problem, record: RequestRecord, headers: dict[str, str]) -> Response:
    """A Problem as Anthropic's `{"type": "error", "error": {...}}` answer."""
    return error_answer(problem, wire.error_body, record, headers)


def _check_headers(state: ServerState, request: Request) -> None:
    """`x-api-key` (or a bearer token, as the SDK's `auth_token` sends) when the server has a key; and
    `anthropic-version`, which the real API requires of every request."""
    if state.requires_key:
        key = request.headers.get("x-api-key") or request.headers.get("authorization", "").partition(" ")[2]
        if not key.strip():
            raise Problem(401, "x-api-key header is required", type="authentication_error")
        if not state.key_matches(key.strip()):
            raise Problem(401, "invalid x-api-key", type="authentication_error")
    if not request.headers.get("anthropic-version"):
        raise Problem(400, "anthropic-version: header is required", type="invalid_request_error")


async def _generate(state: ServerState, request: Request) -> ASGIApp:
    record = state.log.begin(request.url.path)
    headers = {"x-request-id": record.id, "request-id": record.id}
    try:
        _check_headers(state, request)
        payload = parse_json(await read_body(request))
        parsed = parse_messages(payload)
        record.model, record.stream = parsed.model, parsed.stream
        call = state.admit(parsed.model, request.headers.get(FAULT_HEADER), record, headers, wire.status_problem)
        tool = required_tool(payload.get("tools"), payload.get("tool_choice"))
        if tool is not None:
            seed = parsed.options.get("seed")
            answer = plan(tool, parsed.messages, seed)
            tool_frames = tool_wire.MessageToolFrames(wire.new_id(), call.model_name)
            message = tool_wire.anthropic_message(tool_frames.id, call.model_name, answer)
            return tool_call_answer(
                answer, call, stream=parsed.stream, encoder=tool_frames, whole=message, seed=seed, record=record,
                headers=headers,
            )  # fmt: skip
        thinking = min(parsed.thinking_budget, THINKING_TOKENS) if parsed.thinking_budget else 0
        options = {**parsed.options, "max_tokens": parsed.max_tokens - thinking}
        generation = await state.start(call, parsed.messages, options, record)
    except Problem as problem:
        return _fail(problem, record, headers)
    thoughts = think(call, parsed.messages, parsed.options, thinking) if thinking else None
    if parsed.stream:
        frames = wire.MessageFrames(wire.new_id(), call.model_name, thinking=thoughts is not None)
        body = stream_answer(generation, frames, record, lambda: _usage(generation, thoughts, record), thoughts)
        return StreamingBody(body, record, headers=headers, batch=call.latency.is_zero)
    return await _whole(request, generation, thoughts, call, record, headers)


def _usage(generation: Generation, thoughts: AsyncTokenStream | None, record: RequestRecord) -> dict[str, int]:
    """Input tokens of the prompt; output tokens of the answer and of the thinking before it."""
    answer = generation.stream.usage.completion_tokens
    output = record.tokens_sent if answer is None else answer
    return wire.usage(generation.stream.usage.prompt_tokens or 0, output + thought_tokens(thoughts))


async def _whole(
    request: Request,
    generation: Generation,
    thoughts: AsyncTokenStream | None,
    call: Call,
    record: RequestRecord,
    headers: dict[str, str],
) -> ASGIApp:
    """Collect the message (faults included) while watching the client, then send it whole."""
    message_id = wire.new_id()

    def render(answer: Answer) -> bytes:
        thinking = thoughts.text if thoughts is not None else None
        usage = _usage(generation, thoughts, record)
        return wire.message(message_id, call.model_name, thinking, answer.text, answer.finish_reason, usage)

    def fail() -> Response:
        return _fail(Problem(500, wire.SERVER_ERROR_MESSAGE), record, headers)

    events = after_thinking(thoughts, generation.events)
    return await answer_whole(request.receive, events, record, headers, render, fail)
