"""`StreamWidget`: the small anywidget the browser draws a stream with.

Wire format (kept small: ipykernel adds ~570 bytes of envelope to every message, so the
number of messages matters as much as their size):

kernel -> page, custom messages (`widget.send`), at most ~30 a second:
  {"d": "new text", "s": [...]}          plain mode: the text since the last flush
  {"c": ["tok", "en", "s"], "s": [...]}  boundary mode (sep/tint): the chunk texts
  {"reset": 1, "d" | "c": ...}           everything so far, in answer to a "sync"
  "s" is [chunks, ttft, tokens_per_second, elapsed] for the live stats line.
  "r": "thinking" rides along in the same messages when reasoning arrived since the last
  flush (one string, never split into tokens); a message without it is exactly as above, and
  a reasoning-only message still carries an empty "d" / "c" so every delta has the answer's field.
  "m": [[t, lp], ...] rides along only when a teaching feature is on (inspect, color="prob",
  timeline): one entry per piece of "c", in order. t is the token's arrival in seconds since
  the request (4 decimals), lp its logprob (4 decimals) or null where the provider gave none.
  With the inspector on, an entry is [t, lp, [[alt, alt_lp], ...]] where the provider gave
  top alternatives. These features draw token spans, so they imply boundary mode ("c").
  Plain mode (none of them on) sends exactly the messages above, without "m".
  "t": [[call, id, name, fragment], ...] rides along when tool-call chunks arrived since the last
  flush: `call` numbers the calls from 0, `id` and `name` are null except where the wire gave them
  (a call's first chunk), `fragment` is the next piece of the call's JSON arguments. With "reset",
  "t" holds every fragment so far. The page shows each call as a block under the answer.
  "f": "refusal text" rides along likewise when the model refuses (OpenAI's `delta.refusal`): shown
  apart from the answer, never as part of it.
page -> kernel, custom messages:
  {"action": "stop"}          the Stop button (offered in async mode only)
  {"action": "sync"}          a model created mid-stream (page reload) asks for the text so far
  {"action": "conversation"}  "Copy chat": the kernel answers {"conversation": markdown} (`Chat.markdown()`)

Synced state is set a few times per stream, never per token: `status` when the first
token arrives and at the end, and at the end `text` (and `offsets` in boundary mode, and `meta` -- every
token's "m" entry, as above -- when a teaching feature is on), `reasoning`, `tool_calls` ([{"id", "name",
"arguments" (the raw JSON text), "pretty" (indented JSON, or null when the arguments are not valid JSON),
"error"}], one per call), `stats` and `error`, so a notebook saved with widget state keeps the answer
(and the thinking) and a view re-created without a kernel draws it from state.

A long final answer in plain mode (`PACK_TEXT_FROM` bytes or more) goes as `text_z` instead of
`text`: its UTF-8, zlib-compressed, in a binary buffer, which the page inflates into `text` on its
side (DecompressionStream). The deltas carried the text once already, and sending it whole again
made a long stream's traffic twice its text; compressed, the second copy costs a fraction of it
(bench/results.md, section 3). Saved state stays complete: nbclient keeps the buffer from iopub,
and JupyterLab saves the page's model, which holds `text` once inflated.

Markdown (`markdown=True`) is rendered by the page while the answer streams (stream_markdown.js):
complete blocks once, the open block anew at each flush, through JupyterLab's rendermime with the
model marked untrusted, and a second pass after its sanitiser turns what would load something
(images, media, style url()) into text: an answer never makes the page fetch. It is not an Output
widget with a Markdown display: outputs made in a live session are trusted, and JupyterLab then
renders their HTML unsanitised (measured: a `<script>` or `onerror=` in the answer runs).
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

import anywidget
import traitlets
from ipywidgets import widget_serialization

from .code import StreamCode, shared_code

_HERE = Path(__file__).parent

#: A final text of at least this many UTF-8 bytes travels compressed, in `text_z`.
PACK_TEXT_FROM = 8 * 1024


def pack_text(text: str) -> bytes | None:
    """The final text compressed for `text_z`, or None when it is short enough to send as `text`."""
    data = text.encode()
    return zlib.compress(data, 6) if len(data) >= PACK_TEXT_FROM else None


class StreamWidget(anywidget.AnyWidget):
    """Header (model, status, Stop button or interrupt hint), collapsible thinking, live text, stats line."""

    #: A small loader: the code and styles come from the kernel's one `StreamCode` model (code.py).
    _esm = _HERE / "stream_loader.js"
    code = traitlets.Instance(StreamCode).tag(sync=True, **widget_serialization)

    model_name = traitlets.Unicode("").tag(sync=True)
    status = traitlets.Unicode("waiting").tag(sync=True)
    #: One line, "Type: message", redacted.
    error = traitlets.Unicode("").tag(sync=True)
    #: "async": the page offers a Stop button while the stream is active. "blocking": the
    #: kernel handles no click until the cell ends, so the page shows a hint to interrupt the
    #: kernel instead (see StreamView.run). "": not started yet, neither. Set before the
    #: widget is displayed whenever it is known then, so the page never draws a dead button.
    mode = traitlets.Unicode("").tag(sync=True)
    sep = traitlets.Unicode("").tag(sync=True)
    tint = traitlets.Bool(False).tag(sync=True)
    #: The final text, set once at the end (a long plain-mode answer goes in `text_z` instead).
    text = traitlets.Unicode("").tag(sync=True)
    #: A long final text, zlib-compressed UTF-8 (see `pack_text` and the module docstring).
    text_z = traitlets.Bytes(b"").tag(sync=True)
    #: The final reasoning (a reasoning model's thinking, apart from `text`), set once at the end.
    reasoning = traitlets.Unicode("").tag(sync=True)
    #: End offsets of each token in `text`, set at the end in boundary mode only.
    offsets = traitlets.List(traitlets.Int()).tag(sync=True)
    #: Final stats (chunks, ttft, tokens_per_second, elapsed, status).
    stats = traitlets.Dict().tag(sync=True)
    #: Render the answer as Markdown while it streams (untrusted, so JupyterLab sanitises it).
    markdown = traitlets.Bool(False).tag(sync=True)
    #: In a conversation: {"name", "turn", "left_out", "label"} (models.chat.ChatTurn); {} otherwise.
    #: The header shows `label` after the model's name (see widget_sink.header_name).
    chat = traitlets.Dict().tag(sync=True)

    #: Teaching features: the token inspector (hover/focus a token), probability colouring
    #: ("prob" or ""), and the live timing plot. Any of them turns per-token metadata on.
    inspect = traitlets.Bool(False).tag(sync=True)
    color = traitlets.Unicode("").tag(sync=True)
    timeline = traitlets.Bool(False).tag(sync=True)
    #: The model's refusal (apart from `text`), set once at the end.
    refusal = traitlets.Unicode("").tag(sync=True)
    #: The assembled tool calls, set once at the end (see the wire format above).
    tool_calls: traitlets.List[Any] = traitlets.List().tag(sync=True)
    #: Every token's metadata entry ([t, lp] or [t, lp, top]), set once at the end when a feature is on.
    meta: traitlets.List[Any] = traitlets.List().tag(sync=True)

    @traitlets.default("code")
    def _default_code(self) -> StreamCode:
        return shared_code()

    @property
    def metadata_on(self) -> bool:
        """Whether messages carry per-token metadata ("m")."""
        return self.inspect or bool(self.color) or self.timeline

    @property
    def boundaries(self) -> bool:
        """Whether the page must know where each token starts (sep, tint, or a teaching feature)."""
        return bool(self.sep) or self.tint or self.metadata_on

    def send_pieces(
        self,
        pieces: list[str],
        stats: list[Any],
        reset: bool = False,
        reasoning: str = "",
        meta: list[Any] | None = None,
        tools: list[list[Any]] | None = None,
        refusal: str = "",
    ) -> None:
        message: dict[str, Any] = {"c": pieces} if self.boundaries else {"d": "".join(pieces)}
        if meta is not None:
            message["m"] = meta
        if reasoning:
            message["r"] = reasoning
        if tools:
            message["t"] = tools
        if refusal:
            message["f"] = refusal
        message["s"] = stats
        if reset:
            message["reset"] = 1
        self.send(message)
