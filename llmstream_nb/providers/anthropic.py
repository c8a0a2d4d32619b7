"""`anthropic`: Claude models over Anthropic's Messages API (`POST /v1/messages`), streamed as its
typed server-sent events.

    get_model("anthropic:claude-sonnet-4-5")                           # ANTHROPIC_API_KEY from the environment
    get_model("anthropic:claude-sonnet-4-5", thinking_budget=2048)     # extended thinking, as kind="reasoning"
    get_model("anthropic:ngram", base_url="http://127.0.0.1:8000")     # the local demo server

Our options map onto the API as `system` (top level), `temperature`, `max_tokens` (required there:
1024 unless set, plus the thinking budget when thinking is on), `stop` (`stop_sequences`) and `top_k`.
Two have no Anthropic equivalent: `logprobs` is refused with a `ConfigurationError` (the answer would
silently lack what was asked for), while `seed` is a best-effort hint everywhere (and may come from a
notebook-wide default), so it is not sent and a `UserWarning` says so; a server that does take one, like
ours, gets it through `extra_body={"seed": N}`.

The wire format lives in `_anthropic_wire.py`, the session and its set-up in `http_provider.py`.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import AsyncIterator, Iterator
from typing import Any

from ..models import Piece
from ..models.base import ProviderStatus
from ..options import PromptInput, Request
from ._anthropic_wire import PATH, VERSION, EventParser, is_done, request_body
from .body import aparse_body, parse_body, sse_data
from .http_provider import HttpProvider
from .http_setup import SESSION_SETTINGS, api_hints, check_base_url, key_headers, key_status, resolve_key

KEY_ENV = "ANTHROPIC_API_KEY"
BASE_URL_ENV = "ANTHROPIC_BASE_URL"
DEFAULT_BASE_URL = "https://api.anthropic.com"
OVERLOADED_HINT = "Anthropic is overloaded; retry in a moment"
SEED_WARNING = "anthropic: the Messages API takes no seed, so seed= is not sent (temperature=0 repeats best)"


class AnthropicModel(HttpProvider):
    """A Claude model behind Anthropic's Messages API (or a server that speaks it)."""

    provider = "anthropic"
    default_model = "claude-sonnet-4-5"
    settings = ("api_key", "base_url", *SESSION_SETTINGS)
    #: `top_k` is Anthropic's own; `thinking`/`thinking_budget` ask for extended thinking; `extra_body`
    #: (a dict) adds anything else to the request body (`top_p`, `metadata`, a seed for servers that take one).
    extra_call_options = ("top_k", "thinking", "thinking_budget", "extra_body")

    def _configure(self, api_key: str | None = None, base_url: str | None = None, **session: Any) -> None:
        """`session`: the settings of `http_setup.SESSION_SETTINGS` (headers, timeouts, retries)."""
        url = check_base_url(base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL, "http://localhost:8000")
        # The SDK's base URL is the root; a ".../v1" written by analogy with OpenAI's works too.
        url = url.removesuffix("/v1")
        key = resolve_key(api_key, KEY_ENV)
        self._has_key = bool(key)
        hints = {**api_hints(self.model, url, self._has_key, KEY_ENV), 529: OVERLOADED_HINT}
        self._open_session(
            url,
            key=key,
            key_header="x-api-key",
            protocol_headers={"anthropic-version": VERSION},
            hints=hints,
            **session,
        )
        # Options given here that Anthropic cannot honour fail now, not at the first call.
        request_body(self.model, Request(messages=(), options=self.options, extra=self.extra), stream=True)

    # -- requests -------------------------------------------------------------------------

    def _request(self, input: PromptInput, options: dict[str, Any]) -> Request:
        """Options Anthropic cannot honour are reported when the call is made, before any HTTP
        (at `get_model` already for options given there)."""
        request = super()._request(input, options)
        request_body(self.model, request, stream=True)  # a ConfigurationError for logprobs or a bad thinking=
        if request.options.seed is not None and "seed" not in (request.extra.get("extra_body") or {}):
            warnings.warn(SEED_WARNING, UserWarning, stacklevel=3)
        return request

    # -- streaming --------------------------------------------------------------------

    def _stream_chunks(self, request: Request) -> Iterator[Piece]:
        events = self.http.stream_sse("POST", PATH, json=request_body(self.model, request, stream=True), end=is_done)
        return parse_body(events, EventParser(self.http.context), sse_data)

    def _astream_chunks(self, request: Request) -> AsyncIterator[Piece]:
        events = self.http.astream_sse("POST", PATH, json=request_body(self.model, request, stream=True), end=is_done)
        return aparse_body(events, EventParser(self.http.context), sse_data)

    # -- status and resources -----------------------------------------------------------

    @classmethod
    def status(cls, list_models: bool = True) -> ProviderStatus:
        """Configured when a key is set or the base URL is local; models from GET /v1/models if asked."""
        key = os.environ.get(KEY_ENV) or None
        base_url = (os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL).rstrip("/").removesuffix("/v1")
        status = ProviderStatus(cls.provider, *key_status(base_url, key, KEY_ENV, BASE_URL_ENV))
        if list_models and status.configured:
            headers = {"anthropic-version": VERSION, **key_headers(key, "x-api-key")}
            status.models, status.error = cls._list_models(base_url, "v1/models?limit=100", headers, key)
        return status
