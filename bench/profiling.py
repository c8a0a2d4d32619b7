"""Profiles that explain a figure: pyinstrument call trees written to bench/profiles/<name>.txt."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._common import BENCH

PROFILES = BENCH / "profiles"
#: One line of pyinstrument's flat output: seconds, function, then `file:line` (or `<built-in>`).
_FLAT_LINE = re.compile(r"^\s*([0-9.]+)\s+(\S.*?)\s{2,}(\S+)\s*$")


def profile_call(name: str, call: Callable[[], Any], interval: float = 0.0005, flat_top: int = 0) -> dict[str, float]:
    """Run `call` once under pyinstrument and save its call tree; returns self time by top-level package
    (empty when pyinstrument is missing).

    `flat_top` also saves the functions with the most self time, library frames included: the tree
    folds a library's frames away, and for a third-party client (the SDK) those are the whole story."""
    try:
        from pyinstrument import Profiler
    except ImportError:
        return {}
    profiler = Profiler(interval=interval)
    profiler.start()
    try:
        call()
    finally:
        profiler.stop()
    text = profiler.output_text(unicode=True, show_all=False)
    flat = [m for m in map(_FLAT_LINE.match, profiler.output_text(flat=True, show_all=True).splitlines()) if m]
    if flat_top:
        text += f"\nMost self time, all frames (top {flat_top}):\n" + "\n".join(m.group(0) for m in flat[:flat_top]) + "\n"
    save(name, text)
    return by_package(flat)


def by_package(flat: list[re.Match[str]]) -> dict[str, float]:
    """Share of self time per top-level package (`pydantic`, `httpx`, `json`, ...), largest first."""
    seconds: dict[str, float] = defaultdict(float)
    for m in flat:
        where = m.group(3)
        package = "built-in functions" if where.startswith("<") else re.split(r"[/.:]", where, maxsplit=1)[0]
        seconds[package] += float(m.group(1))
    total = sum(seconds.values()) or 1.0
    return {k: v / total for k, v in sorted(seconds.items(), key=lambda kv: -kv[1])}


def save(name: str, text: str) -> Path:
    PROFILES.mkdir(exist_ok=True)
    path = PROFILES / f"{name}.txt"
    path.write_text(text)
    return path
