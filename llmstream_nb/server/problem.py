"""An HTTP error a route answers with, before any protocol has shaped it into its own error body."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from starlette.responses import Response

from .log import ERROR, FAULT, RequestRecord


class Problem(Exception):
    """An error answer: status, message, and the OpenAI-style `param`/`code`/`type` hints.

    Each protocol module turns a Problem into its own body (OpenAI `{"error": {...}}`, Anthropic's
    `{"type": "error", ...}`, Ollama's `{"error": "..."}`); `type` is None to let the protocol pick the
    usual type for the status.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.type = type
        self.headers = headers or {}


class UnknownModel(Problem):
    """A model id this server does not serve (404); `model` is the id asked for."""

    def __init__(self, model: str) -> None:
        super().__init__(
            404,
            f"The model `{model}` does not exist or you do not have access to it.",
            param="model",
            code="model_not_found",
        )
        self.model = model


def error_answer(
    problem: Problem,
    render: Callable[[Problem], bytes],
    record: RequestRecord | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """`problem` as an HTTP answer whose body is the protocol's (`render(problem)`); `record` is closed
    as a fault when the request asked for one that fired, else as an error."""
    if record is not None:
        record.finish(FAULT if record.faults_fired else ERROR, problem.status)
    return Response(
        render(problem),
        status_code=problem.status,
        media_type="application/json",
        headers={**(headers or {}), **problem.headers},
    )
