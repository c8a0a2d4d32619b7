"""The OpenAI-compatible endpoints: `/v1/models`, `/v1/chat/completions`, `/v1/completions`.

Each generation request runs the same steps: check the key, parse the body (openai_requests), resolve the
model name and fault spec (state), answer a `status=` fault, start the model, then either stream SSE
frames or collect the whole answer, both while watching for the client leaving (streaming).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from ..tool_calls import Tool
from . import openai_requests as parse
from . import openai_wire as wire
from . import tool_wire
from .body import read_body
from .faults import FAULT_HEADER
from .log import COMPLETED, RequestRecord
from .problem import Problem, UnknownModel, error_answer
from .state import Call, Generation, ServerState
from .streaming import Answer, StreamingBody, answer_whole, stream_answer
from .tool_answers import plan, required_tool, tool_call_answer

_NO_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header "
    "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
)


@dataclass(frozen=True)
class _Endpoint:
    """What differs between chat and legacy completions."""

    parse: Callable[[dict[str, Any]], parse.ParsedRequest]
    frames: type[wire.ChatFrames | wire.CompletionFrames]
    id_prefix: str
    whole: Callable[..., bytes]


_CHAT = _Endpoint(parse.parse_chat, wire.ChatFrames, "chatcmpl", wire.chat_completion)
_COMPLETION = _Endpoint(parse.parse_completion, wire.CompletionFrames, "cmpl", wire.text_completion)


def routes(state: ServerState) -> list[Route]:
    """The OpenAI routes, bound to one server's state."""
    created = int(time.time())

    async def list_models(request: Request) -> Response:
        return _models(state, request, created, None)

    async def retrieve_model(request: Request) -> Response:
        return _models(state, request, created, request.path_params["model"])

    async def chat(request: Request) -> ASGIApp:
        return await _generate(state, _CHAT, request)

    async def completions(request: Request) -> ASGIApp:
        return await _generate(state, _COMPLETION, request)

    return [
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/models/{model:path}", retrieve_model, methods=["GET"]),
        Route("/v1/chat/completions", chat, methods=["POST"]),
        Route("/v1/completions", completions, methods=["POST"]),
    ]


def error_response(problem: Problem, headers: dict[str, str] | None = None) -> Response:
    """A Problem as OpenAI's `{"error": {...}}` answer."""
    return error_answer(problem, wire.error_body, headers=headers)


def _fail(problem: Problem, record: RequestRecord, headers: dict[str, str]) -> Response:
    return error_answer(problem, wire.error_body, record, headers)


def _check_key(state: ServerState, request: Request, x_api_key: bool = False) -> None:
    """A bearer token when the server has a key; with `x_api_key` (the model routes, which Anthropic's
    clients read too), Anthropic's `x-api-key` header instead of one."""
    if not state.requires_key:
        return
    authorization = request.headers.get("authorization", "").strip()
    key = request.headers.get("x-api-key", "").strip() if x_api_key and not authorization else ""
    if key:
        if not state.key_matches(key):
            raise Problem(401, "Incorrect API key provided.", code="invalid_api_key")
        return
    if not authorization:
        raise Problem(401, _NO_KEY, code="invalid_api_key")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not state.key_matches(token.strip()):
        raise Problem(401, "Incorrect API key provided.", code="invalid_api_key")


def _models(state: ServerState, request: Request, created: int, model: str | None) -> Response:
    record = state.log.begin(request.url.path)
    record.model = model
    headers = {"x-request-id": record.id}
    try:
        _check_key(state, request, x_api_key=True)
        state.admit_listing(request.headers.get(FAULT_HEADER), record, model or state.served_model, wire.status_problem)
        if model is None:
            body = wire.models_list([state.served_model], created)
        elif model.lower().startswith(state.served_prefixes):
            body = wire.model_object(model, created)
        else:
            raise UnknownModel(model)
    except Problem as problem:
        return _fail(problem, record, headers)
    record.finish(COMPLETED, 200)
    return Response(body, media_type="application/json", headers=headers)


async def _generate(state: ServerState, endpoint: _Endpoint, request: Request) -> ASGIApp:
    record = state.log.begin(request.url.path)
    headers = {"x-request-id": record.id}
    try:
        _check_key(state, request)
        payload = parse.parse_json(await read_body(request))
        parsed = endpoint.parse(payload)
        record.model, record.stream = parsed.model, parsed.stream
        call = state.admit(parsed.model, request.headers.get(FAULT_HEADER), record, headers, wire.status_problem)
        tool = required_tool(payload.get("tools"), payload.get("tool_choice")) if endpoint is _CHAT else None
        if tool is None:
            generation = await state.start(call, parsed.prompt, parsed.options, record)
    except Problem as problem:
        return _fail(problem, record, headers)
    response_id, created = wire.new_id(endpoint.id_prefix), int(time.time())
    if tool is not None:
        return _tool_call(tool, parsed, call, record, headers, response_id, created)
    if parsed.stream:
        frames = endpoint.frames(
            response_id, created, call.model_name, include_usage=parsed.include_usage, logprobs=parsed.logprobs
        )
        body = stream_answer(
            generation, frames, record, lambda: wire.usage_dict(generation.stream.usage, record.tokens_sent)
        )
        return StreamingBody(body, record, headers=headers, batch=call.latency.is_zero)
    return await _whole(endpoint, request, generation, call, parsed, record, headers, response_id, created)


def _tool_call(
    tool: Tool,
    parsed: parse.ParsedRequest,
    call: Call,
    record: RequestRecord,
    headers: dict[str, str],
    response_id: str,
    created: int,
) -> ASGIApp:
    """The demo's answer when the request requires a tool call: one call in `delta.tool_calls`."""
    seed = parsed.options.get("seed")
    answer = plan(tool, parsed.prompt, seed)
    frames = tool_wire.ChatToolFrames(response_id, created, call.model_name, include_usage=parsed.include_usage)
    whole = tool_wire.chat_completion(response_id, created, call.model_name, answer)
    return tool_call_answer(
        answer, call, stream=parsed.stream, encoder=frames, whole=whole, seed=seed, record=record, headers=headers
    )


async def _whole(
    endpoint: _Endpoint,
    request: Request,
    generation: Generation,
    call: Call,
    parsed: parse.ParsedRequest,
    record: RequestRecord,
    headers: dict[str, str],
    response_id: str,
    created: int,
) -> ASGIApp:
    """Collect the answer (faults included) while watching the client, then send it whole."""

    def render(answer: Answer) -> bytes:
        usage = wire.usage_dict(generation.stream.usage, len(answer.texts))
        logprobs = answer.logprobs if parsed.logprobs else None
        return endpoint.whole(response_id, created, call.model_name, answer.text, answer.finish_reason, usage, logprobs)

    def fail() -> Response:
        return _fail(Problem(500, wire.SERVER_ERROR_MESSAGE, type="server_error"), record, headers)

    return await answer_whole(request.receive, generation.events, record, headers, render, fail, parsed.logprobs)
