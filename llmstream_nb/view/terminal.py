"""Moved: the terminal printer lives in `llmstream_nb.terminal` (no widget imports)."""

from ..terminal import TerminalPrinter, format_stats

__all__ = ["TerminalPrinter", "format_stats"]
