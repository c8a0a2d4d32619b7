"""Profiles that explain a figure: pyinstrument call trees written to bench/profiles/<name>.txt."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._common import BENCH

PROFILES = BENCH / "profiles"


def profile_call(name: str, call: Callable[[], Any], interval: float = 0.0005) -> Path | None:
    """Run `call` once under pyinstrument and save its call tree; None when pyinstrument is missing."""
    try:
        from pyinstrument import Profiler
    except ImportError:
        return None
    profiler = Profiler(interval=interval)
    profiler.start()
    try:
        call()
    finally:
        profiler.stop()
    return save(name, profiler.output_text(unicode=True, show_all=False))


def save(name: str, text: str) -> Path:
    PROFILES.mkdir(exist_ok=True)
    path = PROFILES / f"{name}.txt"
    path.write_text(text)
    return path
