"""Reports how much of the hostile table ran: cases x protocols x modes."""

from __future__ import annotations

from typing import Any


def pytest_terminal_summary(terminalreporter: Any) -> None:
    from .test_hostile import TALLY

    if TALLY["passed"]:
        terminalreporter.write_line(
            f"hostile suite: {TALLY['cases']} cases x {TALLY['protocols']} protocols x {TALLY['modes']} modes"
            f" = {TALLY['runs']} runs, {TALLY['passed']} passed"
        )
