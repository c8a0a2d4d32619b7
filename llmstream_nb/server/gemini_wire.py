"""The Gemini API wire format going out: errors, whole responses and SSE events. No HTTP here, only bytes.

Shapes follow https://ai.google.dev/api/generate-content closely enough for the `google-genai` SDK and our
own client: every event of `streamGenerateContent?alt=sse` is one whole `GenerateContentResponse` (the
answer's new text in `candidates[0].content.parts`), the last one carries `finishReason` and
`usageMetadata`, and nothing follows it. Events end with CRLF CRLF, as Google's do. The text event is built
from a template, so the per-token work is one JSON string escape and one concatenation.
"""

from __future__ import annotations

import json
import secrets
from json.encoder import encode_basestring as _quote  # str -> JSON string literal, non-ASCII kept as is
from typing import Any

from ..chunks import Chunk
from .problem import Problem, UnknownModel

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

END = "\r\n\r\n"

# -- errors -----------------------------------------------------------------------------------

#: Google's status word for each HTTP status (google.rpc.Code); other 5xx are INTERNAL, other 4xx FAILED_PRECONDITION.
STATUS_WORDS: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

INTERNAL_MESSAGE = (
    "An internal error has occurred. Please retry or report in "
    "https://developers.generativeai.google/guide/troubleshooting"
)
OVERLOADED_MESSAGE = "The model is overloaded. Please try again later."
NO_KEY_MESSAGE = (
    "Method doesn't allow unregistered callers (callers without established identity). "
    "Please use API Key or other form of API consumer identity to call this API."
)
BAD_KEY_MESSAGE = "API key not valid. Please pass a valid API key."

# What Google says for each status a `status=` fault can ask for.
_STATUS_MESSAGES: dict[int, str] = {
    400: "Request contains an invalid argument.",
    401: "Request had invalid authentication credentials.",
    403: NO_KEY_MESSAGE,
    404: "models/{model} is not found for API version v1beta, or is not supported for generateContent.",
    429: "You exceeded your current quota, please check your plan and billing details.",
    500: INTERNAL_MESSAGE,
    503: OVERLOADED_MESSAGE,
    504: "Deadline expired before operation could complete.",
}


def status_word(status: int) -> str:
    if status in STATUS_WORDS:
        return STATUS_WORDS[status]
    return "INTERNAL" if status >= 500 else "FAILED_PRECONDITION"


def status_problem(status: int, model: str, retry_after: str | None) -> Problem:
    """The error a `status=CODE` fault answers with, in Google's words where Google has some."""
    message = _STATUS_MESSAGES.get(status, f"HTTP {status} (injected fault).").format(model=model)
    headers = {"retry-after": retry_after} if retry_after is not None else {}
    return Problem(status, message, type=status_word(status), headers=headers)


def error_object(status: int, message: str, word: str | None = None) -> dict[str, Any]:
    return {"error": {"code": status, "message": message, "status": word or status_word(status)}}


def error_body(problem: Problem) -> bytes:
    """`{"error": {"code", "message", "status"}}`. Types set by protocol-neutral code for OpenAI
    (`server_error`...) give way to Google's status word for the status."""
    word = problem.type if problem.type in STATUS_WORDS.values() else status_word(problem.status)
    if isinstance(problem, UnknownModel):
        message = _STATUS_MESSAGES[404].format(model=problem.model)
    else:
        message = problem.message
    return _dumps(error_object(problem.status, message, word)).encode()


def event(payload: dict[str, Any]) -> bytes:
    return f"data: {_dumps(payload)}{END}".encode()


#: What Google sends when generation fails after the 200: its error object as an event.
OVERLOADED_EVENT = event(error_object(503, OVERLOADED_MESSAGE))
INTERNAL_EVENT = event(error_object(500, INTERNAL_MESSAGE))


# -- responses --------------------------------------------------------------------------------------


def new_id() -> str:
    return secrets.token_urlsafe(16)


def finish_reason(reason: str | None) -> str:
    """The demo's finish reason in Google's words."""
    return "MAX_TOKENS" if reason == "length" else "STOP"


def usage(prompt_tokens: int, answer_tokens: int, thought_tokens: int = 0) -> dict[str, int]:
    """`usageMetadata`: thoughts are counted apart from the answer, and in the total."""
    counts = {"promptTokenCount": prompt_tokens, "candidatesTokenCount": answer_tokens}
    if thought_tokens:
        counts["thoughtsTokenCount"] = thought_tokens
    counts["totalTokenCount"] = prompt_tokens + answer_tokens + thought_tokens
    return counts


def token_logprobs(chunk: Chunk) -> tuple[dict[str, Any], dict[str, Any]]:
    """The chosen token and its alternatives, as `logprobsResult` lists them."""
    chosen = {"token": chunk.text, "logProbability": chunk.logprob}
    top = {"candidates": [{"token": t, "logProbability": lp} for t, lp in chunk.top_logprobs or ()]}
    return chosen, top


def logprobs_result(chunks: list[Chunk]) -> dict[str, Any]:
    pairs = [token_logprobs(chunk) for chunk in chunks]
    return {"topCandidates": [top for _, top in pairs], "chosenCandidates": [chosen for chosen, _ in pairs]}


def response(
    response_id: str,
    model: str,
    thinking: str | None,
    text: str,
    reason: str | None,
    counts: dict[str, int],
    logprobs: list[Chunk] | None = None,
) -> bytes:
    """A whole `generateContent` answer: a thought part if there was thinking, then the text part."""
    parts: list[dict[str, Any]] = []
    if thinking is not None:
        parts.append({"text": thinking, "thought": True})
    parts.append({"text": text})
    candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "finishReason": finish_reason(reason)}
    if logprobs is not None:
        scored = [c.logprob for c in logprobs if c.logprob is not None]
        candidate["avgLogprobs"] = sum(scored) / len(scored) if scored else 0.0
        candidate["logprobsResult"] = logprobs_result(logprobs)
    candidate["index"] = 0
    return _dumps(
        {"candidates": [candidate], "usageMetadata": counts, "modelVersion": model, "responseId": response_id}
    ).encode()


class ContentFrames:
    """The SSE events of one streamed answer: the `ThinkingEncoder` of the Gemini routes. Each token is one
    event (with its `logprobsResult` when asked); thoughts are parts marked `"thought": true`."""

    def __init__(self, response_id: str, model: str, *, logprobs: bool = False) -> None:
        self.logprobs = logprobs
        self._tail = f',"modelVersion":{_quote(model)},"responseId":{_quote(response_id)}}}{END}'
        self._head = 'data: {"candidates":[{"content":{"parts":[{"text":'
        self._model, self._id = model, response_id

    def opening(self) -> tuple[bytes, ...]:
        return ()  # Gemini's first event already carries text

    def token(self, chunk: Chunk) -> bytes:
        if self.logprobs:
            chosen, top = token_logprobs(chunk)
            result = _dumps({"topCandidates": [top], "chosenCandidates": [chosen]})
            middle = '}],"role":"model"},"logprobsResult":' + result + ',"index":0}]'
            return (self._head + _quote(chunk.text) + middle + self._tail).encode()
        return (self._head + _quote(chunk.text) + '}],"role":"model"},"index":0}]' + self._tail).encode()

    def finish(self, reason: str) -> bytes:
        return b""  # the finish reason goes in the last event, with the usage

    def reasoning(self, text: str) -> bytes:
        return (self._head + _quote(text) + ',"thought":true}],"role":"model"},"index":0}]' + self._tail).encode()

    def end_reasoning(self) -> tuple[bytes, ...]:
        return ()

    def closing(self, reason: str | None, counts: dict[str, int]) -> tuple[bytes, ...]:
        """One last event: an empty text part, the finish reason and the final counts."""
        candidate = {
            "content": {"parts": [{"text": ""}], "role": "model"},
            "finishReason": finish_reason(reason),
            "index": 0,
        }
        payload = {
            "candidates": [candidate],
            "usageMetadata": counts,
            "modelVersion": self._model,
            "responseId": self._id,
        }
        return (event(payload),)

    def malformed(self) -> bytes:
        """An event cut off mid-JSON, as a broken proxy or a truncated write would leave it."""
        return (self._head + '"' + END).encode()

    def error(self, injected: bool) -> bytes:
        """An `error_after` fault as Google's overloaded error; a model failure as INTERNAL."""
        return OVERLOADED_EVENT if injected else INTERNAL_EVENT


def models_list(model_ids: list[str]) -> bytes:
    """`GET v1beta/models`: each model's resource name and what it can do."""
    return _dumps({"models": [model_object(m) for m in model_ids]}).encode()


def model_body(model_id: str) -> bytes:
    """`GET v1beta/models/MODEL`: one model."""
    return _dumps(model_object(model_id)).encode()


def model_object(model_id: str) -> dict[str, Any]:
    return {
        "name": f"models/{model_id}",
        "version": "001",
        "displayName": f"{model_id} (llmstream-nb demo)",
        "description": "The offline demo model of llmstream-nb's local server.",
        "inputTokenLimit": 4096,
        "outputTokenLimit": 4096,
        "supportedGenerationMethods": ["generateContent", "countTokens"],
        "temperature": 1.0,
        "maxTemperature": 2.0,
        "topK": 40,
    }
