"""What to record from a finished stream, view or completion: all three leave a `Completion`.

Only what describes the answer is kept. The header's options are filtered through the
generation options' names (system, temperature, ...), a whitelist, so a provider setting
such as `api_key`, `headers` or `base_url` can never reach a file that may be shared.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime, timezone
from typing import Any, Mapping

from ..chunks import Completion
from ..models.base import Model
from ..models.streams import StreamRecord
from ..options import GENERATION_OPTION_NAMES, GenerationOptions, to_messages
from ._types import RecordedError, Recording


def capture(source: Any, *, prompt: Any = None, options: Mapping[str, Any] | None = None) -> Recording:
    """The recording of a finished `TokenStream`/`AsyncTokenStream`, `StreamView` or `Completion`.

    Raises RuntimeError for a stream or view that has not ended: its chunks so far would replay
    as a whole answer.
    """
    completion, error, record = _finished(source)
    if prompt is None and record is not None:  # our streams remember what they were asked
        prompt = record.prompt
        options = options if options is not None else record.options
    chunks = list(completion.chunks)
    return Recording(
        chunks=chunks,
        end=max([completion.timings.elapsed, *(c.t for c in chunks)]),
        model=completion.model,
        prompt=_prompt(prompt),
        options=generation_options(options or {}),
        recorded_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        usage=completion.usage,
        timings=completion.timings,
        provider_timings=completion.provider_timings,
        error=RecordedError.from_exception(error),
    )


def _finished(source: Any) -> tuple[Completion, BaseException | None, StreamRecord | None]:
    """The answer, its error, and the record it comes from (None for a bare `Completion`)."""
    if isinstance(source, Completion):
        return source, None, None
    if isinstance(source, StreamRecord):
        if not source.done:
            raise RuntimeError("the stream has not ended yet: iterate it to the end (or close it), then save it")
        return source.completion, source.error, source
    if isinstance(getattr(source, "record", None), StreamRecord) and hasattr(source, "active"):  # a StreamView
        if source.active:
            raise RuntimeError("the view is still streaming: save it once it ends (`await view`, or after run())")
        return source.completion, source.error, source.record
    raise TypeError(f"cannot record a {type(source).__name__}: pass a finished stream, StreamView or Completion")


def _prompt(prompt: Any) -> str | list[dict[str, str]] | None:
    """A string as it is; a conversation as plain {"role", "content"} dicts (JSON-ready)."""
    if prompt is None or isinstance(prompt, str):
        return prompt
    return [dict(message) for message in to_messages(prompt)]


def generation_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Only the generation options (the whitelist), unset ones left out, stop sequences as a list."""
    chosen = {k: v for k, v in options.items() if k in GENERATION_OPTION_NAMES and v is not None}
    if isinstance(chosen.get("stop"), (tuple, list)):
        chosen["stop"] = list(chosen["stop"])
    return chosen


def options_in_force(model: Model, call_options: Mapping[str, Any]) -> dict[str, Any]:
    """The generation options a call ran with: the model's own, overridden by the call's, defaults left out."""
    merged = model.options.merged({k: v for k, v in call_options.items() if k in GENERATION_OPTION_NAMES})
    default = GenerationOptions()
    return generation_options(
        {f.name: getattr(merged, f.name) for f in fields(merged) if getattr(merged, f.name) != getattr(default, f.name)}
    )
