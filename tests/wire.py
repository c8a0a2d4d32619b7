"""The bytes a provider puts on the wire, rebuilt from the recorded fixtures (see tests/fixtures/README.md).

Tests of every stream decoder use these, so that "the fixture decodes to its expected text" is checked on the same
bytes, whatever the line ends and however the reads are cut.
"""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path
from typing import Literal

Flavour = Literal["openai", "anthropic", "gemini", "responses"]

#: The recorded streams, and those written from the providers' documentation, live with the tests.
FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"
NEWLINES = ("\n", "\r\n", "\r")
_SUFFIX = ".chunks.jsonl"


def fixture_names() -> list[str]:
    """Names of the recorded streams, e.g. "azure-openai-chat-text" (file name without ".chunks.jsonl")."""
    return sorted(path.name[: -len(_SUFFIX)] for path in FIXTURES_DIR.glob("*" + _SUFFIX))


def fixture_path(name: str) -> Path:
    """A fixture file by its name (a stream, or a whole body such as "proxy-chat-whole-body.json")."""
    return FIXTURES_DIR / name


def fixture_flavour(name: str) -> Flavour:
    """How the fixture travels: Anthropic Messages for "anthropic-*" files, Gemini's `streamGenerateContent`
    for "gemini-*", OpenAI's Responses API for "openai-responses-*", OpenAI Chat Completions otherwise."""
    base = Path(name).name
    if base.startswith("openai-responses"):
        return "responses"
    return "anthropic" if base.startswith("anthropic") else "gemini" if base.startswith("gemini") else "openai"


def fixture_payloads(name: str) -> list[str]:
    """The JSON payloads of a fixture, one per line, in the order the provider sent them."""
    path = fixture_path(name if name.endswith(_SUFFIX) else name + _SUFFIX)
    # split("\n"), not splitlines(): a JSON string may hold a raw U+2028, which splitlines would cut.
    return [line.rstrip("\r") for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


def wire_bytes(payloads: list[str], flavour: Flavour = "openai", newline: str = "\n") -> bytes:
    """OpenAI: `data: <line>` per payload then `data: [DONE]`; Anthropic and Responses: `event: <its "type">` +
    `data: <line>`, no end marker; Gemini: `data: <line>` per payload and no end marker. Every event ends with a
    blank line; `newline` is the line end used throughout ("\\n", "\\r\\n" or "\\r")."""
    if newline not in NEWLINES:
        raise ValueError(f"newline must be one of {NEWLINES!r}, got {newline!r}")
    nl = newline
    if flavour in ("anthropic", "responses"):
        events = [f"event: {json.loads(line)['type']}{nl}data: {line}{nl}{nl}" for line in payloads]
    elif flavour == "gemini":
        events = [f"data: {line}{nl}{nl}" for line in payloads]
    else:
        events = [f"data: {line}{nl}{nl}" for line in [*payloads, "[DONE]"]]
    return "".join(events).encode("utf-8")


def fixture_wire(name: str, newline: str = "\n") -> bytes:
    """The bytes of a fixture as its provider sends them (see `wire_bytes`)."""
    return wire_bytes(fixture_payloads(name), fixture_flavour(name), newline)


def random_splits(data: bytes, cuts: list[int]) -> list[bytes]:
    """Cut `data` into reads at the offsets in `cuts` (any order; duplicates and offsets outside the data are
    ignored). The pieces are non-empty and join back to `data`; feed them cuts drawn by hypothesis."""
    points = sorted({cut for cut in cuts if 0 < cut < len(data)})
    bounds = [0, *points, len(data)]
    return [data[start:end] for start, end in pairwise(bounds) if end > start]
