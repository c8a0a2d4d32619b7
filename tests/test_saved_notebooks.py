"""Notebooks executed headless and saved with widget state (nbclient, as docs builds and `jupyter execute` do):
small, and every view saved with its answer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbformat.notebooknode import NotebookNode
from test_notebooks import CELL_TIMEOUT, KERNEL_NAME, kernel_dir, offline_env  # noqa: F401  (kernel_dir: fixture)

pytestmark = pytest.mark.kernel

STATE = "application/vnd.jupyter.widget-state+json"
VIEW = "application/vnd.jupyter.widget-view+json"
IMPORTS = 'from llmstream_nb import StreamView, get_model, show\nmodel = get_model("demo", ttft=0, tokens_per_second=0)'
VIEWS = 6


def execute_and_save(cells: list[str], kernel_dir: Path, tmp_path: Path) -> tuple[NotebookNode, Path]:  # noqa: F811
    """Run `cells` with nbclient, keeping the widget state as a docs build does, and save the notebook."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
    specs = KernelSpecManager(kernel_dirs=[str(kernel_dir)])
    manager = KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=specs)
    client = NotebookClient(
        notebook,
        km=manager,
        timeout=CELL_TIMEOUT,
        store_widget_state=True,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    env = offline_env(tmp_path / "ipython")
    for name in ("LLMSTREAM_HEADLESS", "JPY_SESSION_NAME"):  # decided by the execute requests alone
        env.pop(name, None)
    client.execute(env=env)
    path = tmp_path / "saved.ipynb"
    nbformat.write(notebook, path)
    return notebook, path


def saved_state(notebook: NotebookNode) -> dict[str, Any]:
    return notebook.metadata["widgets"][STATE]["state"]


def view_ids(cell: NotebookNode) -> list[str]:
    return [o.data[VIEW]["model_id"] for o in cell.outputs if o.output_type == "display_data" and VIEW in o.data]


def size(value: Any) -> int:
    return len(json.dumps(value).encode())


def test_the_widget_code_is_saved_once_and_a_view_costs_its_text_plus_a_few_kb(
    kernel_dir: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Each view used to save its own copy of the widget's JavaScript and CSS (41 KB a view)."""
    cells = [IMPORTS] + [
        f'show(model, "Tell me about trains", options=dict(max_tokens=60, seed={i}))' for i in range(VIEWS)
    ]
    notebook, path = execute_and_save(cells, kernel_dir, tmp_path)
    state = saved_state(notebook)
    code_models = [m for m in state.values() if "esm" in m["state"] and "restore_esm" in m["state"]]
    assert len(code_models) == 1
    code_size = size(code_models[0])
    per_view = []
    for cell in notebook.cells[1:]:
        (model_id,) = view_ids(cell)
        model = state[model_id]
        text = model["state"]["text"]
        assert text
        layout_id = model["state"]["layout"].removeprefix("IPY_MODEL_")
        in_state = size(model) + size(state[layout_id])
        in_outputs = size(cell.outputs)
        per_view.append((len(text.encode()), in_state, in_outputs))
        assert in_state <= len(text.encode()) + 4_000, f"a view's saved state: {in_state} bytes for {len(text)} of text"
        assert in_outputs <= 2 * len(text.encode()) + 1_500, f"outputs: {in_outputs} bytes for {len(text)} of text"
    print(
        f"\n{VIEWS} views: code saved once ({code_size} bytes); per view (text, state, outputs): {per_view}; "
        f"notebook {path.stat().st_size} bytes"
    )


def test_async_views_finish_before_the_next_cell_when_run_headless(
    kernel_dir: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    """nbclient used to save views started with `.start()` or `--async` as "waiting", with no text."""
    slow = 'slow = get_model("demo", ttft=0.3, tokens_per_second=40)'
    cells = [
        IMPORTS + "\n" + slow + "\n%load_ext llmstream_nb",
        'started = StreamView(slow.astream("Tell me about trains", max_tokens=30, seed=1)).start()',
        "%%llmstream -m demo --async --opt ttft=0.3 --opt tokens_per_second=40 --opt max_tokens=30\n"
        "Tell me about the sea.",
        "print(started.status, len(started.text) > 0)",
    ]
    notebook, _ = execute_and_save(cells, kernel_dir, tmp_path)
    state = saved_state(notebook)
    for cell in notebook.cells[1:3]:
        (model_id,) = view_ids(cell)
        saved = state[model_id]["state"]
        assert saved["status"] == "done" and saved["text"], (cell.source, saved["status"])
        (plain,) = [o.data["text/plain"] for o in cell.outputs if o.output_type == "display_data" and VIEW in o.data]
        assert plain == saved["text"]
    printed = "".join(o.text for o in notebook.cells[3].outputs if o.output_type == "stream")
    assert printed == "done True\n"
