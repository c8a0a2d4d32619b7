"""Recordings as JSON Lines: a header line, one line per chunk, an end line.

Lines are small (null and default fields are left out) and readable with `jq` or an editor,
so a teacher can cut a recording by hand. Reading checks every line and names the file and
the line of the first mistake, since a hand-edited file is the likely source of one.
"""

from __future__ import annotations

import json
import math
import os
import stat
from dataclasses import fields
from pathlib import Path
from typing import Any, Callable, TypeVar

from ..chunks import TEXT, TOOL_CALL, Chunk, ProviderTimings, Timings, Usage
from ..errors import ConfigurationError, one_line
from ..tool_calls import ToolCallChunk, tool_call_chunk
from ._types import FORMAT_VERSION, RecordedError, Recording

#: A recording is a few KB to a few MB; beyond this it is not one (or `/dev/zero`).
MAX_RECORDING_BYTES = 64 * 1024 * 1024
#: The latest time a chunk may be recorded at: a day (a recorded `t` of 1e9 would wait 31 years).
MAX_RECORDED_SECONDS = 24 * 3600.0
HOW_TO_RECORD = 'make one with view.save("run.jsonl") or llmstream-nb run --record run.jsonl'

Stats = TypeVar("Stats", Usage, Timings, ProviderTimings)


def resolve(path: str | os.PathLike[str]) -> Path:
    """`~` expanded, relative to the current directory, made absolute so a later `chdir` changes nothing."""
    return Path(path).expanduser().absolute()


# -- writing --------------------------------------------------------------------------------


def write(recording: Recording, path: str | os.PathLike[str]) -> Path:
    """Write the recording to `path` (replacing it whole, so a replay never reads half a file)."""
    target = resolve(path)
    lines = [_header(recording), *(_chunk_line(c) for c in recording.chunks), _end_line(recording)]
    text = "".join(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n" for line in lines)
    partial = target.with_name(target.name + ".partial")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, target)
    except OSError as exc:
        raise ConfigurationError(f"cannot write the recording {target}: {exc.strerror or exc}") from None
    return target


def _header(recording: Recording) -> dict[str, Any]:
    return {
        "llmstream": FORMAT_VERSION,
        "model": recording.model,
        "prompt": recording.prompt,
        "options": recording.options,
        "recorded_at": recording.recorded_at,
    }


def _chunk_line(chunk: Chunk) -> dict[str, Any]:
    line: dict[str, Any] = {"t": round(chunk.t, 6)}
    if chunk.kind != TEXT:
        line["kind"] = chunk.kind
    line["text"] = chunk.text
    for name in ("finish_reason", "logprob"):
        if (value := getattr(chunk, name)) is not None:
            line[name] = value
    if chunk.top_logprobs is not None:
        line["top_logprobs"] = [[token, logprob] for token, logprob in chunk.top_logprobs]
    if chunk.fallback:
        line["fallback"] = True
    if isinstance(chunk, ToolCallChunk):  # which call the fragment belongs to, and its id and name if given
        line["call"] = chunk.call
        line.update({key: value for key, value in (("id", chunk.call_id), ("name", chunk.name)) if value})
    return line


def _end_line(recording: Recording) -> dict[str, Any]:
    line: dict[str, Any] = {"end": round(recording.end, 6), "usage": _stats_dict(recording.usage)}
    for name in ("timings", "provider_timings"):
        if (stats := getattr(recording, name)) is not None:
            line[name] = _stats_dict(stats)
    if recording.error is not None:
        line["error"] = recording.error.to_dict()
    return line


def _stats_dict(stats: Usage | Timings | ProviderTimings) -> dict[str, Any]:
    return {f.name: value for f in fields(stats) if (value := getattr(stats, f.name)) is not None}


# -- reading --------------------------------------------------------------------------------


class _Mistake(Exception):
    """A problem with one line; `read` adds the file and the line number."""


def read(path: str | os.PathLike[str]) -> Recording:
    """Read and check a recording; any problem is one ConfigurationError naming the file and line."""
    source = resolve(path)
    try:
        _check_file(source)
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError(f"no recording at {source} ({HOW_TO_RECORD})") from None
    except UnicodeDecodeError:
        raise ConfigurationError(f"{source} is not a recording: it is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigurationError(f"cannot read the recording {source}: {exc.strerror or exc}") from None
    # split("\n"), not splitlines(): a token may hold U+2028, which JSON leaves unescaped.
    lines = [(n, line) for n, line in enumerate(text.split("\n"), start=1) if line.strip()]
    if not lines:
        raise ConfigurationError(f"{source} is empty, not a recording ({HOW_TO_RECORD})")
    number = lines[0][0]
    try:
        recording = _header_fields(_object(lines[0][1]))
        for number, line in lines[1:-1]:  # noqa: B007  `number` names the line in the error below
            recording.chunks.append(_chunk(_object(line), index=len(recording.chunks)))
        number, line = lines[-1]
        last = _object(line)
        if len(lines) < 2 or "end" not in last:
            raise _Mistake("the recording has no end line (is the file cut short?)")
        _end_fields(last, recording)
    except _Mistake as mistake:
        raise ConfigurationError(f"bad recording {source}, line {number}: {mistake}") from None
    return recording


def _check_file(source: Path) -> None:
    """A regular file of sane size: a FIFO would block the read, `/dev/zero` would never end it."""
    info = source.stat()
    if not stat.S_ISREG(info.st_mode):
        raise ConfigurationError(f"{source} is not a regular file, so not a recording ({HOW_TO_RECORD})")
    if info.st_size > MAX_RECORDING_BYTES:
        raise ConfigurationError(
            f"{source} is {info.st_size:,} bytes, more than a recording can be ({MAX_RECORDING_BYTES:,})"
        )


def _object(line: str) -> dict[str, Any]:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise _Mistake(f"not JSON ({exc.msg}, column {exc.colno})") from None
    except (ValueError, RecursionError) as exc:  # a number longer than 4,300 digits; nesting too deep
        why = "nested too deeply" if isinstance(exc, RecursionError) else one_line(str(exc), 80)
        raise _Mistake(f"not readable JSON ({why})") from None
    if not isinstance(obj, dict):
        raise _Mistake(f"expected a JSON object, got {type(obj).__name__}")
    return obj


def _header_fields(obj: dict[str, Any]) -> Recording:
    version = obj.get("llmstream")
    if version is None:
        raise _Mistake('not an llmstream recording: the first line has no "llmstream" format version')
    if version != FORMAT_VERSION:
        raise _Mistake(f"format {version!r}; this llmstream_nb reads format {FORMAT_VERSION} (upgrade it?)")
    options = _typed(obj, "options", dict, {})
    prompt = obj.get("prompt")
    if prompt is not None and not isinstance(prompt, (str, list)):
        raise _Mistake(f'"prompt" must be a string or a list of messages, got {type(prompt).__name__}')
    return Recording(
        chunks=[],
        model=_typed(obj, "model", str, ""),
        prompt=prompt,
        options=options,
        recorded_at=_typed(obj, "recorded_at", str, ""),
    )


def _chunk(obj: dict[str, Any], index: int) -> Chunk:
    if "end" in obj:
        raise _Mistake("an end line before the last line")
    t = _seconds(obj, "t")
    if t is None:
        raise _Mistake('a chunk needs "t", its arrival time in seconds')
    text = obj.get("text")
    if not isinstance(text, str):
        raise _Mistake(f'a chunk needs "text", a string; got {text!r:.40}')
    kind = _typed(obj, "kind", str, TEXT)
    if kind == TOOL_CALL:
        call_id, name = _typed(obj, "id", str, None), _typed(obj, "name", str, None)
        chunk = tool_call_chunk(text, _typed(obj, "call", int, 0), call_id, name)
        chunk.index, chunk.t, chunk.fallback = index, t, _typed(obj, "fallback", bool, False)
        chunk.finish_reason = _typed(obj, "finish_reason", str, None)
        return chunk
    return Chunk(
        text,
        kind=kind,
        index=index,
        t=t,
        finish_reason=_typed(obj, "finish_reason", str, None),
        logprob=_number(obj, "logprob"),
        top_logprobs=_top_logprobs(obj.get("top_logprobs")),
        fallback=_typed(obj, "fallback", bool, False),
    )


def _end_fields(obj: dict[str, Any], recording: Recording) -> None:
    end = _seconds(obj, "end")
    recording.end = max([end or 0.0, *(c.t for c in recording.chunks)])
    recording.usage = _stats(obj, "usage", Usage) or Usage()
    recording.timings = _stats(obj, "timings", Timings)
    recording.provider_timings = _stats(obj, "provider_timings", ProviderTimings)
    error = _typed(obj, "error", dict, None)
    if error is not None:
        recording.error = _error(error)


def _error(obj: dict[str, Any]) -> RecordedError:
    kind, message = obj.get("type"), obj.get("message")
    if not isinstance(kind, str) or not kind.isidentifier() or not isinstance(message, str):
        raise _Mistake('"error" needs "type" (an exception class name) and "message" (a string)')
    status = obj.get("status")
    if status is not None and (isinstance(status, bool) or not isinstance(status, int)):
        raise _Mistake(f'"error"."status" must be an HTTP status number, got {status!r:.40}')
    return RecordedError(
        kind,
        message,
        provider=_typed(obj, "provider", str, None),
        host=_typed(obj, "host", str, None),
        status=status,
        hint=_typed(obj, "hint", str, None),
    )


def _stats(obj: dict[str, Any], key: str, kind: Callable[..., Stats]) -> Stats | None:
    """Usage or timings: known numeric fields are checked, others (a later version's) are ignored."""
    values = _typed(obj, key, dict, None)
    if values is None:
        return None
    names = {f.name for f in fields(kind)}  # type: ignore[arg-type]
    return kind(**{name: _number(values, name, where=f'"{key}".') for name in names if name in values})


_KIND_NAMES = {str: "a string", dict: "an object", bool: "true or false"}


def _typed(obj: dict[str, Any], key: str, kind: type, default: Any) -> Any:
    value = obj.get(key)
    if value is None:
        return default
    if not isinstance(value, kind):
        raise _Mistake(f'"{key}" must be {_KIND_NAMES.get(kind, kind.__name__)}, got {value!r:.40}')
    return value


def _number(obj: dict[str, Any], key: str, where: str = "") -> Any:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Mistake(f'{where}"{key}" must be a number, got {value!r:.40}')
    return value


def _seconds(obj: dict[str, Any], key: str) -> float | None:
    value = _number(obj, key)
    if value is not None and not (math.isfinite(value) and 0 <= value <= MAX_RECORDED_SECONDS):
        raise _Mistake(f'"{key}" must be a time in seconds from 0 to {MAX_RECORDED_SECONDS:g}, got {value!r:.40}')
    return None if value is None else float(value)


def _top_logprobs(value: Any) -> tuple[tuple[str, float], ...] | None:
    if value is None:
        return None
    pairs = value if isinstance(value, list) else None
    if pairs is None or not all(
        isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) and isinstance(p[1], (int, float)) for p in pairs
    ):
        raise _Mistake('"top_logprobs" must be a list of [token, logprob] pairs')
    return tuple((token, float(logprob)) for token, logprob in pairs)
