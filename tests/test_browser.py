"""What a person sees in JupyterLab: answers appear while they stream, Stop stops, markup stays text.

Runs JupyterLab on a temporary copy of notebooks/ and drives it with headless Debian Chromium
(see browser_harness.py). Waits are generous and nothing is asserted on wall-clock time: a
loaded two-core CI machine only makes these tests slower.
"""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest

pytest.register_assert_rewrite("browser_harness")  # before the import below, so its asserts report well

from browser_harness import (
    SCRATCH,
    LabServer,
    PageWatch,
    cell_starting_with,
    cell_stdout,
    kernel_value,
    open_notebook,
    run_and_wait,
    run_code,
)

pytest_plugins = ["browser_harness"]
pytestmark = pytest.mark.browser

QUICKSTART = "01_quickstart.ipynb"
FIRST_MAGIC_CELL = "%%llmstream\nWrite me a 1 verse song about sparkling water."
ASYNC_MAGIC_CELL = "%%llmstream -m demo --async"
MARKUP_TOKENS = ["<img src=x onerror=alert(1)>", "<script>window.__pwned=1</script>"]
MARKDOWN_TOKENS = [*MARKUP_TOKENS, "\n\n[a link](javascript:alert(3)) <b onmouseover=alert(4)>bold</b>"]

# Installed on a cell before it runs: records the view's status and text length at every DOM
# change, so the test sees the stream's intermediate states however fast the answer comes.
RECORD_VIEW = """(cell) => {
    const samples = [];
    const sample = () => {
        const view = cell.querySelector(".llmstream-view");
        if (!view) return;
        const text = view.querySelector(".llmstream-text");
        samples.push({
            status: view.querySelector(".llmstream-status").dataset.status,
            length: text.textContent.length,
            visible: text.getBoundingClientRect().height > 0,
        });
    };
    new MutationObserver(sample).observe(cell, {subtree: true, childList: true, characterData: true, attributes: true});
    cell.llmstreamSamples = samples;
}"""


def expect(locator: Any) -> Any:
    """Playwright's `expect`, imported on use: without playwright this module must still import, to skip."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def view_parts(cell: Any) -> tuple[Any, Any, Any]:
    """The view's status badge, text and Stop button inside a cell's output."""
    view = cell.locator(".llmstream-view")
    return view.locator(".llmstream-status"), view.locator(".llmstream-text"), view.locator(".llmstream-stop")


def shown_text(text: Any) -> str:
    """The text exactly as drawn (textContent: no layout-dependent whitespace, unlike innerText)."""
    return text.evaluate("node => node.textContent")


def load_extension(page: Any) -> None:
    run_and_wait(page, cell_starting_with(page, "%load_ext llmstream_nb"))


def test_widget_front_ends_are_installed() -> None:
    """JupyterLab draws the view with the anywidget and ipywidgets front ends from the venv."""
    listing = subprocess.run(
        [sys.executable, "-m", "jupyter", "labextension", "list"], capture_output=True, text=True, check=True
    )
    output = listing.stdout + listing.stderr  # the list goes to stderr on some versions
    for extension in ("anywidget", "@jupyter-widgets/jupyterlab-manager"):
        assert re.search(rf"{re.escape(extension)} v\S+ \S*enabled\S* \S*OK", output), output


def test_a_cell_output_is_visible(page: Any, lab: LabServer) -> None:
    """The harness itself: JupyterLab opens a notebook on the venv's kernel and shows a cell's output."""
    open_notebook(page, lab, SCRATCH)
    cell = run_code(page, "import sys\nprint(sys.prefix)")
    assert cell_stdout(cell) == f"{sys.prefix}\n", "the kernel does not run this venv's Python"


def test_the_answer_shows_while_it_streams_and_whole_at_the_end(page: Any, lab: LabServer) -> None:
    open_notebook(page, lab, QUICKSTART)
    load_extension(page)
    cell = cell_starting_with(page, FIRST_MAGIC_CELL)
    cell.evaluate(RECORD_VIEW)
    run_and_wait(page, cell)
    status, text, stop = view_parts(cell)
    expect(status).to_have_text("done")

    samples = cell.evaluate("cell => cell.llmstreamSamples")
    live = [s["length"] for s in samples if s["status"] == "streaming" and s["length"] > 0 and s["visible"]]
    assert len(set(live)) >= 2, f"the text never grew visibly while streaming; samples: {samples}"
    assert live == sorted(live), f"the text shrank while streaming: {live}"

    expect(stop).to_be_hidden()
    expect(cell.locator(".llmstream-stats")).to_contain_text("chunks")
    shown = shown_text(text)
    assert shown and shown == kernel_value(page, "_llmstream.text")


def test_stop_ends_an_async_stream_and_keeps_the_partial_text(page: Any, lab: LabServer) -> None:
    open_notebook(page, lab, QUICKSTART)
    load_extension(page)
    cell = cell_starting_with(page, ASYNC_MAGIC_CELL)
    run_and_wait(page, cell)  # returns at once; the demo model then sends 5 tokens a second
    status, text, stop = view_parts(cell)
    expect(status).to_have_text("streaming")
    expect(text).not_to_be_empty()

    stop.click()
    expect(status).to_have_text("stopped")
    expect(stop).to_be_hidden()
    partial = shown_text(text)
    page.wait_for_timeout(1500)  # room for several more tokens, were any still coming
    assert shown_text(text) == partial, "the text kept growing after Stop"
    kernel = kernel_value(page, "{'status': _llmstream.status, 'text': _llmstream.text}")
    assert kernel == {"status": "stopped", "text": partial}
    assert partial


def stream_tokens(page: Any, tokens: list[str], options: str) -> Any:
    """Run a cell that streams `tokens` from a plain iterator into a StreamView; returns the cell."""
    return run_code(
        page,
        f"from llmstream_nb import StreamView\nStreamView(iter({tokens!r}), model='markup'{options}).run()",
    )


def assert_nothing_ran(page: Any, page_watch: PageWatch) -> None:
    page.wait_for_timeout(1000)  # an <img src=x> has failed to load and fired onerror by now
    assert page_watch.dialogs == [], "a dialog opened: markup from the model ran"
    assert page.evaluate("() => window.__pwned") is None, "a <script> from the model ran"


@pytest.mark.parametrize("options", ["", ", sep='|'", ", tint=True"], ids=["plain", "sep", "tint"])
def test_markup_in_tokens_is_shown_as_text(page: Any, lab: LabServer, page_watch: PageWatch, options: str) -> None:
    """A model's answer is text: markup in it shows as characters and never becomes elements."""
    open_notebook(page, lab, SCRATCH)
    cell = stream_tokens(page, MARKUP_TOKENS, options)
    status, text, _ = view_parts(cell)
    expect(status).to_have_text("done")
    for token in MARKUP_TOKENS:
        expect(text).to_contain_text(token)
    assert cell.locator(".llmstream-view img, .llmstream-view script").count() == 0
    assert_nothing_ran(page, page_watch)


def test_markup_in_a_markdown_answer_is_sanitised(page: Any, lab: LabServer, page_watch: PageWatch) -> None:
    """markdown=True hands the finished answer to JupyterLab's Markdown renderer: HTML in it may
    become elements, but its sanitiser must drop scripts, event handlers and javascript: links."""
    open_notebook(page, lab, SCRATCH)
    cell = stream_tokens(page, MARKDOWN_TOKENS, ", markdown=True")
    status, _, _ = view_parts(cell)
    expect(status).to_have_text("done")
    view = cell.locator(".llmstream-view")
    expect(view.locator("b", has_text="bold")).to_be_visible()  # the Markdown was rendered
    assert view.locator("script").count() == 0
    risky = view.evaluate(
        """(view) => [...view.querySelectorAll("*")].flatMap((node) => [...node.attributes])
            .filter((a) => a.name.startsWith("on") || a.value.trim().toLowerCase().startsWith("javascript:"))
            .map((a) => `${a.ownerElement.tagName} ${a.name}=${a.value}`)"""
    )
    assert risky == []
    assert_nothing_ran(page, page_watch)
