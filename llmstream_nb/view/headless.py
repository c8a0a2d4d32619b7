"""Whether a person watches this cell run, or a notebook runs headless (nbclient, `jupyter execute`, papermill).

Headless, an `--async` view (or `.start()`) would still be streaming when the kernel moves on and
is shut down: the saved notebook kept it as "waiting", with no text, and nbclient drops the view's
later updates (they belong to a cell it no longer listens to). So headless, `start()` streams to the
end before the cell returns, as `run()` does.

JupyterLab, Notebook 7 and VS Code send the cell's id with each execute request (`cellId` in its
metadata), and a kernel a Jupyter server started has `JPY_SESSION_NAME`; nbclient does neither.
`LLMSTREAM_HEADLESS=1` or `=0` decides instead.
"""

from __future__ import annotations

import os
from typing import Any

OVERRIDE = "LLMSTREAM_HEADLESS"


def executed_headless(kernel: Any = None) -> bool:
    """True when the current cell runs with nobody watching (see the module docstring)."""
    override = os.environ.get(OVERRIDE, "").strip()
    if override in ("0", "1"):
        return override == "1"
    if os.environ.get("JPY_SESSION_NAME"):
        return False
    if kernel is None:
        from IPython import get_ipython

        kernel = getattr(get_ipython(), "kernel", None)
    if kernel is None:
        return False  # a terminal IPython: someone is there
    try:
        parent = kernel.get_parent()
    except Exception:
        return False
    metadata = (parent or {}).get("metadata") or {}
    return bool(parent) and "cellId" not in metadata
