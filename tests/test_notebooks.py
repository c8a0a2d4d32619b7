"""The teaching notebooks: saved clean, in step with their generator, and they run top to bottom.

Each notebook runs with nbclient on a kernel of this interpreter (the venv), offline, in an
environment without the variables that would point it at a real provider, so a developer's own
`LLMSTREAM_MODEL` or `OPENAI_API_KEY` cannot change what is tested.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import make_notebooks
import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbformat.notebooknode import NotebookNode

NOTEBOOKS = sorted(make_notebooks.NOTEBOOKS.glob("*.ipynb"))
CELL_TIMEOUT = 120  # seconds; the slowest cell takes a few on a quiet machine
KERNEL_NAME = "llmstream-test-python"
#: Variables that would send the notebooks to a real provider or change their default model.
PROVIDER_ENV = (
    "LLMSTREAM_MODEL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "GEMINI_BASE_URL",
)


@pytest.fixture(scope="module")
def kernel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A kernelspec for this very interpreter, whatever kernelspecs the machine has installed."""
    root = tmp_path_factory.mktemp("kernels")
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "llmstream-nb tests",
        "language": "python",
    }
    (root / KERNEL_NAME).mkdir()
    (root / KERNEL_NAME / "kernel.json").write_text(json.dumps(spec))
    return root


def offline_env(ipython_dir: Path) -> dict[str, str]:
    """This process's environment minus provider settings, with an empty IPython profile."""
    env = {k: v for k, v in os.environ.items() if k not in PROVIDER_ENV}
    env["IPYTHONDIR"] = str(ipython_dir)
    return env


def execute(path: Path, kernel_dir: Path, workdir: Path) -> NotebookNode:
    """Run a notebook top to bottom; nbclient raises CellExecutionError on the first failing cell.

    The kernel runs in `workdir`, with a copy of the recordings the notebooks replay beside it,
    as they are beside the notebooks in notebooks/.
    """
    notebook = nbformat.read(path, as_version=4)
    shutil.copytree(make_notebooks.RECORDINGS, workdir / make_notebooks.RECORDINGS.name)
    manager = KernelManager(
        kernel_name=KERNEL_NAME, kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernel_dir)])
    )
    client = NotebookClient(notebook, km=manager, timeout=CELL_TIMEOUT, resources={"metadata": {"path": str(workdir)}})
    client.execute(env=offline_env(workdir / "ipython"))
    return notebook


def code_cells(notebook: NotebookNode) -> Iterator[NotebookNode]:
    return (cell for cell in notebook.cells if cell.cell_type == "code")


def test_there_are_notebooks() -> None:
    assert [p.name for p in NOTEBOOKS] == sorted(make_notebooks.NOTEBOOK_CELLS)


def test_notebooks_match_their_generator() -> None:
    """notebooks/*.ipynb are what tests/make_notebooks.py writes (edit the script, then rerun it)."""
    assert make_notebooks.main(["--check"]) == 0


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_saved_without_outputs(path: Path) -> None:
    """A saved output could hold anything a kernel printed, keys included; and outputs make diffs noisy."""
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for cell in code_cells(notebook):
        assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: cell {cell.id} has outputs"
    assert "widgets" not in notebook.metadata, f"{path.name} carries saved widget state"


@pytest.mark.kernel
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path: Path, kernel_dir: Path, tmp_path: Path) -> None:
    """Every cell runs without error, offline and without a key.

    The magic reports a mistake in its line as one line on stderr and does not raise, so any
    stderr output counts as a failure too.
    """
    notebook = execute(path, kernel_dir, tmp_path)
    for cell in code_cells(notebook):
        stderr = [o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stderr"]
        assert not stderr, f"{path.name}, cell {cell.id} wrote to stderr:\n{''.join(stderr)}"
