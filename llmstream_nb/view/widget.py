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
page -> kernel, custom messages:
  {"action": "stop"}   the Stop button (offered in async mode only)
  {"action": "sync"}   a model created mid-stream (page reload) asks for the text so far

Synced state is set a few times per stream, never per token: `status` when the first
token arrives and at the end, and at the end `text` (and `offsets` in boundary mode),
`reasoning`, `stats` and `error`, so a notebook saved with widget state keeps the answer
(and the thinking) and a view re-created without a kernel draws it from state.

Markdown (`markdown=True`) is rendered by the page from the final `text`, through
JupyterLab's rendermime with the model marked untrusted, and a second pass after its
sanitiser turns what would load something (images, media, style url()) into text: an
answer never makes the page fetch. It is not an Output widget with a Markdown display:
outputs made in a live session are trusted, and JupyterLab then renders their HTML
unsanitised (measured: a `<script>` or `onerror=` in the answer runs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anywidget
import traitlets

_HERE = Path(__file__).parent


class StreamWidget(anywidget.AnyWidget):
    """Header (model, status, Stop button or interrupt hint), collapsible thinking, live text, stats line."""

    _esm = _HERE / "stream_widget.js"
    _css = _HERE / "stream_widget.css"

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
    #: The final text, set once at the end.
    text = traitlets.Unicode("").tag(sync=True)
    #: The final reasoning (a reasoning model's thinking, apart from `text`), set once at the end.
    reasoning = traitlets.Unicode("").tag(sync=True)
    #: End offsets of each token in `text`, set at the end in boundary mode only.
    offsets = traitlets.List(traitlets.Int()).tag(sync=True)
    #: Final stats (chunks, ttft, tokens_per_second, elapsed, status).
    stats = traitlets.Dict().tag(sync=True)
    #: Render `text` as Markdown once the stream ends (untrusted, so JupyterLab sanitises it).
    markdown = traitlets.Bool(False).tag(sync=True)

    @property
    def boundaries(self) -> bool:
        """Whether the page must know where each token starts (sep or tint)."""
        return bool(self.sep) or self.tint

    def send_pieces(self, pieces: list[str], stats: list[Any], reset: bool = False, reasoning: str = "") -> None:
        message: dict[str, Any] = {"c": pieces} if self.boundaries else {"d": "".join(pieces)}
        if reasoning:
            message["r"] = reasoning
        message["s"] = stats
        if reset:
            message["reset"] = 1
        self.send(message)
