"""An HTTP error a route answers with, before any protocol has shaped it into its own error body."""

from __future__ import annotations


class Problem(Exception):
    """An error answer: status, message, and the OpenAI-style `param`/`code`/`type` hints.

    Each protocol module turns a Problem into its own body (OpenAI `{"error": {...}}`, and later
    Anthropic's and Ollama's); `type` is None to let the protocol pick the usual type for the status.
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
