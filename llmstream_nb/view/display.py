"""The MIME bundle a view is displayed with: the widget plus a text fallback.

Viewers without a widget manager (GitHub, nbviewer, nbconvert, a kernel-less
JupyterLab) show the richest type they know instead of "Loading widget...". The view is
displayed with a display_id and updated once at the end, so the saved output carries the
final answer as text/plain (and text/markdown when the view renders Markdown).
"""

from __future__ import annotations

import re
from typing import Any

from ..status import Status

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def placeholder(model_name: str) -> str:
    return f"[{model_name or 'llmstream'}: answer streaming; run the notebook to see it]"


def fallback_text(text: str, status: str, error_line: str = "") -> str:
    """The answer as plain text, with a last line saying why it is incomplete, if it is."""
    if status == Status.ERROR:
        return f"{text}\n[error: {error_line}]" if text else f"[error: {error_line}]"
    if status == Status.STOPPED:
        return f"{text}\n[stopped]" if text else "[stopped]"
    return text


_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_CODE_SPAN_OR_MARKUP = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)|\\[\s\S]|!\[|[<&]")
_SCRIPT_LINK = re.compile(r"(?i)(\]\(\s*|^ {0,3}\[[^\]]+\]:\s*)(javascript|vbscript|data):", re.MULTILINE)


def inert_markdown(text: str) -> str:
    """The answer as Markdown that carries no live HTML and loads nothing, for the text/markdown fallback.

    A trusted notebook opened where widgets cannot render (JupyterLab without ipywidgets)
    renders this unsanitised, so raw HTML is escaped outside code (`<` and `&`: tags and
    entity tricks become text) and script links are defused. Images would be fetched from
    wherever the answer points (a way to carry data out), so the `!` that starts one is
    escaped: `![alt](url)`, `![alt][ref]` and `![alt]` become links, shown, never loaded.
    Backslash escapes are kept as they are. Code keeps its characters.
    """
    lines, fence = [], ""
    for line in text.splitlines(keepends=True):
        match = _FENCE.match(line)
        if fence:
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
                fence = ""
            lines.append(line)
        elif match:
            fence = match.group(1)
            lines.append(line)
        else:
            lines.append(_CODE_SPAN_OR_MARKUP.sub(_escape_outside_code, line))
    return _SCRIPT_LINK.sub(r"\1#\2-", "".join(lines))


def _escape_outside_code(match: re.Match[str]) -> str:
    found = match.group(0)
    if match.group(1) or found.startswith("\\"):
        return found
    return {"<": "&lt;", "&": "&amp;", "![": "\\!["}[found]


def bundle(model_id: str, plain: str, markdown: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        WIDGET_MIME: {"version_major": 2, "version_minor": 1, "model_id": model_id},
        "text/plain": plain,
    }
    if markdown is not None:
        data["text/markdown"] = markdown
    return data


def show_bundle(data: dict[str, Any]) -> Any:
    """Display `data` and return the handle that updates this output later."""
    from IPython.display import display

    return display(data, raw=True, display_id=True)
