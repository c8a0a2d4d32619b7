"""Anthropic's Messages endpoint, `POST /v1/messages`, streaming and not, with the same faults as the OpenAI routes.

The steps are the OpenAI routes' steps: check the key (`x-api-key`) and `anthropic-version`, parse the body
(anthropic_requests), resolve the model name and fault spec and answer a `status=` fault (`state.admit`),
start the model (`state.start`), then stream events or collect the whole message while watching the client
(`streaming.answer_whole`).

Extended thinking: when the request enables it, the demo model "thinks" first by writing up to
`THINKING_TOKENS` tokens of its own for `thinking_prompt(...)` (with `thinking_options`), streamed as a
`thinking` block with a stand-in signature, then answers in a `text` block. That is all the demo can
honestly do, and it is enough to carry reasoning end to end. Thinking counts in `output_tokens` and against `max_tokens` (the answer gets
what is left after the most the thinking may use); fault counts (`drop_after=N`...) are answer tokens.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from ..chunks import Chunk
from ..models.streams import AsyncTokenStream
from . import anthropic_wire as wire
from .anthropic_requests import ParsedMessages, parse_messages
from .faults import FAULT_HEADER, ConnectionDropped, Event, Injected
from .log import ERROR, RequestRecord
from .openai_requests import parse_json
from .problem import Problem, error_answer
from .state import Call, Generation, ServerState
from .streaming import Answer, StreamingBody, answer_whole

logger = logging.getLogger("llmstream_nb.server")

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


def _think(call: Call, parsed: ParsedMessages, tokens: int) -> AsyncTokenStream:
    """The thinking block's stream: the demo model on `thinking_prompt`."""
    prompt = thinking_prompt(parsed.messages[-1]["content"])
    return call.model.astream(prompt, **thinking_options(parsed.options, tokens))


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
        parsed = parse_messages(parse_json(await request.body()))
        record.model, record.stream = parsed.model, parsed.stream
        call = state.admit(parsed.model, request.headers.get(FAULT_HEADER), record, headers, wire.status_problem)
        thinking = min(parsed.thinking_budget, THINKING_TOKENS) if parsed.thinking_budget else 0
        options = {**parsed.options, "max_tokens": parsed.max_tokens - thinking}
        generation = await state.start(call, parsed.messages, options, record)
    except Problem as problem:
        return _fail(problem, record, headers)
    thoughts = _think(call, parsed, thinking) if thinking else None
    if parsed.stream:
        frames = wire.MessageFrames(wire.new_id(), call.model_name)
        body = _events(generation, thoughts, frames, record)
        return StreamingBody(body, record, headers=headers, batch=call.latency.is_zero)
    return await _whole(request, generation, thoughts, call, record, headers)


def _usage(generation: Generation, thoughts: AsyncTokenStream | None, record: RequestRecord) -> dict[str, int]:
    """Input tokens of the prompt; output tokens of the answer and of the thinking before it."""
    answer = generation.stream.usage.completion_tokens
    output = record.tokens_sent if answer is None else answer
    if thoughts is not None:
        output += thoughts.completion.usage.completion_tokens or 0
    return wire.usage(generation.stream.usage.prompt_tokens or 0, output)


async def _events(
    generation: Generation, thoughts: AsyncTokenStream | None, frames: wire.MessageFrames, record: RequestRecord
) -> AsyncIterator[bytes]:
    """message_start, a thinking block if asked for, the text block (ping after the first block opens, as
    the API does), message_delta with the stop reason and usage, message_stop."""
    yield frames.start()
    finish = None
    try:
        if thoughts is not None:
            yield frames.block_start("thinking")
            yield wire.PING_EVENT
            async for chunk in thoughts:
                if chunk.text:
                    yield frames.thinking(chunk.text)
            yield frames.signature(thoughts.text)
            yield frames.block_stop()
        yield frames.block_start("text")
        if thoughts is None:
            yield wire.PING_EVENT
        async for event in generation.events:
            if event.__class__ is Chunk:
                if event.text:
                    yield frames.text(event.text)
                finish = event.finish_reason or finish
            elif event is Injected.ERROR:
                yield wire.OVERLOADED_EVENT
                return
            elif event is Injected.MALFORMED:
                yield frames.malformed()
            else:  # Injected.FLUSH
                yield b""
    except ConnectionDropped:
        raise
    except Exception:
        logger.exception("the model failed mid-stream")
        record.finish(ERROR)
        yield wire.error_event("api_error", wire.SERVER_ERROR_MESSAGE)
        return
    finally:  # stop the model now, even if the client left before the answer's events were started
        if thoughts is not None:
            await thoughts.aclose()
        await generation.stream.aclose()
    yield frames.block_stop()
    yield frames.finish(finish, _usage(generation, thoughts, record))
    yield wire.STOP_EVENT


async def _after_thinking(thoughts: AsyncTokenStream | None, events: AsyncIterator[Event]) -> AsyncIterator[Event]:
    """The answer's events, once the thinking (if any) has been written: a whole message holds both."""
    if thoughts is not None:
        async for _ in thoughts:
            pass
    async for event in events:
        yield event


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

    events = _after_thinking(thoughts, generation.events)
    return await answer_whole(request.receive, events, record, headers, render, fail)
