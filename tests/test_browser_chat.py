"""A conversation in JupyterLab: the quickstart's two --chat cells, the second run again.

JupyterLab sends each cell's id with its execute request; the kernel side keys exchanges by it, so
running the second cell again replaces its exchange (4 messages, not 6) and the header says which
conversation and turn. The real-kernel test does the same with ids the test makes up; this one
checks that JupyterLab sends them.
"""

from __future__ import annotations

from typing import Any

import pytest

pytest.register_assert_rewrite("browser_harness", "test_browser")  # before the imports below

from browser_harness import LabServer, cell_starting_with, kernel_value, open_notebook, run_and_wait  # noqa: E402
from test_browser import QUICKSTART, expect, load_extension, view_parts  # noqa: E402

pytest_plugins = ["browser_harness"]
pytestmark = pytest.mark.browser

FIRST_CHAT_CELL = "%%llmstream --chat --system"
SECOND_CHAT_CELL = "%%llmstream --chat\nAnd what about coffee?"


def test_a_chat_cell_run_again_in_jupyterlab_replaces_its_own_exchange(page: Any, lab: LabServer) -> None:
    open_notebook(page, lab, QUICKSTART)
    load_extension(page)
    first, second = cell_starting_with(page, FIRST_CHAT_CELL), cell_starting_with(page, SECOND_CHAT_CELL)
    run_and_wait(page, first)
    run_and_wait(page, second)
    run_and_wait(page, second)
    status, _, _ = view_parts(second)
    expect(status).to_have_text("done")
    expect(second.locator(".llmstream-view .llmstream-model")).to_have_text(
        "demo:ngram \u00b7 chat default \u00b7 turn 2"
    )
    assert kernel_value(page, "len(_llmstream.chat.messages)") == 4
    keys = kernel_value(page, "[e.cell for e in _llmstream.chat.exchanges]")
    assert all(key.startswith("cell:") for key in keys) and len(set(keys)) == 2  # JupyterLab's cell ids
