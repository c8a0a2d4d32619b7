"""Profiles that explain a figure: pyinstrument call trees written to bench/profiles/<name>.txt."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._common import BENCH, ROOT

PROFILES = BENCH / "profiles"


def profile_call(name: str, call: Callable[[], Any], interval: float = 0.0005, flat_top: int = 0) -> dict[str, float]:
    """Run `call` once under pyinstrument and save its call tree; returns the share of self time by
    package, largest first (empty when pyinstrument is missing).

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
    by_function: dict[str, float] = defaultdict(float)
    by_package: dict[str, float] = defaultdict(float)
    _self_times(profiler.last_session.root_frame(), by_function, by_package)
    if flat_top:
        top = sorted(by_function.items(), key=lambda kv: -kv[1])[:flat_top]
        text += f"\nMost self time, all frames (top {flat_top}):\n" + "\n".join(f"{t:8.3f}  {f}" for f, t in top) + "\n"
    save(name, text)
    total = sum(by_package.values()) or 1.0
    return {k: v / total for k, v in sorted(by_package.items(), key=lambda kv: -kv[1])}


def describe_shares(shares: dict[str, float], top: int = 6) -> str:
    """`openai 44%, built-in 18%, ...`: the largest shares from `profile_call`, for a results note."""
    return ", ".join(f"{k} {v * 100:.0f}%" for k, v in list(shares.items())[:top] if v >= 0.01)


def _self_times(frame: Any, by_function: dict[str, float], by_package: dict[str, float]) -> None:
    """Add each frame's own time (its `[self]` children, or all of it for a leaf) to its function and
    package. Summed from the tree because pyinstrument's flat view files every `[self]` under one name."""
    for child in frame.children:
        if child.is_synthetic:
            if child.identifier.startswith("[self]"):
                _add(frame, child.time, by_function, by_package)
        elif child.children:
            _self_times(child, by_function, by_package)
        else:
            _add(child, child.time, by_function, by_package)


def _add(frame: Any, seconds: float, by_function: dict[str, float], by_package: dict[str, float]) -> None:
    package = package_of(frame.file_path or "")
    by_function[f"{frame.function}  ({package})"] += seconds
    by_package[package] += seconds


def package_of(path: str) -> str:
    """`openai`, `httpx`, `json`, `llmstream_nb`, `bench`, or `built-in` from a frame's file path."""
    if not path or path.startswith("<"):
        return "built-in"
    parts = Path(path).parts
    for marker in ("site-packages", "dist-packages"):
        if marker in parts:
            return parts[parts.index(marker) + 1].removesuffix(".py")
    for i, part in enumerate(parts):
        if re.fullmatch(r"python3\.\d+", part) and i + 1 < len(parts):
            return parts[i + 1].removesuffix(".py")
    try:
        return Path(path).resolve().relative_to(ROOT).parts[0].removesuffix(".py")
    except ValueError:
        return Path(path).stem


def save(name: str, text: str) -> Path:
    PROFILES.mkdir(exist_ok=True)
    path = PROFILES / f"{name}.txt"
    path.write_text(text)
    return path
