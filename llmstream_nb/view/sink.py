"""What a view and its sink know of each other: the view drives a `Sink`; a sink reads a `Shown`.

A sink (the widget in a notebook, a printer in a terminal) mirrors a view. It is told what
changed (`feed(chunk)`, `status_changed(status)`, ...) and reads the rest through `Shown`,
the few things a view shows, never the view class itself: the view depends on its sinks,
not the other way round, so there is no import cycle between them.
"""

from __future__ import annotations

from typing import Any, Protocol

from ..chunks import Chunk
from ..models.chat import ChatTurn
from ..status import Status
from ..tool_calls import ToolCall


class Shown(Protocol):
    """What a sink reads of the view it mirrors."""

    model_name: str
    sep: str | None
    tint: bool
    markdown: bool
    inspect: bool
    color: str | None
    timeline: bool
    #: The conversation and turn a chat's stream answers (None for other sources).
    chat_turn: ChatTurn | None

    @property
    def status(self) -> Status: ...

    @property
    def mode(self) -> str: ...

    @property
    def active(self) -> bool: ...

    @property
    def text(self) -> str: ...

    @property
    def reasoning(self) -> str: ...

    @property
    def refusal(self) -> str: ...

    @property
    def tool_calls(self) -> list[ToolCall]: ...

    @property
    def chunks(self) -> list[Chunk]: ...

    @property
    def stats(self) -> dict[str, Any]: ...

    @property
    def error_line(self) -> str: ...

    def text_pieces(self) -> list[str]: ...

    def live_stats(self) -> list[float | int | None]: ...

    def stop(self) -> None: ...


class Sink(Protocol):
    """What a view tells its sink."""

    def display(self) -> None: ...
    def begin(self, mode: str) -> None: ...
    def feed(self, chunk: Chunk) -> None: ...
    def status_changed(self, status: Status) -> None: ...
    def model_changed(self, model_name: str) -> None: ...
    def end(self) -> None: ...
