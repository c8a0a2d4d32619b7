"""Reading a request body with a bound: a client cannot make the local server hold more than `MAX_BODY_BYTES`
(a prompt of a few hundred pages), however it sends it (Content-Length, chunked, or lying about either)."""

from __future__ import annotations

from typing import Any

from .problem import Problem

#: The largest request body the local server reads.
MAX_BODY_BYTES = 4 * 1024 * 1024


async def read_body(request: Any, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body of a Starlette `request`, or a 413 as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    parts: list[bytes] = []
    size = 0
    async for part in request.stream():
        size += len(part)
        if size > limit:
            raise _too_large(limit)
        parts.append(part)
    return b"".join(parts)


def _too_large(limit: int) -> Problem:
    return Problem(
        413, f"The request body is larger than this server accepts ({limit:,} bytes).", code="body_too_large"
    )
