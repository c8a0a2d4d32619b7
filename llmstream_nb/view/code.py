"""The view's code and styles, held once per kernel by one model that every view refers to.

Each `StreamWidget` used to carry its own copy of the JavaScript (35 KB) and CSS (6 KB), and a
notebook saved with widget state kept one copy per view. Now a view's `_esm` is a small loader
(stream_loader.js) that fetches them from this model, once a page; the saved state holds them once.

The loader imports the shared module once per page (cached on `globalThis` by this model's id) and
calls its default export per view model, as anywidget would: each view keeps its own closure. Every
view's `initialize` waits for the module, so anywidget still holds comm messages until it is ready.

The view's code is split into ES modules with one job each. A module imported from a blob URL
cannot resolve a relative import, so `linked` points each `from "./name.js"` of the view's module at
a data: URL holding that helper module (which imports nothing): still one module text for the page,
and nothing more saved with each view.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import ipywidgets
import traitlets

_HERE = Path(__file__).parent


class StreamCode(ipywidgets.Widget):
    """A model without a view (ipywidgets' base WidgetModel): the view's module, its styles and the
    module that repairs views JupyterLab failed to restore (restore_watch.js)."""

    esm = traitlets.Unicode("").tag(sync=True)
    css = traitlets.Unicode("").tag(sync=True)
    restore_esm = traitlets.Unicode("").tag(sync=True)


_RELATIVE_IMPORT = re.compile(r'from "\./([\w.-]+\.js)"')


def linked(path: Path) -> str:
    """The module at `path`, its relative imports (of sibling modules that import nothing) made data: URLs."""

    def inline(found: re.Match[str]) -> str:
        source = (path.parent / found[1]).read_bytes()
        return f'from "data:text/javascript;base64,{base64.b64encode(source).decode()}"'

    return _RELATIVE_IMPORT.sub(inline, path.read_text(encoding="utf-8"))


_shared: StreamCode | None = None


def shared_code() -> StreamCode:
    """This kernel's code model, made on first use and again if it was closed (`Widget.close_all()`)."""
    global _shared
    if _shared is None or _shared.comm is None:
        _shared = StreamCode(
            esm=linked(_HERE / "stream_widget.js"),
            css=(_HERE / "stream_widget.css").read_text(encoding="utf-8"),
            restore_esm=(_HERE / "restore_watch.js").read_text(encoding="utf-8"),
        )
    return _shared
