"""The OpenAI-compatible endpoints: `/v1/models`, `/v1/chat/completions`, `/v1/completions`.

Each generation request runs the same steps: check the key, parse the body (openai_requests), resolve the
model name and fault spec (state), answer a `status=` fault, start the model, then either stream SSE
frames or collect the whole answer, both while watching for the client leaving (streaming).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from ..chunks import Chunk
from . import openai_requests as parse
from . import openai_wire as wire
from .faults import FAULT_HEADER, ConnectionDropped, FaultSpec, FaultSpecError, Injected
from .log import CLIENT_DISCONNECTED, COMPLETED, ERROR, FAULT, RequestRecord
from .problem import Problem, UnknownModel
from .state import MODEL_PREFIXES, SERVED_MODEL, Call, Generation, ServerState
from .streaming import ClientDisconnected, DroppedResponse, StreamingBody, race_disconnect

logger = logging.getLogger("llmstream_nb.server")

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
    return Response(
        wire.error_body(problem),
        status_code=problem.status,
        media_type="application/json",
        headers={**(headers or {}), **problem.headers},
    )


def _fail(problem: Problem, record: RequestRecord, headers: dict[str, str]) -> Response:
    record.finish(FAULT if record.faults_fired else ERROR, problem.status)
    return error_response(problem, headers)


def _check_key(state: ServerState, request: Request) -> None:
    if not state.requires_key:
        return
    authorization = request.headers.get("authorization", "").strip()
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
        _check_key(state, request)
        header_spec = request.headers.get(FAULT_HEADER)
        if header_spec:
            try:
                spec = state.counters.admit(FaultSpec.parse(header_spec))
            except FaultSpecError as exc:
                raise Problem(400, str(exc), code="invalid_fault_spec") from None
            record.fault = spec.text
            if spec.status is not None:
                record.faults_fired.append(f"status={spec.status}")
                raise wire.status_problem(spec.status, model or SERVED_MODEL, spec.retry_after_header())
        if model is None:
            body = wire.models_list([SERVED_MODEL], created)
        elif model.lower().startswith(MODEL_PREFIXES):
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
        parsed = endpoint.parse(parse.parse_json(await request.body()))
        record.model, record.stream = parsed.model, parsed.stream
        call = state.prepare(parsed.model, request.headers.get(FAULT_HEADER))
        record.fault = call.spec.text or None
        if call.spec.is_fault:
            headers["x-llmstream-fault"] = call.spec.text
        if call.spec.status is not None:
            record.faults_fired.append(f"status={call.spec.status}")
            raise wire.status_problem(call.spec.status, call.model_name, call.spec.retry_after_header())
        generation = await state.start(call, parsed.prompt, parsed.options, record)
    except Problem as problem:
        return _fail(problem, record, headers)
    response_id, created = wire.new_id(endpoint.id_prefix), int(time.time())
    if parsed.stream:
        frames = endpoint.frames(
            response_id, created, call.model_name, include_usage=parsed.include_usage, logprobs=parsed.logprobs
        )
        body = _sse(generation, frames, parsed.include_usage, record)
        return StreamingBody(body, record, headers=headers, batch=call.latency.is_zero)
    return await _whole(endpoint, request, generation, call, parsed, record, headers, response_id, created)


async def _sse(
    generation: Generation, frames: wire.ChatFrames | wire.CompletionFrames, include_usage: bool, record: RequestRecord
) -> AsyncIterator[bytes]:
    """The SSE body: role frame, a frame per token, the finish frame, usage if asked for, `[DONE]`."""
    role = frames.role()
    if role:
        yield role
    try:
        async for event in generation.events:
            if event.__class__ is Chunk:
                if event.text:
                    yield frames.token(event)
                if event.finish_reason:
                    yield frames.finish(event.finish_reason)
            elif event is Injected.ERROR:
                yield wire.stream_error()
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
        yield wire.stream_error()
        return
    if include_usage:
        yield frames.usage(wire.usage_dict(generation.stream.usage, record.tokens_sent))
    yield wire.DONE


@dataclass
class _Answer:
    """A whole answer as it is collected (kept when a fault cuts the collection short)."""

    texts: list[str] = field(default_factory=list)
    logprobs: list[Chunk] = field(default_factory=list)
    finish_reason: str | None = None
    malformed: bool = False
    failed: bool = False


async def _collect(generation: Generation, answer: _Answer, keep_logprobs: bool) -> None:
    async for event in generation.events:
        if event.__class__ is Chunk:
            if event.text:
                answer.texts.append(event.text)
                if keep_logprobs:
                    answer.logprobs.append(event)
            answer.finish_reason = event.finish_reason or answer.finish_reason
        elif event is Injected.ERROR:
            answer.failed = True
            return
        elif event is Injected.MALFORMED:
            answer.malformed = True


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
    answer = _Answer()

    def body() -> bytes:
        usage = wire.usage_dict(generation.stream.usage, len(answer.texts))
        logprobs = answer.logprobs if parsed.logprobs else None
        text = "".join(answer.texts)
        return endpoint.whole(response_id, created, call.model_name, text, answer.finish_reason, usage, logprobs)

    try:
        await race_disconnect(_collect(generation, answer, parsed.logprobs), request.receive)
    except ClientDisconnected:
        record.finish(CLIENT_DISCONNECTED)
        return Response(status_code=499)  # nobody is left to read it
    except ConnectionDropped:
        return DroppedResponse(body(), record, headers=headers)
    except Exception:
        logger.exception("the model failed")
        return _fail(Problem(500, wire.SERVER_ERROR_MESSAGE, type="server_error"), record, headers)
    if answer.failed:
        return _fail(Problem(500, wire.SERVER_ERROR_MESSAGE, type="server_error"), record, headers)
    content = body()
    if answer.malformed:
        content = content[: len(content) // 2]
    record.finish(COMPLETED, 200)
    return Response(content, media_type="application/json", headers=headers)
