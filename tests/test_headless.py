"""Telling a person's notebook from a headless run (view/headless.py), on the execute request a kernel holds."""

from __future__ import annotations

from typing import Any

import pytest

from llmstream_nb.view.headless import OVERRIDE, executed_headless


class Kernel:
    def __init__(self, metadata: dict[str, Any] | None) -> None:
        self.parent = {} if metadata is None else {"header": {"msg_type": "execute_request"}, "metadata": metadata}

    def get_parent(self) -> dict[str, Any]:
        return self.parent


@pytest.fixture(autouse=True)
def no_hints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(OVERRIDE, raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)


def test_a_request_without_a_cell_id_is_headless() -> None:
    assert executed_headless(Kernel({})) is True  # nbclient, jupyter execute, papermill


def test_jupyterlab_and_vs_code_send_the_cell_id() -> None:
    assert executed_headless(Kernel({"cellId": "3f2a", "recordTiming": False})) is False


def test_a_kernel_started_by_a_jupyter_server_has_a_person(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/me/notes.ipynb")
    assert executed_headless(Kernel({})) is False


def test_no_request_yet_means_a_person() -> None:
    assert executed_headless(Kernel(None)) is False


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("0", False)])
def test_the_environment_decides_when_set(monkeypatch: pytest.MonkeyPatch, value: str, expected: bool) -> None:
    monkeypatch.setenv(OVERRIDE, value)
    assert executed_headless(Kernel({"cellId": "x"} if value == "1" else {})) is expected
