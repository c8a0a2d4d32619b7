"""What every HTTP provider sets up and checks the same way (`http_provider.HttpProvider` uses it): base
URLs, the key (argument or environment), the headers that carry it, timeouts, retry counts and secret
headers. (The short model listing `llmstream-nb models` shows is `HttpProvider._list_models`.)

Providers differ in their wire format, not in these, so each one's `_configure` and `status()` stay a
few lines and every provider rejects a bad setting with the same one-line `ConfigurationError`.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from ..errors import ConfigurationError
from ..http.client import DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, HttpSession
from ..http.limits import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_LINE_BYTES,
    LIMIT_SETTINGS,
    Limits,
    byte_count,
    overall_timeout,
)
from ..version import VERSION

#: Header names whose values are credentials, whoever sets them (Azure `api-key`, Anthropic `x-api-key`,
#: Google `x-goog-api-key`).
SECRET_HEADERS = frozenset({"authorization", "api-key", "x-api-key", "x-goog-api-key", "proxy-authorization"})
#: The settings every HTTP provider takes for its session, handed on as they are to `provider_session`.
SESSION_SETTINGS = ("headers", "timeout", "connect_timeout", "read_timeout", "max_retries", *LIMIT_SETTINGS)
USER_AGENT = f"llmstream-nb/{VERSION}"
#: The most retries a request may ask for: more only hides a server that is down.
MAX_RETRIES = 10


def check_base_url(url: str, example: str = "http://localhost:8000/v1") -> str:
    """The URL without trailing slashes, or a `ConfigurationError` saying what a base URL looks like."""
    url = url.strip().rstrip("/")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ConfigurationError(f"base_url {url!r} is not a URL ({exc})") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConfigurationError(f"base_url {url!r} must start with http:// or https://, e.g. {example}")
    return url


def is_local_url(url: str) -> bool:
    """Loopback, private-network and *.local hosts: servers that usually need no key."""
    host = httpx.URL(url).host.lower()
    if host in ("localhost", "host.docker.internal") or host.endswith((".localhost", ".local")):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local or address.is_unspecified


def seconds(name: str, value: float | None, fallback: float | None, default: float) -> float:
    """`value`, else `fallback` (the general `timeout=`), else `default`, checked to be a positive number."""
    chosen = value if value is not None else fallback if fallback is not None else default
    try:
        number = float(chosen)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise ConfigurationError(f"{name} must be a number of seconds, got {chosen!r:.40}") from None
    if not 0 < number < 1e7:  # NaN and infinity fail too
        raise ConfigurationError(f"{name} must be more than 0 and less than 10,000,000 seconds, got {chosen!r:.40}")
    return number


def retry_count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_RETRIES:
        raise ConfigurationError(f"{name} must be a whole number from 0 to {MAX_RETRIES}, got {value!r:.40}")
    return value


def secret_values(headers: Mapping[str, str], *more: str | None) -> tuple[str, ...]:
    """The values an error message must never show: credential headers, plus `more` (e.g. the raw key)."""
    found = [v for k, v in headers.items() if k.lower() in SECRET_HEADERS]
    return tuple(s for s in (*found, *more) if s)


def resolve_key(api_key: str | None, env: str) -> str | None:
    """`api_key=` when given (`""` sends none), else the environment variable `env`."""
    return api_key if api_key is not None else os.environ.get(env)


def key_headers(key: str | None, header: str = "Authorization") -> dict[str, str]:
    """The header that carries `key`: a bearer token in `Authorization`, the bare key in any other
    (Anthropic's `x-api-key`); none without a key."""
    if not key:
        return {}
    return {header: f"Bearer {key}" if header.lower() == "authorization" else key}


def key_state(key: object) -> str:
    """Whether a key is set, for a repr or a status line; never the key."""
    return "key set" if key else "no key"


def key_hint(has_key: bool, env: str) -> str:
    """The hint for a 401: was a key sent at all, and where keys come from."""
    if has_key:
        return f"the server rejected the key; check {env} or the api_key= argument"
    return f"no API key was sent; set {env} or pass api_key=..."


def api_hints(model: str, base_url: str, has_key: bool, env: str) -> dict[int, str]:
    """The hints of a hosted API that takes a key: where keys come from (401), what to check (404)."""
    return {401: key_hint(has_key, env), 404: f"check the model name {model!r} and base_url {base_url}"}


def key_status(base_url: str, key: str | None, key_env: str, url_env: str) -> tuple[bool, str]:
    """Whether a provider that takes a key is usable (a key is set, or its server is local), and the
    line `llmstream-nb models` shows for it: whether a key is set, never the key."""
    configured = bool(key) or is_local_url(base_url)
    detail = f"{base_url}, {key_state(key)}"
    if not configured:
        detail += f" (set {key_env}, or {url_env} for a local server)"
    return configured, detail


def provider_session(
    provider: str,
    base_url: str,
    *,
    key: str | None = None,
    key_header: str = "Authorization",
    protocol_headers: Mapping[str, str] | None = None,
    hints: Mapping[int, str] | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float | None = None,
    connect_timeout: float | None = None,
    read_timeout: float | None = None,
    max_retries: object = 2,
    default_read_timeout: float = DEFAULT_READ_TIMEOUT,
    max_line_bytes: object = None,
    max_body_bytes: object = None,
) -> HttpSession:
    """A provider's `HttpSession` from its user-facing settings, each checked with a clear message.

    Headers, later ones winning: our User-Agent, the protocol's own (`anthropic-version`), the key in
    `key_header` (see `key_headers`), then the caller's `headers=`. Credential headers and `key` are
    secrets no error message shows. `timeout=` bounds the whole request (see `limits.py`), beside
    `connect_timeout=` and `read_timeout=` (between reads); `max_line_bytes=`/`max_body_bytes=` bound its size.
    """
    all_headers = {"User-Agent": USER_AGENT, **(protocol_headers or {}), **key_headers(key, key_header)}
    all_headers.update(headers or {})
    return HttpSession(
        provider,
        base_url,
        headers=all_headers,
        secrets=secret_values(all_headers, key),
        hints=hints,
        connect_timeout=seconds("connect_timeout", connect_timeout, None, DEFAULT_CONNECT_TIMEOUT),
        read_timeout=seconds("read_timeout", read_timeout, None, default_read_timeout),
        max_retries=retry_count("max_retries", max_retries),
        limits=Limits(
            max_line_bytes=byte_count("max_line_bytes", max_line_bytes, DEFAULT_MAX_LINE_BYTES),
            max_body_bytes=byte_count("max_body_bytes", max_body_bytes, DEFAULT_MAX_BODY_BYTES),
            timeout=overall_timeout(timeout),
        ),
    )


def data_ids(payload: Any) -> Iterator[str]:
    """The model ids of OpenAI's and Anthropic's model lists, `{"data": [{"id": ...}, ...]}`."""
    return (str(m["id"]) for m in payload.get("data", []) if isinstance(m, dict) and "id" in m)
