"""Explaining a response that is not the stream we asked for, in the provider's own words where it gave some.

- a redirect (3xx): we never follow one with a key attached; the error names where it pointed;
- an HTML page with a success status (a captive portal, a login page, a wrong base URL);
- a JSON error object instead of a stream, with a success status (some proxies do that);
- an SSE `event: error`, whatever the shape of its data (Anthropic's, OpenAI's, or just `{"message"}`).
"""

from __future__ import annotations

import html
import re
from typing import Any

from ..errors import MalformedStreamError, ProviderStreamError
from ..redact import redact_url
from .errors import ErrorContext, error_text
from .payload import loads

#: How much of a body that is not a stream we keep to explain it.
HEAD_LIMIT = 64 * 1024
_TITLE = re.compile(rb"(?is)<title[^>]*>(.*?)</title>")


def redirect_reason(location: str | None) -> str:
    """The message for a 3xx: where it pointed (credentials removed)."""
    where = redact_url(location) if location else "somewhere unnamed"
    return f"the server redirected to {where}; redirects are not followed (set base_url to the final address)"


def is_html(content_type: str | None) -> bool:
    return (content_type or "").split(";")[0].strip().lower() in ("text/html", "application/xhtml+xml")


def html_error(context: ErrorContext, status: int, body: bytes) -> MalformedStreamError:
    """A success status with an HTML page: say so, with the page's title."""
    found = _TITLE.search(body[:HEAD_LIMIT])
    title = html.unescape(found.group(1).decode("utf-8", "replace")).strip() if found else ""
    page = f"an HTML page ({title!r})" if title else "an HTML page"
    return MalformedStreamError(
        f"the server answered with {page}, not a stream",
        hint="check base_url; a proxy or login page may be in the way",
        provider=context.provider,
        host=context.host,
        status=status,
    )


def json_error(context: ErrorContext, head: bytes, status: int | None = None) -> ProviderStreamError | None:
    """The provider's error when a body that held no event is a JSON error object, else None."""
    try:
        payload = loads(head.strip() or b"null")
    except ValueError:
        return None
    detail = error_text(payload) if isinstance(payload, dict) and ("error" in payload or "message" in payload) else None
    if not detail:
        return None
    return ProviderStreamError(context.clean(detail), provider=context.provider, host=context.host, status=status)


def event_error(context: ErrorContext, data: str) -> ProviderStreamError:
    """An SSE `event: error`: its message (led by its type, which often says more), or its raw data."""
    try:
        payload: Any = loads(data)
    except ValueError:
        payload = None
    detail = error_text(payload) if isinstance(payload, dict) else None
    error = payload.get("error") if isinstance(payload, dict) else None
    kind = error.get("type") if isinstance(error, dict) else None
    if detail and isinstance(kind, str) and kind and kind not in detail:
        detail = f"{kind}: {detail}"
    text = detail or data.strip() or "the provider reported an error mid-stream"
    return ProviderStreamError(context.clean(text), provider=context.provider, host=context.host)


class BodyHead:
    """The start of an SSE body, kept until its first event: a body that ends with no event at all is
    explained from it (a JSON error object, say) instead of as a stream cut short."""

    __slots__ = ("parts", "size")

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def keep(self, read: bytes) -> None:
        if self.size < HEAD_LIMIT:
            self.parts.append(read[: HEAD_LIMIT - self.size])
            self.size += len(read)

    def check_end(self, context: ErrorContext, status: int) -> None:
        """The body ended without one event: raise the JSON error it holds, if it is one."""
        error = json_error(context, b"".join(self.parts), status)
        if error is not None:
            raise error
