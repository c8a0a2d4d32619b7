"""Mirrors a StreamView to a terminal: tokens printed as they arrive (no kernel, no widgets)."""

from __future__ import annotations

import sys
from typing import TextIO

from ..chunks import Chunk
from ..status import Status
from ..terminal import TerminalPrinter
from .sink import Shown


class TerminalSink:
    """Feeds the lead's TerminalPrinter; the error line is the view's (redacted) one."""

    def __init__(self, view: Shown, file: TextIO | None = None) -> None:
        self._view = view
        self._printer = TerminalPrinter(sep=view.sep, file=file)

    def display(self) -> None:
        print(repr(self._view), file=self._printer.file)

    def begin(self, mode: str) -> None:
        pass

    def feed(self, chunk: Chunk) -> None:
        if chunk.text:
            self._printer.feed(chunk)

    def status_changed(self, status: Status) -> None:
        pass

    def model_changed(self, model_name: str) -> None:
        pass

    def end(self) -> None:
        view = self._view
        self._printer.finish(None)
        if view.status == Status.ERROR:
            print(f"error: {view.error_line}", file=sys.stderr)
        elif view.status == Status.STOPPED:
            print("[stopped]", file=sys.stderr)
