"""The bytes a provider puts on the wire, rebuilt from the recorded fixtures (see tests/fixtures/README.md).

Tests of every stream decoder use these, so that "the fixture decodes to its expected text" is checked on the same
bytes, whatever the line ends and however the reads are cut.
"""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path
from typing import Literal

Flavour = Literal["openai", "anthropic"]

#: The recorded streams live with the tests, so a clone tests on its own.
FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"
NEWLINES = ("\n", "\r\n", "\r")
_SUFFIX = ".chunks.jsonl"


def fixture_names() -> list[str]:
    """Names of the recorded streams, e.g. "azure-openai-chat-text" (file name without ".chunks.jsonl")."""
    return sorted(path.name[: -len(_SUFFIX)] for path in FIXTURES_DIR.glob("*" + _SUFFIX))


def fixture_flavour(name: str) -> Flavour:
    """How the fixture travels: Anthropic Messages for "anthropic-*" files, OpenAI Chat Completions otherwise."""
    return "anthropic" if Path(name).name.startswith("anthropic") else "openai"


def fixture_payloads(name: str) -> list[str]:
    """The JSON payloads of a fixture, one per line, in the order the provider sent them."""
    path = FIXTURES_DIR / (name if name.endswith(_SUFFIX) else name + _SUFFIX)
    # split("\n"), not splitlines(): a JSON string may hold a raw U+2028, which splitlines would cut.
    return [line.rstrip("\r") for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


def wire_bytes(payloads: list[str], flavour: Flavour = "openai", newline: str = "\n") -> bytes:
    """OpenAI: `data: <line>` per payload then `data: [DONE]`; Anthropic: `event: <its "type">` + `data: <line>`.
    Every event ends with a blank line; `newline` is the line end used throughout ("\\n", "\\r\\n" or "\\r")."""
    if newline not in NEWLINES:
        raise ValueError(f"newline must be one of {NEWLINES!r}, got {newline!r}")
    nl = newline
    if flavour == "anthropic":
        events = [f"event: {json.loads(line)['type']}{nl}data: {line}{nl}{nl}" for line in payloads]
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
