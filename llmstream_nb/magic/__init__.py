"""`%load_ext llmstream_nb`: the `%%llmstream` / `%llmstream` magics.

Loading twice (`%reload_ext`) replaces the previous instance everywhere IPython keeps it,
closing its cached models, so `%config LLMStreamMagics` never talks to a stale one.
"""

from __future__ import annotations

from typing import Any

from .magics import LLMStreamMagics

__all__ = ["LLMStreamMagics", "load_ipython_extension", "unload_ipython_extension"]


def load_ipython_extension(ipython: Any) -> None:
    """Register the magics; `Magics.__init__` adds them to `shell.configurables`, which `%config` reads."""
    unload_ipython_extension(ipython)
    ipython.register_magics(LLMStreamMagics(shell=ipython))


def unload_ipython_extension(ipython: Any) -> None:
    """Forget earlier instances (from a previous load) and release their models."""
    for old in [c for c in ipython.configurables if type(c).__name__ == LLMStreamMagics.__name__]:
        ipython.configurables.remove(old)
        old.close_models()
