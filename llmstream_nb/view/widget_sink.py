"""Mirrors a StreamView into the notebook: the widget and its display bundle.

It imports the widget (so anywidget and ipywidgets) and is imported only when a view is
made inside a kernel, so terminals and `import llmstream_nb` stay free of them.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..chunks import REASONING, REFUSAL, TEXT, TOOL_CALL, Chunk
from ..status import Status
from ..tool_calls import tool_call_deltas, tool_call_state
from .coalesce import Flusher, loop_schedule, thread_schedule
from .display import bundle, fallback_text, inert_markdown, placeholder, saved_answer_bundle, show_bundle
from .sink import Shown
from .widget import StreamWidget, pack_text

#: The chunk kinds the page draws: the answer, the reasoning in its own section, tool calls and a refusal
#: under the answer.
_SHOWN = frozenset({TEXT, REASONING, TOOL_CALL, REFUSAL})


class WidgetSink:
    """Sends a view's tokens as coalesced deltas and its final state once."""

    def __init__(self, view: Shown, interval: float, *, embedded: bool = False) -> None:
        self._view = view
        self._interval = interval
        #: Shown inside another widget (compare's columns): never displayed, never updated as an output.
        self._embedded = embedded
        self._widget: StreamWidget | None = None
        self._handle: Any = None
        self._saved_handle: Any = None  # the answer as HTML for exports (display.saved_answer_bundle)
        self._flusher: Flusher[Chunk] | None = None

    @property
    def widget(self) -> StreamWidget:
        """The widget, made on first use: its comm opens with the view's mode already set
        when the view is begun (or displayed by `display(mode)`) before the widget exists."""
        if self._widget is None:
            view = self._view
            turn = view.chat_turn
            self._widget = StreamWidget(
                model_name=header_name(view),
                chat={**turn.to_dict(), "label": turn.label} if turn is not None else {},
                sep=view.sep or "",
                tint=view.tint,
                markdown=view.markdown,
                mode=view.mode,
                inspect=view.inspect,
                color=view.color or "",
                timeline=view.timeline,
            )
            self._widget.on_msg(self._on_message)
        return self._widget

    # -- the display --------------------------------------------------------------------

    def display(self) -> None:
        """Show the view once (with a display_id, so the end can update its text fallback)."""
        if self._handle is None and not self._embedded:
            self._handle = show_bundle(bundle(self.widget.model_id, placeholder(header_name(self._view))))
            self._saved_handle = show_bundle(saved_answer_bundle(""))

    # -- the stream ---------------------------------------------------------------------

    def begin(self, mode: str) -> None:
        schedule = loop_schedule(asyncio.get_running_loop()) if mode == "async" else thread_schedule
        self._flusher = Flusher(self._send, schedule, self._interval)
        if self.widget.mode != mode:  # displayed before it began, mode unknown then: one update
            self.widget.mode = mode
        self.display()

    def feed(self, chunk: Chunk) -> None:
        # A tool call's first chunk may carry only its name: drawn at once all the same.
        if chunk.kind in _SHOWN and (chunk.text or chunk.kind == TOOL_CALL) and self._flusher is not None:
            self._flusher.add(chunk)

    def status_changed(self, status: Status) -> None:
        self.widget.status = status

    def model_changed(self, model_name: str) -> None:
        self.widget.model_name = header_name(self._view)

    def end(self) -> None:
        """Last deltas, then the final state in one message, then the text fallback."""
        view = self._view
        if self._flusher is not None:
            self._flusher.close()
        text = view.text
        packed = None if self.widget.boundaries else pack_text(text)
        with self.widget.hold_sync():
            if packed is None:
                self.widget.text = text
            else:  # the page has it from the deltas: a long one goes compressed (widget.py)
                self.widget.text_z = packed
            self.widget.reasoning = view.reasoning
            self.widget.tool_calls = tool_call_state(view.tool_calls)
            self.widget.refusal = view.refusal
            if self.widget.boundaries:
                self.widget.offsets = _utf16_end_offsets(view.text_pieces())
            if self.widget.metadata_on:
                self.widget.meta = self._meta(_text_chunks(view.chunks))
            self.widget.stats = view.stats
            self.widget.error = view.error_line
            self.widget.status = view.status
        if self._handle is not None:
            plain = fallback_text(text, view.status, view.error_line)
            markdown = inert_markdown(text) if view.markdown else None
            self._handle.update(bundle(self.widget.model_id, plain, markdown), raw=True)
            self._saved_handle.update(saved_answer_bundle(plain), raw=True)

    # -- helpers ------------------------------------------------------------------------

    def _send(self, chunks: list[Chunk]) -> None:
        """One message for what the interval gathered: the answer's pieces, and the reasoning beside them."""
        pieces = [c.text for c in chunks if c.kind == TEXT]
        reasoning = _joined(chunks, REASONING)
        meta = self._meta([c for c in chunks if c.kind == TEXT]) if self.widget.metadata_on else None
        tools, refusal = tool_call_deltas(chunks), _joined(chunks, REFUSAL)
        self.widget.send_pieces(
            pieces, self._view.live_stats(), reasoning=reasoning, meta=meta, tools=tools, refusal=refusal
        )

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        action = content.get("action") if isinstance(content, dict) else None
        if action == "stop":
            self._view.stop()
        elif action == "sync" and self._flusher is not None and self._view.active:
            self._flusher.flush(then=self._send_reset)
        elif action == "conversation" and self._view.chat_turn is not None:
            self.widget.send({"conversation": self._view.chat_turn.chat.markdown()})

    def _send_reset(self) -> None:
        view = self._view
        meta = self._meta(_text_chunks(view.chunks)) if self.widget.metadata_on else None
        tools, refusal = tool_call_deltas(view.chunks), view.refusal
        self.widget.send_pieces(
            view.text_pieces(), view.live_stats(), reset=True, reasoning=view.reasoning, meta=meta, tools=tools,
            refusal=refusal,
        )  # fmt: skip

    def _meta(self, chunks: list[Chunk]) -> list[list[Any]]:
        """The "m" entries of these text chunks (widget.py documents the format)."""
        with_top = self.widget.inspect
        return [token_meta(c, with_top) for c in chunks]


def header_name(view: Shown) -> str:
    """The model's name, and in a conversation which one and which turn ("demo:ngram · chat default · turn 2")."""
    turn = view.chat_turn
    if turn is None:
        return view.model_name
    return f"{view.model_name} \u00b7 {turn.label}" if view.model_name else turn.label


def _joined(chunks: list[Chunk], kind: str) -> str:
    return "".join(c.text for c in chunks if c.kind == kind)


def _text_chunks(chunks: list[Chunk]) -> list[Chunk]:
    """The chunks the page draws as tokens (as `StreamView.text_pieces`)."""
    return [c for c in chunks if c.kind == TEXT and c.text]


def token_meta(chunk: Chunk, with_top: bool) -> list[Any]:
    """[t, lp] or, with the inspector and alternatives, [t, lp, [[alt, alt_lp], ...]]."""
    lp = None if chunk.logprob is None else round(float(chunk.logprob), 4)
    entry: list[Any] = [round(float(chunk.t), 4), lp]
    if with_top and chunk.top_logprobs:
        entry.append([[str(text), round(float(value), 4)] for text, value in chunk.top_logprobs])
    return entry


def _utf16_end_offsets(pieces: list[str]) -> list[int]:
    """Where each token ends in the text, counted as the browser counts (UTF-16 code units)."""
    offsets, end = [], 0
    for piece in pieces:
        end += len(piece.encode("utf-16-le")) // 2
        offsets.append(end)
    return offsets
