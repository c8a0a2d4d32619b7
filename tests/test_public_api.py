"""The public names: all in `__all__`, all importable, the widget-side ones loaded lazily yet seen
by type checkers (the `TYPE_CHECKING` block), and the package marked as typed (`py.typed`)."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import llmstream_nb

INIT = Path(llmstream_nb.__file__)


def test_every_public_name_is_in_all_and_resolves() -> None:
    public = {name for name in vars(llmstream_nb) if not name.startswith("_")} - {
        "annotations",
        "TYPE_CHECKING",
        "Any",
        "load_ipython_extension",
    }
    modules = {name for name in public if type(getattr(llmstream_nb, name)).__name__ == "module"}
    assert public - modules <= set(llmstream_nb.__all__)
    assert [name for name in llmstream_nb.__all__ if getattr(llmstream_nb, name, None) is None] == []


def test_lazy_names_are_listed_for_type_checkers() -> None:
    """The names `__getattr__` loads on first use are exactly those the TYPE_CHECKING block imports."""
    tree = ast.parse(INIT.read_text(encoding="utf-8"))
    checked = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
        for stmt in node.body
        if isinstance(stmt, ast.ImportFrom)
        for alias in stmt.names
    }
    assert checked == set(llmstream_nb._LAZY) and checked <= set(llmstream_nb.__all__)


def test_star_import_stays_light() -> None:
    code = "import sys; from llmstream_nb import *; print('ipywidgets' in sys.modules, StreamView.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "StreamView"]


def test_py_typed_ships_with_the_package() -> None:
    assert (INIT.parent / "py.typed").is_file()
    pyproject = (INIT.parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    assert '"py.typed"' in pyproject


def test_a_user_type_checker_sees_real_types(tmp_path: Path) -> None:
    """What mypy tells a user: `show` returns a StreamView, not Any."""
    api = pytest.importorskip("mypy.api")
    user = tmp_path / "user.py"
    user.write_text(
        textwrap.dedent("""
            from llmstream_nb import StreamView, show, get_model
            view = show("demo", "hi")
            reveal_type(view)
            reveal_type(get_model("demo").stream("hi"))
        """),
        encoding="utf-8",
    )
    out, _, _ = api.run([str(user), "--follow-imports=silent", "--no-incremental", "--cache-dir=/dev/null"])
    assert 'Revealed type is "llmstream_nb.view.stream_view.StreamView"' in out
    assert 'Revealed type is "llmstream_nb.models.streams.TokenStream"' in out
