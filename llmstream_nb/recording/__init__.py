"""Record and replay: a finished stream saved as JSON Lines, played back by `get_model("replay:PATH")`.

A teacher records a real model's answer once and replays it in class with no network, at its
own pace or faster. The file, one JSON object per line:

    {"llmstream": 1, "model": "demo:ngram", "prompt": "...", "options": {"seed": 1}, "recorded_at": "..."}
    {"t": 0.412, "text": "Spark", "logprob": -0.3, "top_logprobs": [["Spark", -0.3], ["Bub", -1.9]]}
    {"t": 0.431, "kind": "reasoning", "text": "...", "finish_reason": "stop", "fallback": true}
    {"t": 0.52, "kind": "tool_call", "text": "{\"city\": ", "call": 0, "id": "call_1", "name": "get_weather"}
    {"end": 1.207, "usage": {...}, "timings": {...}, "provider_timings": {...}, "error": {"type": ..., "message": ...}}

`t` and `end` are seconds since the request. Fields that are null or at their default
(`kind` "text", `fallback` false) are left out. `prompt` is null when the saver did not give
it. The end line has `error` only for a stream that failed. No key, header or URL is ever written.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from ..errors import ConfigurationError
from ._capture import capture, options_in_force
from ._jsonl import HOW_TO_RECORD, read, resolve, write
from ._types import FORMAT_VERSION, RecordedError, Recording

__all__ = [
    "FORMAT_VERSION",
    "HOW_TO_RECORD",
    "RecordedError",
    "Recording",
    "check_writable",
    "load",
    "options_in_force",
    "resolve",
    "save",
]


def save(
    source: Any,
    path: str | os.PathLike[str],
    *,
    prompt: Any = None,
    options: Mapping[str, Any] | None = None,
) -> Path:
    """Save a finished stream, `StreamView` or `Completion` to `path`; returns the absolute path.

    Our streams remember their prompt and options; for a view or a completion, pass `prompt` (and `options`) to
    keep them in the file: a replay shows them and warns when asked something else.
    """
    return write(capture(source, prompt=prompt, options=options), path)


def load(path: str | os.PathLike[str]) -> Recording:
    """Read a recording; a missing or malformed file is one ConfigurationError naming the file and line."""
    return read(path)


def check_writable(path: str | os.PathLike[str]) -> Path:
    """Fail before a request is sent, not after its answer arrived, when the recording cannot be written."""
    target = resolve(path)
    if target.is_dir():
        raise ConfigurationError(f"cannot record to {target}: it is a directory; give a file name, e.g. run.jsonl")
    if not target.parent.is_dir():
        raise ConfigurationError(f"cannot record to {target}: the directory {target.parent} does not exist")
    return target
