"""Printing a stream to a terminal as it arrives: the CLI's view and the widget's fallback.

Tokens are written and flushed one by one, so the answer appears live, as in LangChain's
`print(chunk, end="|", flush=True)`. Reasoning goes to the same stream, dimmed where the
terminal supports colour, and never mixes into the answer's separators; tool calls and refusals
are marked apart from the answer too.
"""

from __future__ import annotations

import sys
from typing import TextIO

from .chunks import REASONING, REFUSAL, TEXT, Chunk, Completion, Timings
from .errors import one_line, redact
from .tool_calls import ToolCallChunk

_DIM, _RESET = "\x1b[2m", "\x1b[0m"


def format_stats(timings: Timings, usage_tokens: int | None = None) -> str:
    """One line: chunks, time to first token, tokens per second, elapsed."""
    parts = [f"{timings.chunks} chunks"]
    if usage_tokens is not None and usage_tokens != timings.chunks:
        parts.append(f"{usage_tokens} tokens")
    if timings.ttft is not None:
        parts.append(f"first token {timings.ttft * 1000:.0f} ms")
    if timings.tokens_per_second is not None:
        parts.append(f"{timings.tokens_per_second:.1f} tokens/s")
    parts.append(f"{timings.elapsed:.2f} s")
    return " · ".join(parts)


class TerminalPrinter:
    """Writes chunks to `file` as they come; `finish` ends the line and prints stats or the error."""

    def __init__(self, sep: str | None = None, stats: bool = False, file: TextIO | None = None) -> None:
        self.sep = sep
        self.stats = stats
        self.file = file or sys.stdout
        self.colour = bool(getattr(self.file, "isatty", lambda: False)())
        self._kind = TEXT
        self._wrote = False
        self._last_text: str | None = None  # the last answer token written, for where a separator goes

    def feed(self, chunk: Chunk | str) -> None:
        text = chunk.text if isinstance(chunk, Chunk) else str(chunk)
        kind = chunk.kind if isinstance(chunk, Chunk) else TEXT
        named = isinstance(chunk, ToolCallChunk) and bool(chunk.name)  # a new tool call begins
        if kind != self._kind or named:
            self._switch(kind, chunk.name if named else None)  # type: ignore[union-attr]
        reasoning = kind == REASONING
        if self.sep is not None and kind == TEXT and text:
            # Between tokens only: never after a line break (a line never starts with it), never at the end.
            if self._last_text is not None and not self._last_text.endswith("\n"):
                text = self.sep + text
            self._last_text = text
        self.file.write(_DIM + text + _RESET if reasoning and self.colour else text)
        self.file.flush()
        self._wrote = True

    def _switch(self, kind: str, tool: str | None = None) -> None:
        """Mark where reasoning, a tool call or a refusal starts and ends, so it reads apart from the
        answer: a blank line between them either way round (a model may think again after some
        answer), and a marker ("[tool call] NAME " before a call's JSON arguments)."""
        if self._wrote:
            self.file.write("\n\n")
        if kind == REASONING:
            self.file.write("[reasoning] " if not self.colour else _DIM + "thinking: " + _RESET)
        elif tool is not None:
            self.file.write(f"[tool call] {tool} ")
        elif kind == REFUSAL:
            self.file.write("[refusal] ")
        self._kind = kind
        self._last_text = None  # the answer goes on after a break: no separator starts its line

    def finish(self, outcome: Completion | BaseException | None = None) -> None:
        """End the answer's line; print stats (to stderr) or the one-line error."""
        self.file.write("\n")
        self.file.flush()
        if isinstance(outcome, BaseException):
            print(f"error: {type(outcome).__name__}: {one_line(redact(str(outcome)))}", file=sys.stderr)
        elif isinstance(outcome, Completion) and self.stats:
            print(format_stats(outcome.timings, outcome.usage.completion_tokens), file=sys.stderr)
