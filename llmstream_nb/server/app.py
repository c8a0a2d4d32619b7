"""The ASGI app: one routes table for every protocol the server speaks, plus its own `/llmstream/*` endpoints.

A protocol is a module with `routes(state) -> list[Route]`: OpenAI (`/v1/models`, `/v1/chat/completions`,
`/v1/completions`, `/v1/responses`), Anthropic (`/v1/messages`), Ollama (`/api/*`) and Gemini (`/v1beta/models/*`)
today; a new one is added to `PROTOCOLS`. Run the app with any ASGI server, e.g.
`uvicorn --factory llmstream_nb.server.app:create_app`, or with `serve` / `BackgroundServer` (run.py).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from . import anthropic_routes, gemini_routes, ollama_routes, openai_routes, responses_routes
from .problem import Problem
from .settings import ServerSettings
from .state import ServerState
from .streaming import quiet_deliberate_drops

PROTOCOLS = (openai_routes, responses_routes, anthropic_routes, ollama_routes, gemini_routes)


def create_app(settings: ServerSettings | None = None, **options: Any) -> Starlette:
    """A new server app with its own request log and fault counters.

    Pass `settings`, or the flat options of `ServerSettings.build` (`ttft`, `tps`, `jitter`, `fast`, `api_key`).
    """
    state = ServerState(settings or ServerSettings.build(**options))
    routes: list[BaseRoute] = [route for protocol in PROTOCOLS for route in protocol.routes(state)]
    routes += _own_routes(state)
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
    app.state.llmstream = state
    quiet_deliberate_drops()
    return app


def app_state(app: Starlette) -> ServerState:
    """The `ServerState` of an app made by `create_app`."""
    return app.state.llmstream  # type: ignore[no-any-return]


def _own_routes(state: ServerState) -> list[Route]:
    """`/llmstream/requests` (the request log, oldest first) and `/llmstream/reset` (log and fault counters)."""

    def authorized(request: Request) -> Response | None:
        token = request.headers.get("authorization", "").partition(" ")[2].strip()
        if state.key_matches(token or None):
            return None
        return openai_routes.error_response(Problem(401, "Incorrect API key provided.", code="invalid_api_key"))

    async def requests(request: Request) -> Response:
        refused = authorized(request)
        if refused:
            return refused
        request_id = request.path_params.get("request_id")
        if request_id is None:
            return _json(state.log.snapshot())
        record = state.log.get(request_id)
        if record is None:
            return openai_routes.error_response(
                Problem(404, f"No request {request_id!r} in the log.", param="request_id")
            )
        return _json(record)

    async def reset(request: Request) -> Response:
        refused = authorized(request)
        if refused:
            return refused
        state.reset()
        return _json({"reset": True})

    return [
        Route("/llmstream/requests", requests, methods=["GET"]),
        Route("/llmstream/requests/{request_id}", requests, methods=["GET"]),
        Route("/llmstream/reset", reset, methods=["POST"]),
    ]


def _json(value: Any) -> Response:
    return Response(json.dumps(value, separators=(",", ":")), media_type="application/json")


async def _http_error(request: Request, exc: Exception) -> Response:
    """Unknown paths and methods answer in OpenAI's shape, so a wrong base URL reads clearly in any client."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    message = f"Invalid URL ({request.method} {request.url.path})" if status in (404, 405) else str(exc)
    return openai_routes.error_response(Problem(status, message))
