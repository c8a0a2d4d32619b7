"""Google's Gemini API: `POST /v1beta/models/{model}:streamGenerateContent` (`?alt=sse`), `:generateContent`,
and `GET /v1beta/models` (and one model), with the same faults as the other protocols; generation under
`/v1/models/...` too.

The steps are the OpenAI routes' steps: check the key (`x-goog-api-key`, or the `key` query parameter the
API also takes), parse the body (gemini_requests), resolve the model name (from the URL) and fault spec and
answer a `status=` fault (`state.admit`), start the model (`state.start`), then stream events or collect the
whole response while watching the client (`streaming.answer_whole`). Errors are Google's
`{"error": {"code", "message", "status"}}`, and a missing key is a 403, a wrong one a 400, as Google answers.

Thinking: `thinkingConfig.includeThoughts` (with a budget other than 0) makes the demo model "think" first
(`thinking.py`), sent as parts marked `"thought": true`; thoughts count in `thoughtsTokenCount`, and fault
counts (`drop_after=N`...) are answer tokens. Only the JSON-array stream (no `alt=sse`) is not spoken: it
answers 400, as no streaming client we know of asks for it.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from ..models.streams import AsyncTokenStream
from . import gemini_wire as wire
from .body import read_body
from .faults import FAULT_HEADER
from .gemini_requests import ParsedContent, invalid, parse_content, thinks
from .log import COMPLETED, RequestRecord
from .openai_requests import parse_json
from .problem import Problem, UnknownModel, error_answer
from .state import Call, Generation, ServerState
from .streaming import Answer, StreamingBody, answer_whole, stream_answer
from .thinking import THINKING_TOKENS, after_thinking, think, thought_tokens

PREFIX = "/v1beta/models"
#: The stable API version, which recent `google-genai` releases use by default. Only generation is served
#: there: `GET /v1/models` is the OpenAI model list.
STABLE_PREFIX = "/v1/models"


def routes(state: ServerState) -> list[Route]:
    """The Gemini routes, bound to one server's state."""

    async def stream(request: Request) -> ASGIApp:
        if request.query_params.get("alt") != "sse":
            problem = invalid("This server streams only as server-sent events: add ?alt=sse to the URL")
            return _fail(problem, state.log.begin(request.url.path), {})
        return await _generate(state, request, streamed=True)

    async def whole(request: Request) -> ASGIApp:
        return await _generate(state, request, streamed=False)

    async def list_models(request: Request) -> Response:
        return _models(state, request, None)

    async def get_model(request: Request) -> Response:
        return _models(state, request, request.path_params["model"])

    generate = [
        Route(prefix + "/{model}:" + method, endpoint, methods=["POST"])
        for prefix in (PREFIX, STABLE_PREFIX)
        for method, endpoint in (("streamGenerateContent", stream), ("generateContent", whole))
    ]
    return [
        Route(PREFIX, list_models, methods=["GET"]),
        *generate,
        Route(PREFIX + "/{model}", get_model, methods=["GET"]),
    ]


def _fail(problem: Problem, record: RequestRecord, headers: dict[str, str]) -> Response:
    """A Problem as Google's `{"error": {...}}` answer."""
    return error_answer(problem, wire.error_body, record, headers)


def _check_key(state: ServerState, request: Request) -> None:
    """`x-goog-api-key` (or `?key=`) when the server has a key: none is a 403, a wrong one a 400, as Google answers."""
    if not state.requires_key:
        return
    key = (request.headers.get("x-goog-api-key") or request.query_params.get("key") or "").strip()
    if not key:
        raise Problem(403, wire.NO_KEY_MESSAGE, type="PERMISSION_DENIED")
    if not state.key_matches(key):
        raise Problem(400, wire.BAD_KEY_MESSAGE, type="INVALID_ARGUMENT")


def _models(state: ServerState, request: Request, model: str | None) -> Response:
    record = state.log.begin(request.url.path)
    record.model = model
    headers = {"x-request-id": record.id}
    try:
        _check_key(state, request)
        state.admit_listing(request.headers.get(FAULT_HEADER), record, model or state.served_model, wire.status_problem)
        if model is None:
            body = wire.models_list([state.served_model])
        elif model.removeprefix("models/").lower().startswith(state.served_prefixes):
            body = wire.model_body(model.removeprefix("models/"))
        else:
            raise UnknownModel(model)
    except Problem as problem:
        return _fail(problem, record, headers)
    record.finish(COMPLETED, 200)
    return Response(body, media_type="application/json", headers=headers)


async def _generate(state: ServerState, request: Request, *, streamed: bool) -> ASGIApp:
    record = state.log.begin(request.url.path)
    headers = {"x-request-id": record.id}
    model_name = request.path_params["model"].removeprefix("models/")
    record.model, record.stream = model_name, streamed
    try:
        _check_key(state, request)
        parsed = parse_content(parse_json(await read_body(request)))
        call = state.admit(model_name, request.headers.get(FAULT_HEADER), record, headers, wire.status_problem)
        generation = await state.start(call, parsed.messages, parsed.options, record)
    except Problem as problem:
        return _fail(problem, record, headers)
    budget = parsed.thinking_budget
    tokens = THINKING_TOKENS if budget is None or budget < 0 else min(budget, THINKING_TOKENS)
    thoughts = think(call, parsed.messages, parsed.options, tokens) if thinks(parsed) else None
    if streamed:
        frames = wire.ContentFrames(wire.new_id(), call.model_name, logprobs=parsed.logprobs)
        body = stream_answer(generation, frames, record, lambda: _usage(generation, thoughts, record), thoughts)
        return StreamingBody(body, record, headers=headers, batch=call.latency.is_zero)
    return await _whole(request, parsed, generation, thoughts, call, record, headers)


def _usage(generation: Generation, thoughts: AsyncTokenStream | None, record: RequestRecord) -> dict[str, int]:
    answer = generation.stream.usage.completion_tokens
    output = record.tokens_sent if answer is None else answer
    return wire.usage(generation.stream.usage.prompt_tokens or 0, output, thought_tokens(thoughts))


async def _whole(
    request: Request,
    parsed: ParsedContent,
    generation: Generation,
    thoughts: AsyncTokenStream | None,
    call: Call,
    record: RequestRecord,
    headers: dict[str, str],
) -> ASGIApp:
    """Collect the response (faults included) while watching the client, then send it whole."""
    response_id = wire.new_id()

    def render(answer: Answer) -> bytes:
        thinking = thoughts.text if thoughts is not None else None
        counts = _usage(generation, thoughts, record)
        logprobs = answer.logprobs if parsed.logprobs else None
        return wire.response(
            response_id, call.model_name, thinking, answer.text, answer.finish_reason, counts, logprobs
        )

    def fail() -> Response:
        return _fail(Problem(500, wire.INTERNAL_MESSAGE, type="INTERNAL"), record, headers)

    events = after_thinking(thoughts, generation.events)
    return await answer_whole(request.receive, events, record, headers, render, fail, keep_logprobs=parsed.logprobs)
