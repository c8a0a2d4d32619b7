"""The Gemini API wire format, apart from any HTTP: request bodies in, `Chunk`s and `Usage` out.

`POST v1beta/models/MODEL:streamGenerateContent?alt=sse` answers with server-sent events whose data is each
a whole `GenerateContentResponse` (https://ai.google.dev/api/generate-content): `candidates[0].content.parts`
hold the new text (`"thought": true` marks reasoning, sent when `thinkingConfig.includeThoughts` is on),
`candidates[0].finishReason` says the answer ended, `usageMetadata` repeats the running token counts, and
`promptFeedback.blockReason` (with no candidates) says the prompt itself was refused. There is no end marker:
the body simply ends after the event with the finish reason. An error after the 200 comes as an event whose
data is Google's error object, `{"error": {"code", "message", "status"}}`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

from ..chunks import REASONING, TEXT, Chunk, Usage
from ..errors import ConfigurationError, InterruptedStreamError, ProviderStreamError
from ..http.errors import ErrorContext, malformed_error
from ..http.sse import iter_sse
from ..models.streams import Piece
from ..options import Request

API_VERSION = "v1beta"
MODELS_PATH = f"{API_VERSION}/models"

#: Gemini's finish reasons that end an answer normally, in the words every other provider uses; the others
#: (`OTHER`, `LANGUAGE`, `MALFORMED_FUNCTION_CALL`...) pass through lowercased, so nothing is lost to a guess.
FINISH_REASONS = {"STOP": "stop", "MAX_TOKENS": "length"}
#: Finish reasons that mean Google withheld the rest of the answer: raised as errors, the text so far kept.
BLOCKED_REASONS = frozenset(
    {
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
    }
)
#: What each blocking reason means, for the one-line error.
_BLOCK_WORDS = {
    "SAFETY": "Google's safety filters",
    "RECITATION": "Google's recitation check (the answer repeated training data)",
    "BLOCKLIST": "a blocklisted term",
    "PROHIBITED_CONTENT": "Google's prohibited-content policy",
    "SPII": "Google's personal-information filter",
}
#: What to do about a SAFETY block: the thresholds are the caller's to set.
SAFETY_HINT = "safetySettings, passed with extra_body=, set how much the filters block"
#: Gemini allows 0-20 alternatives per token (`generationConfig.logprobs`).
MAX_TOP_LOGPROBS = 20

_NO_CONTEXT = ErrorContext(provider="gemini", host="")
_EMPTY: tuple[Piece, ...] = ()


def model_path(model: str, method: str) -> str:
    """`v1beta/models/MODEL:METHOD`; a name given as `models/MODEL` (as the API lists them) works too."""
    name = model.removeprefix("models/")
    return f"{MODELS_PATH}/{quote(name, safe='+=,-._~')}:{method}"


def stream_path(model: str) -> str:
    return model_path(model, "streamGenerateContent") + "?alt=sse"


# -- requests ---------------------------------------------------------------------------


def request_body(request: Request) -> dict[str, Any]:
    """The JSON body for `request`: turns as `contents` (the assistant is the `model` role), system
    messages as `systemInstruction`, only the options that were set in `generationConfig`."""
    options, extra = request.options, request.extra
    system = "\n\n".join(m["content"] for m in request.messages if m["role"] == "system")
    body: dict[str, Any] = {
        "contents": [
            {"role": "model" if m["role"] == "assistant" else "user", "parts": [{"text": m["content"]}]}
            for m in request.messages
            if m["role"] != "system"
        ]
    }
    if system:
        body["systemInstruction"] = {"parts": [{"text": system}]}
    config: dict[str, Any] = {}
    for key, value in (
        ("temperature", options.temperature),
        ("maxOutputTokens", options.max_tokens),
        ("stopSequences", list(options.stop) if options.stop else None),
        ("seed", options.seed),
        ("topK", extra.get("top_k")),
        ("topP", extra.get("top_p")),
    ):
        if value is not None:
            config[key] = value
    if options.logprobs:
        config.update(logprobs_config(options.top_logprobs))
    thinking = thinking_config(extra.get("thinking_budget"), extra.get("include_thoughts"))
    if thinking:
        config["thinkingConfig"] = thinking
    if config:
        body["generationConfig"] = config
    body.update(extra.get("extra_body") or {})
    return body


def logprobs_config(top: int | None) -> dict[str, Any]:
    """`responseLogprobs`, and `logprobs` (alternatives per token) when `top_logprobs` is set."""
    if top is None:
        return {"responseLogprobs": True}
    if isinstance(top, bool) or not isinstance(top, int) or not 0 <= top <= MAX_TOP_LOGPROBS:
        raise ConfigurationError(
            f"gemini: top_logprobs must be a whole number from 0 to {MAX_TOP_LOGPROBS}, got {top!r}"
        )
    return {"responseLogprobs": True, "logprobs": top}


def thinking_config(budget: Any, include: Any) -> dict[str, Any] | None:
    """`thinkingConfig` from `thinking_budget=N` (0 turns thinking off, -1 lets the model decide) and
    `include_thoughts=` (on by default with a budget other than 0: thoughts we are not sent cannot be shown)."""
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, int) or budget < -1):
        raise ConfigurationError(
            "gemini: thinking_budget must be a whole number of tokens (0 turns thinking off, -1 is dynamic), "
            f"got {budget!r}"
        )
    if include is not None and not isinstance(include, bool):
        raise ConfigurationError(f"gemini: include_thoughts must be True or False, got {include!r}")
    if budget is None and include is None:
        return None
    config: dict[str, Any] = {}
    if budget is not None:
        config["thinkingBudget"] = budget
    config["includeThoughts"] = include if include is not None else budget != 0
    return config


# -- streams ----------------------------------------------------------------------------


class EventParser:
    """Turns the data of each `GenerateContentResponse` event into pieces.

    The first event gives an empty text chunk first (as OpenAI's role chunk does, so a stream always opens
    with ""); each text part gives a chunk (`thought` parts as reasoning), split per token when the event
    carries logprobs for it; `finishReason` gives an empty chunk with the finish reason; `usageMetadata` the
    token counts. A blocked prompt, an error event, or a blocked answer (`finishReason` SAFETY...) raise,
    the last after the text that came with it. `finish_reason_raw` keeps Google's own word.
    """

    __slots__ = ("blocked", "context", "finish_reason", "finish_reason_raw", "started")

    def __init__(self, context: ErrorContext = _NO_CONTEXT) -> None:
        self.context = context
        self.started = False
        self.finish_reason: str | None = None
        self.finish_reason_raw: str | None = None
        self.blocked: ProviderStreamError | None = None

    def feed(self, data: str) -> tuple[Piece, ...]:
        """The pieces one event's data carries."""
        try:
            payload = json.loads(data)
        except ValueError:
            raise malformed_error(self.context, data) from None
        try:
            if isinstance(payload, list):
                return self._whole(payload)
            return self._response(payload)
        except (AttributeError, KeyError, TypeError, IndexError):  # JSON, but not shaped like a response
            raise malformed_error(self.context, data, "not a GenerateContentResponse of the Gemini API") from None

    def _whole(self, responses: list[Any]) -> tuple[Piece, ...]:
        """A JSON array of responses: the stream as Google sends it without `alt=sse`, all at once (a
        proxy may answer so). Its chunks are marked `fallback`: they did not arrive one by one."""
        pieces = [piece for response in responses for piece in self._response(response)]
        for piece in pieces:
            if isinstance(piece, Chunk):
                piece.fallback = True
        return tuple(pieces)

    def _response(self, payload: Mapping[str, Any]) -> tuple[Piece, ...]:
        if "error" in payload:
            raise stream_error(self.context, payload["error"])
        feedback = payload.get("promptFeedback")
        if feedback and feedback.get("blockReason"):
            reason = feedback["blockReason"]
            raise self._error(f"the prompt was blocked ({block_words(reason)}); nothing was generated", reason)
        pieces: list[Piece] = []
        if not self.started:
            self.started = True
            pieces.append(Chunk(""))
        candidates = payload.get("candidates")
        if candidates:
            first = candidates[0]  # the one candidate we asked for, almost always
            candidate = (
                first if first.get("index", 0) == 0 else next((c for c in candidates if c.get("index") == 0), None)
            )
            if candidate is not None:
                pieces.extend(candidate_chunks(candidate))
                reason = candidate.get("finishReason")
                if reason:
                    pieces.extend(self._finish(reason, candidate.get("finishMessage")))
        usage = payload.get("usageMetadata")
        if usage:
            counts = usage_of(usage)
            if counts.prompt_tokens is not None or counts.completion_tokens is not None:
                pieces.append(counts)
        return tuple(pieces)

    def _finish(self, reason: str, message: Any) -> tuple[Piece, ...]:
        self.finish_reason_raw = reason
        if reason in BLOCKED_REASONS:
            detail = f": {message}" if isinstance(message, str) and message else ""
            self.blocked = self._error(f"the answer was stopped by {block_words(reason)}{detail}", reason)
            self.finish_reason = "content_filter"
            return _EMPTY
        self.finish_reason = FINISH_REASONS.get(reason, reason.lower())
        return (Chunk("", finish_reason=self.finish_reason),)

    def _error(self, message: str, reason: str = "") -> ProviderStreamError:
        hint = SAFETY_HINT if reason == "SAFETY" else None
        return ProviderStreamError(
            self.context.clean(message), provider=self.context.provider, host=self.context.host or None, hint=hint
        )

    @property
    def finished(self) -> bool:
        """A finish reason arrived: a drop after it loses nothing."""
        return self.finish_reason is not None

    def close(self) -> None:
        """The body ended: fine once finished, unless Google withheld the answer."""
        if self.blocked is not None:
            raise self.blocked
        if not self.finished:
            raise InterruptedStreamError(
                "the stream ended without a finishReason",
                provider=self.context.provider,
                host=self.context.host or None,
            )


def candidate_chunks(candidate: Mapping[str, Any]) -> list[Chunk]:
    """The text of a candidate's parts; parts without text (function calls, thought signatures) give none."""
    chunks = []
    for part in (candidate.get("content") or {}).get("parts") or ():
        text = part.get("text")
        if text:
            if text.__class__ is not str:
                raise TypeError("text is not a string")
            chunks.append(Chunk(text, REASONING) if part.get("thought") else Chunk(text))
    logprobs = candidate.get("logprobsResult")
    if logprobs and len(chunks) == 1 and chunks[0].kind == TEXT:
        split = per_token(chunks[0].text, logprobs)
        if split:
            return split
    return chunks


def per_token(text: str, logprobs: Mapping[str, Any]) -> list[Chunk] | None:
    """One chunk per token of `logprobsResult`, when its chosen tokens spell `text` exactly; else None."""
    chosen = logprobs.get("chosenCandidates") or ()
    if not chosen or "".join(str(c.get("token", "")) for c in chosen) != text:
        return None
    tops = logprobs.get("topCandidates") or ()
    chunks = []
    for i, token in enumerate(chosen):
        alternatives = tops[i].get("candidates") if i < len(tops) else None
        top = tuple((str(a["token"]), float(a["logProbability"])) for a in alternatives) if alternatives else None
        chunks.append(Chunk(str(token["token"]), logprob=_number(token.get("logProbability")), top_logprobs=top))
    return chunks


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def usage_of(usage: Mapping[str, Any]) -> Usage:
    """Prompt tokens; output tokens are the answer's plus the thoughts' (both are billed as output)."""
    answer, thoughts = usage.get("candidatesTokenCount"), usage.get("thoughtsTokenCount")
    output = None if answer is None and thoughts is None else (answer or 0) + (thoughts or 0)
    return Usage(usage.get("promptTokenCount"), output)


def block_words(reason: str) -> str:
    return f"{_BLOCK_WORDS.get(reason, 'Google')}, {reason}"


def stream_error(context: ErrorContext, error: Any) -> ProviderStreamError:
    """Google's error object sent after the 200: its message led by its status word ("UNAVAILABLE: ...")."""
    error = error if isinstance(error, dict) else {"message": str(error)}
    message = str(error.get("message") or "the provider reported an error mid-stream")
    status = error.get("status")
    detail = f"{status}: {message}" if isinstance(status, str) and status and status not in message else message
    code = error.get("code")
    http = code if isinstance(code, int) and not isinstance(code, bool) and 400 <= code < 600 else None
    return ProviderStreamError(context.clean(detail), provider=context.provider, host=context.host or None, status=http)


def iter_pieces(reads: Iterable[bytes]) -> Iterator[Piece]:
    """Wire bytes -> pieces as they come, without HTTP: what the provider does with a body."""
    parser = EventParser()
    for event in iter_sse(reads):
        yield from parser.feed(event.data)
    parser.close()


def decode_stream(reads: Iterable[bytes]) -> list[Piece]:
    """All the pieces of a body at once, for tests and replays."""
    return list(iter_pieces(reads))


def model_ids(payload: Any) -> list[str]:
    """The ids of `GET v1beta/models` (`{"models": [{"name": "models/gemini-2.5-flash", ...}]}`) that can
    generate content, without the `models/` prefix."""
    ids = []
    for model in payload.get("models") or ():
        methods = model.get("supportedGenerationMethods")
        if isinstance(model.get("name"), str) and (methods is None or "generateContent" in methods):
            ids.append(model["name"].removeprefix("models/"))
    return ids
