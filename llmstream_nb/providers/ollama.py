"""`ollama`: a local (or remote) Ollama server through its native API, `/api/chat` or `/api/generate`.

    get_model("ollama:llama3.2")                          # $OLLAMA_HOST, else http://127.0.0.1:11434
    get_model("ollama:qwen3", think=True)                 # reasoning arrives as kind="reasoning" chunks
    get_model("ollama:llama3.2", api="generate", host="gpu-box:11434")

The server measures its own load, prompt and generation times; they end up in
`stream.provider_timings` / `completion.provider_timings` (seconds, and the server's tokens/s).
The wire format lives in `_ollama_wire.py`, the session and its set-up in `http_provider.py`.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx

from ..errors import ConfigurationError
from ..models import Piece
from ..models.base import ProviderStatus
from ..options import GenerationOptions, PromptInput, Request
from ._ollama_wire import APIS, PATHS, LineParser, request_body
from .body import aparse_body, parse_body
from .http_provider import HttpProvider
from .http_setup import SESSION_SETTINGS, key_headers, resolve_key

HOST_ENV = "OLLAMA_HOST"
KEY_ENV = "OLLAMA_API_KEY"
DEFAULT_PORT = 11434
DEFAULT_HOST = f"http://127.0.0.1:{DEFAULT_PORT}"
#: Longer than for hosted APIs: the first request loads the model from disk, which takes a while on a laptop.
DEFAULT_READ_TIMEOUT = 120.0
_THINK_LEVELS = ("low", "medium", "high")


class OllamaModel(HttpProvider):
    """A model served by Ollama, streamed as newline-delimited JSON."""

    provider = "ollama"
    default_model = "llama3.2"
    settings = ("host", "api", "api_key", *SESSION_SETTINGS)
    #: `think` (True, or "low"/"medium"/"high" for some models) asks for reasoning; `top_k` and
    #: `extra_options` (a dict) go into Ollama's `options`; `keep_alive` and `extra_body` into the body.
    extra_call_options = ("think", "top_k", "keep_alive", "extra_options", "extra_body")

    def _configure(
        self, host: str | None = None, api: str = "chat", api_key: str | None = None, **session: Any
    ) -> None:
        """`session`: the settings of `http_setup.SESSION_SETTINGS` (headers, timeouts, retries)."""
        if api not in APIS:
            raise ConfigurationError(f"unknown api {api!r} for {self.name}; use 'chat' or 'generate'")
        _refuse_logprobs(self.options, self.name)
        _check_think(self.extra.get("think"), self.name)
        self.api = api
        self._path = PATHS[api]
        url = base_url_from(host, "host") if host is not None else base_url_from(os.environ.get(HOST_ENV))
        self._open_session(
            url,
            key=resolve_key(api_key, KEY_ENV),
            hints={404: f"run `ollama pull {self.model}` to download it; `ollama list` shows what is installed"},
            default_read_timeout=DEFAULT_READ_TIMEOUT,
            **session,
        )

    def _where(self) -> str:
        return f"api={self.api}"

    def _request(self, input: PromptInput, options: dict[str, Any]) -> Request:
        """Refuse what Ollama cannot do when the call is made, not when its stream is first read."""
        request = super()._request(input, options)
        _refuse_logprobs(request.options, self.name)
        _check_think(request.extra.get("think"), self.name)
        return request

    # -- streaming --------------------------------------------------------------------

    def _stream_chunks(self, request: Request) -> Iterator[Piece]:
        lines = self.http.stream_lines(
            "POST", self._path, json=request_body(self.api, self.model, request, stream=True)
        )
        return parse_body(lines, LineParser(self.api, self.http.context))

    def _astream_chunks(self, request: Request) -> AsyncIterator[Piece]:
        lines = self.http.astream_lines(
            "POST", self._path, json=request_body(self.api, self.model, request, stream=True)
        )
        return aparse_body(lines, LineParser(self.api, self.http.context))

    # -- status and resources -----------------------------------------------------------

    @classmethod
    def status(cls, list_models: bool = True) -> ProviderStatus:
        """No key needed; the models are those GET /api/tags lists, if the server answers in time."""
        try:
            base_url = base_url_from(os.environ.get(HOST_ENV))
        except ConfigurationError as exc:
            return ProviderStatus(cls.provider, False, f"${HOST_ENV} is not usable", error=exc.detail)
        source = f"${HOST_ENV}" if os.environ.get(HOST_ENV, "").strip() else "default host"
        status = ProviderStatus(cls.provider, True, f"{base_url} ({source}), no key needed")
        if list_models:
            key = os.environ.get(KEY_ENV) or None
            status.models, status.error = cls._list_models(base_url, "api/tags", key_headers(key), key, _tag_names)
        return status


def _tag_names(payload: Any) -> Iterator[str]:
    """The model names of `GET /api/tags`: `{"models": [{"name": "llama3.2:latest", ...}, ...]}`."""
    return (str(m["name"]) for m in payload["models"] if isinstance(m, dict) and "name" in m)


def _refuse_logprobs(options: GenerationOptions, where: str) -> None:
    if options.logprobs or options.top_logprobs:
        raise ConfigurationError(f"{where}: the ollama provider does not return logprobs; drop logprobs=/top_logprobs=")


def _check_think(think: Any, where: str) -> None:
    if think is None or isinstance(think, bool) or think in _THINK_LEVELS:
        return
    raise ConfigurationError(f"{where}: think must be True, False or one of {', '.join(_THINK_LEVELS)}; got {think!r}")


# -- OLLAMA_HOST ------------------------------------------------------------------------------


def base_url_from(host: str | None, source: str = f"${HOST_ENV}") -> str:
    """The server's base URL from `OLLAMA_HOST` (or `host=`), read the way Ollama itself reads it.

    `host`, `host:port`, `:port`, `[v6]:port` and full URLs (with a path, behind a proxy) are all
    accepted. Without a scheme it is http and the port 11434; with one, the scheme's own port.
    An unspecified address (`0.0.0.0`, `::`) means "listen everywhere" to a server; a client cannot
    connect to it on every system (Windows and macOS refuse), so it becomes the loopback address.
    """
    text = (host or "").strip()
    if not text:
        return DEFAULT_HOST
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest, port = "http", text, DEFAULT_PORT
    else:
        scheme = scheme.lower()
        if scheme not in ("http", "https"):
            raise ConfigurationError(f"{source} {text!r} must be host:port or an http:// or https:// URL")
        port = 443 if scheme == "https" else 80
    hostport, _, path = rest.partition("/")
    name, port = _host_and_port(hostport, port, text, source)
    path = path.strip("/")
    url = f"{scheme}://{name}:{port}" + (f"/{path}" if path else "")
    try:
        httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ConfigurationError(f"{source} {text!r} is not a usable address ({exc})") from None
    return url


def _host_and_port(hostport: str, port: int, text: str, source: str) -> tuple[str, int]:
    """Split `name:port`, `[v6]:port`, a bare name or a bare IPv6 address; loopback for 0.0.0.0 and ::."""
    if hostport.startswith("["):
        name, _, after = hostport[1:].partition("]")
        port_text = after.removeprefix(":")
    elif hostport.count(":") == 1:
        name, port_text = hostport.split(":")
    else:
        name, port_text = hostport, ""
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ConfigurationError(
                f"{source} {text!r} has no valid port; use host:port, e.g. 127.0.0.1:{DEFAULT_PORT}"
            )
        port = int(port_text)
    name = name or "127.0.0.1"
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return name, port
    if address.is_unspecified:
        address = ipaddress.ip_address("127.0.0.1" if address.version == 4 else "::1")
    return (f"[{address}]" if address.version == 6 else str(address)), port
