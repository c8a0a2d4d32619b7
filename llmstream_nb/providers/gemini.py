"""`gemini`: Google's Gemini models over the Gemini API (`POST v1beta/models/MODEL:streamGenerateContent?alt=sse`).

    get_model("gemini:gemini-2.5-flash")                            # GEMINI_API_KEY (or GOOGLE_API_KEY)
    get_model("gemini:gemini-2.5-flash", thinking_budget=1024)      # thoughts arrive as kind="reasoning"
    get_model("gemini:ngram", base_url="http://127.0.0.1:8000")     # the local demo server

Our options map onto `generationConfig`: `temperature`, `max_tokens` (`maxOutputTokens`), `stop`
(`stopSequences`), `seed`, and `logprobs`/`top_logprobs` (`responseLogprobs`/`logprobs`, 0-20 alternatives);
`system` becomes `systemInstruction`. `thinking_budget=` and `include_thoughts=` fill `thinkingConfig`, `top_k`
and `top_p` are passed on, and `extra_body` (a dict) adds anything else to the body (`safetySettings`...).

The key travels in the `x-goog-api-key` header, never in the URL (the API would take `?key=`, but URLs end
up in logs and error messages). A blocked prompt or answer (`SAFETY`, `RECITATION`...) is a
`ProviderStreamError` that keeps the text received before it.

Gemini also speaks OpenAI's Chat Completions at `https://generativelanguage.googleapis.com/v1beta/openai/`,
which the `openai` provider can use; this provider adds thoughts, Google's finish reasons and block reasons.
The wire format lives in `_gemini_wire.py`, the session and its set-up in `http_provider.py`.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

from ..models import Piece
from ..models.base import ProviderStatus
from ..options import PromptInput, Request
from ._gemini_wire import API_VERSION, MODELS_PATH, EventParser, model_ids, request_body, stream_path
from .body import aparse_body, parse_body, sse_data
from .http_provider import HttpProvider
from .http_setup import SESSION_SETTINGS, api_hints, check_base_url, key_headers, key_hint, key_status

KEY_ENV = "GEMINI_API_KEY"
#: The older name Google's SDKs also read; GEMINI_API_KEY wins when both are set.
ALT_KEY_ENV = "GOOGLE_API_KEY"
BASE_URL_ENV = "GEMINI_BASE_URL"
DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
KEY_HEADER = "x-goog-api-key"


def environment_key() -> str | None:
    return os.environ.get(KEY_ENV) or os.environ.get(ALT_KEY_ENV) or None


def root_url(url: str) -> str:
    """The API root: a base URL written with the version (`.../v1beta`) works too."""
    return url.rstrip("/").removesuffix(f"/{API_VERSION}")


class GeminiModel(HttpProvider):
    """A Gemini model behind the Gemini API (or a server that speaks it)."""

    provider = "gemini"
    default_model = "gemini-2.5-flash"
    settings = ("api_key", "base_url", *SESSION_SETTINGS)
    #: `thinking_budget`/`include_thoughts` fill `thinkingConfig`; `top_k`/`top_p` go to `generationConfig`;
    #: `extra_body` (a dict) adds anything else to the request body.
    extra_call_options = ("top_k", "top_p", "thinking_budget", "include_thoughts", "extra_body")

    def _configure(self, api_key: str | None = None, base_url: str | None = None, **session: Any) -> None:
        """`session`: the settings of `http_setup.SESSION_SETTINGS` (headers, timeouts, retries)."""
        url = check_base_url(base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL, "http://localhost:8000")
        url = root_url(url)
        key = api_key if api_key is not None else environment_key()
        self._has_key = bool(key)
        hints = api_hints(self.model, url, self._has_key, KEY_ENV)
        if not self._has_key:  # Google answers a missing key with 403 PERMISSION_DENIED, not 401
            hints[403] = key_hint(False, KEY_ENV)
        self._open_session(url, key=key, key_header=KEY_HEADER, hints=hints, **session)
        # Options given here that Gemini cannot take fail now, not at the first call.
        request_body(Request(messages=(), options=self.options, extra=self.extra))

    def _request(self, input: PromptInput, options: dict[str, Any]) -> Request:
        """Bad option values are reported when the call is made, before any HTTP."""
        request = super()._request(input, options)
        request_body(request)
        return request

    # -- streaming --------------------------------------------------------------------

    def _stream_chunks(self, request: Request) -> Iterator[Piece]:
        events = self.http.stream_sse("POST", stream_path(self.model), json=request_body(request))
        return parse_body(events, EventParser(self.http.context), sse_data)

    def _astream_chunks(self, request: Request) -> AsyncIterator[Piece]:
        events = self.http.astream_sse("POST", stream_path(self.model), json=request_body(request))
        return aparse_body(events, EventParser(self.http.context), sse_data)

    # -- status and resources -----------------------------------------------------------

    @classmethod
    def status(cls, list_models: bool = True) -> ProviderStatus:
        """Configured when a key is set or the base URL is local; models from GET v1beta/models if asked."""
        key = environment_key()
        base_url = root_url(os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL)
        status = ProviderStatus(cls.provider, *key_status(base_url, key, KEY_ENV, BASE_URL_ENV))
        if list_models and status.configured:
            headers = key_headers(key, KEY_HEADER)
            status.models, status.error = cls._list_models(
                base_url, f"{MODELS_PATH}?pageSize=1000", headers, key, model_ids
            )
        return status
