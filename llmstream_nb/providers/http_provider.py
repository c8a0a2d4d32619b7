"""`HttpProvider`: what every provider that talks HTTP has, written once.

A session (`http.HttpSession`, made from the user's settings by `http_setup.provider_session`), a
base URL, a repr that says where the model is and whether a key is set (never the key), `close()`
and `aclose()`, and the short model listing `llmstream-nb models` shows. A provider adds its wire
format (its `_*_wire.py`), reads its body with `body.parse_body`, and says in `status()` how it is configured.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

from ..errors import LLMStreamError
from ..http.client import DEFAULT_READ_TIMEOUT, HttpSession
from ..models.base import Model
from .http_setup import SESSION_SETTINGS, data_ids, key_state, provider_session, secret_values

#: How long `llmstream-nb models` waits for a server's model list.
STATUS_TIMEOUT = 3.0


class HttpProvider(Model):
    """Base class of the HTTP providers: owns the session, the base URL, the repr, closing and model listing."""

    settings: ClassVar[tuple[str, ...]] = SESSION_SETTINGS
    base_url: str
    http: HttpSession
    #: Whether a key was given or found (None for a provider that takes none): the repr says so.
    _has_key: bool | None = None

    def _open_session(
        self,
        base_url: str,
        *,
        key: str | None = None,
        key_header: str = "Authorization",
        protocol_headers: Mapping[str, str] | None = None,
        hints: Mapping[int, str] | None = None,
        default_read_timeout: float = DEFAULT_READ_TIMEOUT,
        **session: Any,
    ) -> None:
        """Set `base_url` and `http` from the user's session settings (`http_setup.SESSION_SETTINGS`)."""
        self.base_url = base_url
        self.http = provider_session(
            self.provider,
            base_url,
            key=key,
            key_header=key_header,
            protocol_headers=protocol_headers,
            hints=hints,
            default_read_timeout=default_read_timeout,
            **session,
        )

    def _where(self) -> str:
        """What the repr says after the base URL: whether a key is set (never the key)."""
        return key_state(self._has_key)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} at {self.base_url} ({self._where()})>"

    @classmethod
    def _list_models(
        cls,
        base_url: str,
        path: str,
        headers: Mapping[str, str],
        key: str | None = None,
        ids: Callable[[Any], Iterable[str]] = data_ids,
    ) -> tuple[list[str], str | None]:
        """The sorted `ids(payload)` of the server's model list (by default `data[].id`), or the one-line
        reason there are none; a short timeout and no retries, so `llmstream-nb models` never hangs."""
        session = HttpSession(
            cls.provider,
            base_url,
            headers=headers,
            secrets=secret_values(headers, key),
            connect_timeout=STATUS_TIMEOUT,
            read_timeout=STATUS_TIMEOUT,
            max_retries=0,
        )
        try:
            payload = session.request_json("GET", path)
            return sorted(ids(payload)), None
        except LLMStreamError as exc:
            return [], str(exc)
        except (AttributeError, KeyError, TypeError):
            return [], "the server's model list is unreadable"
        finally:
            session.close()

    def close(self) -> None:
        self.http.close()

    async def aclose(self) -> None:
        await self.http.aclose()
