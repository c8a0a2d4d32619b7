"""`astream_events` in LangChain's schema, so code written for LangChain runs unchanged.

Each event is a dict with `event`, `name`, `run_id`, `tags`, `metadata` and `data`
(`input`, `chunk`, `output` or `error`); version "v2" adds `parent_ids`. As in LangChain,
v1 carries plain values (the chunk's text, the output as a dict) and v2 carries objects
(the `Chunk`, the `Completion`).
"""

from __future__ import annotations

import uuid
from typing import Any, AsyncIterator, Protocol, Sequence

from ..errors import ConfigurationError
from .streams import AsyncTokenStream

EVENT_VERSIONS = ("v1", "v2")
RUN_TYPE = "llm"


class Streaming(Protocol):
    """What events are made from: a model's name and its `astream` (`Model` is one; this module
    does not import it, so the model interface and its events do not import each other)."""

    @property
    def name(self) -> str: ...

    def astream(self, input: Any, **options: Any) -> AsyncTokenStream: ...


def _wanted(name: str, tags: list[str], filters: dict[str, Sequence[str] | None]) -> bool:
    """LangChain's include/exclude filters on name, type and tags."""
    includes = [filters.get(f"include_{k}") for k in ("names", "types", "tags")]
    if any(v is not None for v in includes):
        hit = (
            name in (filters.get("include_names") or ())
            or RUN_TYPE in (filters.get("include_types") or ())
            or any(t in (filters.get("include_tags") or ()) for t in tags)
        )
        if not hit:
            return False
    return not (
        name in (filters.get("exclude_names") or ())
        or RUN_TYPE in (filters.get("exclude_types") or ())
        or any(t in (filters.get("exclude_tags") or ()) for t in tags)
    )


async def stream_events(
    model: Streaming,
    input: Any,
    *,
    version: str = "v2",
    tags: Sequence[str] | None = None,
    metadata: dict[str, Any] | None = None,
    run_name: str | None = None,
    filters: dict[str, Sequence[str] | None] | None = None,
    **options: Any,
) -> AsyncIterator[dict[str, Any]]:
    """Yield start, one event per chunk, then end (or error, after which the error is raised)."""
    if version not in EVENT_VERSIONS:
        raise ConfigurationError(f"unknown astream_events version {version!r}; use 'v1' or 'v2'")
    name = run_name or model.name
    tag_list = list(tags or [])
    if not _wanted(name, tag_list, filters or {}):
        async for _ in model.astream(input, **options):
            pass
        return
    head: dict[str, Any] = {
        "name": name,
        "run_id": str(uuid.uuid4()),
        "tags": tag_list,
        "metadata": dict(metadata or {}),
    }
    if version == "v2":
        head["parent_ids"] = []
    v1 = version == "v1"

    yield {"event": "on_llm_start", **head, "data": {"input": input}}
    stream = model.astream(input, **options)
    try:
        async for chunk in stream:
            yield {"event": "on_llm_stream", **head, "data": {"chunk": chunk.text if v1 else chunk}}
    except Exception as exc:
        yield {"event": "on_llm_error", **head, "data": {"input": input, "error": exc}}
        raise
    finally:
        await stream.aclose()
    completion = stream.completion
    output = completion.to_dict() if v1 else completion
    yield {"event": "on_llm_end", **head, "data": {"input": input, "output": output}}
