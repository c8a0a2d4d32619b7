"""`openai`: OpenAI's API and every server that speaks it (vLLM, llama.cpp, Ollama's /v1,
LM Studio, Groq, OpenRouter, ...), by Chat Completions, legacy Completions or the Responses API.

    get_model("openai:gpt-4o-mini")                                   # OPENAI_API_KEY from the environment
    get_model("openai:llama3.2", base_url="http://localhost:11434/v1")  # a local server: no key needed
    get_model("openai:gpt-5-mini", api="responses")                    # POST /v1/responses

The wire format lives in `_openai_wire.py`, the session and its set-up in `http_provider.py`;
this file joins them and remembers what a server turned out not to accept.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator, Mapping
from typing import Any

from ..asyncgen import aclose_source
from ..chunks import Chunk, Completion, Timings
from ..errors import BadRequestError, ConfigurationError
from ..http.sse import SSEEvent, WholeBody
from ..models import Piece
from ..models.base import ProviderStatus
from ..options import PromptInput, Request
from ..tool_calls import assemble
from . import _responses_wire as responses
from ._openai_wire import APIS, PATHS, ChunkParser, is_done, message_tool_calls, parse_response, request_body
from .body import aparse_body, parse_body, sse_data
from .http_provider import HttpProvider
from .http_setup import SESSION_SETTINGS, api_hints, check_base_url, key_headers, key_status, resolve_key

log = logging.getLogger("llmstream_nb.providers.openai")

KEY_ENV = "OPENAI_API_KEY"
BASE_URL_ENV = "OPENAI_BASE_URL"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
RESPONSES = "responses"
ALL_APIS = (*APIS, RESPONSES)
SEED_WARNING = (
    "openai (api='responses'): the Responses API takes no seed, so seed= is not sent "
    "(a server that takes one gets it through extra_body={'seed': N})"
)


class OpenAIModel(HttpProvider):
    """A model behind an OpenAI-compatible HTTP API, streamed over server-sent events."""

    provider = "openai"
    default_model = "gpt-4o-mini"
    settings = ("api_key", "base_url", "api", "organization", *SESSION_SETTINGS)
    #: Sent in the request body as given: vLLM, llama.cpp and our demo server read top_k and
    #: min_tokens; `tools` and `tool_choice` offer functions to call (see `llmstream_nb.tool_calls`);
    #: `extra_body` (a dict) adds anything else a server understands.
    extra_call_options = ("top_k", "min_tokens", "tools", "tool_choice", "extra_body")

    def _configure(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        api: str = "chat",
        organization: str | None = None,
        headers: Mapping[str, str] | None = None,
        **session: Any,
    ) -> None:
        """`session`: the settings of `http_setup.SESSION_SETTINGS` (timeouts, retries)."""
        if api not in ALL_APIS:
            raise ConfigurationError(f"unknown api {api!r} for {self.name}; use 'chat', 'responses' or 'completions'")
        self.api = api
        url = check_base_url(base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL)
        key = resolve_key(api_key, KEY_ENV)
        self._has_key = bool(key)
        if organization:  # after the key, before the caller's headers (which may replace it)
            headers = {"OpenAI-Organization": organization, **(headers or {})}
        hints = api_hints(self.model, url, self._has_key, KEY_ENV)
        self._open_session(url, key=key, hints=hints, headers=headers, **session)
        self._path = responses.PATH if api == RESPONSES else PATHS[api]
        self._end = responses.is_done if api == RESPONSES else is_done
        #: Body changes a server has asked for with a 400, learnt once per model.
        self._quirks: set[str] = set()

    # -- requests -------------------------------------------------------------------------

    def _request(self, input: PromptInput, options: dict[str, Any]) -> Request:
        """The Responses API takes no seed: say so when one is set and not passed through `extra_body`."""
        request = super()._request(input, options)
        if self.api == RESPONSES:
            responses.request_body(self.model, request, stream=True)  # a ConfigurationError for stop=
            if request.options.seed is not None and "seed" not in (request.extra.get("extra_body") or {}):
                warnings.warn(SEED_WARNING, UserWarning, stacklevel=3)
        return request

    def _body(self, request: Request, stream: bool) -> dict[str, Any]:
        if self.api == RESPONSES:
            return responses.request_body(self.model, request, stream=stream)
        return request_body(
            self.api,
            self.model,
            request,
            stream=stream,
            include_usage="no_stream_options" not in self._quirks,
            max_tokens_field="max_completion_tokens" if "max_completion_tokens" in self._quirks else "max_tokens",
        )

    def _learn(self, body: dict[str, Any], exc: BadRequestError) -> bool:
        """After a 400: if it names a field we can do without or rename, remember that (for this
        model) and return True so the request is sent again once."""
        detail = exc.detail.lower()
        if "stream_options" in body and "stream_options" in detail and "no_stream_options" not in self._quirks:
            quirk, change = "no_stream_options", "sending no stream_options (usage is counted from the chunks)"
        elif "max_tokens" in body and "max_completion_tokens" in detail and "max_completion_tokens" not in self._quirks:
            quirk, change = "max_completion_tokens", "sending max_completion_tokens instead of max_tokens"
        else:
            return False
        self._quirks.add(quirk)
        log.info("%s at %s refused a field (%s): %s from now on", self.name, self.http.context.host, exc.detail, change)
        return True

    def _parser(self, request: Request) -> ChunkParser | responses.EventParser:
        keep_top = bool(request.options.top_logprobs)
        if self.api == RESPONSES:
            return responses.EventParser(self.http.context, keep_top=keep_top)
        return ChunkParser(self.api, self.http.context, keep_top=keep_top)

    # -- streaming --------------------------------------------------------------------

    def _open(self, request: Request) -> tuple[Generator[SSEEvent, None, None], SSEEvent | None]:
        """Start the stream, adapting the body once per quirk a 400 reveals; returns the
        event iterator and its first event (None for an empty body)."""
        while True:
            body = self._body(request, stream=True)
            events = self.http.stream_sse("POST", self._path, json=body, end=self._end)
            try:
                return events, next(events, None)
            except BadRequestError as exc:
                if not self._learn(body, exc):
                    raise

    def _stream_chunks(self, request: Request) -> Iterator[Piece]:
        events, first = self._open(request)  # a generator: the request goes out when the stream is first read
        if isinstance(first, WholeBody):  # answered whole although a stream was asked for
            events.close()
            yield from self._parser(request).whole(first.data)
            return
        yield from parse_body(_resumed(first, events), self._parser(request), sse_data)

    async def _aopen(self, request: Request) -> tuple[AsyncGenerator[SSEEvent, None], SSEEvent | None]:
        while True:
            body = self._body(request, stream=True)
            events = self.http.astream_sse("POST", self._path, json=body, end=self._end)
            try:
                return events, await anext(events, None)
            except BadRequestError as exc:
                if not self._learn(body, exc):
                    raise

    async def _astream_chunks(self, request: Request) -> AsyncIterator[Piece]:
        events, first = await self._aopen(request)
        if isinstance(first, WholeBody):
            await aclose_source(events)
            for piece in self._parser(request).whole(first.data):
                yield piece
            return
        async for piece in aparse_body(_aresumed(first, events), self._parser(request), sse_data):
            yield piece

    # -- whole answers (stream: false) ------------------------------------------------

    def _complete(self, request: Request) -> Completion:
        started = time.perf_counter()
        while True:
            body = self._body(request, stream=False)
            try:
                payload = self.http.request_json("POST", self._path, json=body)
                break
            except BadRequestError as exc:
                if not self._learn(body, exc):
                    raise
        return self._completion(payload, time.perf_counter() - started)

    async def _acomplete(self, request: Request) -> Completion:
        started = time.perf_counter()
        while True:
            body = self._body(request, stream=False)
            try:
                payload = await self.http.arequest_json("POST", self._path, json=body)
                break
            except BadRequestError as exc:
                if not self._learn(body, exc):
                    raise
        return self._completion(payload, time.perf_counter() - started)

    def _completion(self, payload: Any, elapsed: float) -> Completion:
        if self.api == RESPONSES:
            text, reasoning, finish, usage = responses.parse_response(payload, self.http.context)
            calls = responses.function_calls(payload)
        else:
            text, reasoning, finish, usage = parse_response(self.api, payload, self.http.context)
            calls = message_tool_calls(payload)
        chunk = Chunk(text, finish_reason=finish, t=elapsed, fallback=True)
        return Completion(
            text=text,
            chunks=[chunk, *calls],
            tool_calls=assemble(calls),
            finish_reason=finish,
            usage=usage,
            timings=Timings(ttft=elapsed if text else None, elapsed=elapsed, chunks=1 if text else 0),
            model=self.name,
            reasoning=reasoning,
        )

    # -- status and resources -----------------------------------------------------------

    @classmethod
    def status(cls, list_models: bool = True) -> ProviderStatus:
        """Configured when a key is set or the base URL is local; models from GET /models if asked."""
        key = os.environ.get(KEY_ENV) or None
        base_url = (os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL).rstrip("/")
        status = ProviderStatus(cls.provider, *key_status(base_url, key, KEY_ENV, BASE_URL_ENV))
        if list_models and status.configured:
            status.models, status.error = cls._list_models(base_url, "models", key_headers(key), key)
        return status


def _resumed(first: SSEEvent | None, events: Generator[SSEEvent, None, None]) -> Generator[SSEEvent, None, None]:
    """The events again from the first one, which `_open` read to see whether the request was accepted."""
    try:
        if first is not None:
            yield first
        yield from events
    finally:
        events.close()


async def _aresumed(first: SSEEvent | None, events: AsyncGenerator[SSEEvent, None]) -> AsyncGenerator[SSEEvent, None]:
    try:
        if first is not None:
            yield first
        async for event in events:
            yield event
    finally:
        await aclose_source(events)
