"""`%load_ext llmstream_nb`: the `%%llmstream` / `%llmstream` magics.

Loading twice (`%reload_ext`) replaces the previous instance everywhere IPython keeps it,
closing its cached models, so `%config LLMStreamMagics` never talks to a stale one.
When the default model is the demo, loading also starts training it on a background thread
(demo/warmup.py), so the first cell does not count that second as its time to first token.
"""

from __future__ import annotations

from typing import Any

from ..demo.warmup import warm_demo_model_for
from .magics import LLMStreamMagics

__all__ = ["LLMStreamMagics", "load_ipython_extension", "unload_ipython_extension"]


def load_ipython_extension(ipython: Any) -> None:
    """Register the magics; `Magics.__init__` adds them to `shell.configurables`, which `%config` reads."""
    unload_ipython_extension(ipython)
    magics = LLMStreamMagics(shell=ipython)
    ipython.register_magics(magics)
    warm_demo_model_for(magics.default_model_spec())  # returns at once; see demo/warmup.py


def unload_ipython_extension(ipython: Any) -> None:
    """Forget earlier instances (from a previous load) and release their models."""
    for old in [c for c in ipython.configurables if type(c).__name__ == LLMStreamMagics.__name__]:
        ipython.configurables.remove(old)
        old.close_models()
