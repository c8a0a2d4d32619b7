"""Training the demo model ahead of its first stream, on a daemon thread.

The demo model trains on first use (about a second of CPU, once per process), and a first
stream would count that second in its time to first token. `%load_ext llmstream_nb` and
making a demo model (`get_model("demo")`) start the training in the background instead, so the first
cell usually finds the model ready; neither waits for it. `DemoLM.shared()` is thread-safe
and caches per process: a stream that starts while the thread trains waits for it rather
than training twice. Importing this module starts nothing.
"""

from __future__ import annotations

import threading

DEMO_PROVIDER = "demo"
THREAD_NAME = "llmstream-demo-warmup"

_lock = threading.Lock()
_thread: threading.Thread | None = None


def warm_demo_model() -> threading.Thread:
    """Start training the demo model on a daemon thread (once per process); returns that thread."""
    global _thread
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=_train, name=THREAD_NAME, daemon=True)
            _thread.start()
        return _thread


def is_demo(model_name: str | None) -> bool:
    """Whether a "provider:model" name (or a bare provider name) is the built-in demo."""
    return bool(model_name) and str(model_name).partition(":")[0] == DEMO_PROVIDER


def warm_demo_model_for(model_name: str | None) -> None:
    if is_demo(model_name):
        warm_demo_model()


def _train() -> None:
    try:
        from .lm import DemoLM

        DemoLM.shared()
    except Exception:  # noqa: BLE001  the first stream trains again and reports the error where it is seen
        pass
