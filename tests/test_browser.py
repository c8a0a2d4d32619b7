"""What a person sees in JupyterLab: answers appear while they stream, Stop stops an async view,
a blocking one says to interrupt the kernel and stops with one line of error, markup stays text
and a Markdown answer loads nothing.

Runs JupyterLab on a temporary copy of notebooks/ and drives it with headless Debian Chromium
(see browser_harness.py). Waits are generous and nothing is asserted on wall-clock time: a
loaded two-core CI machine only makes these tests slower.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.register_assert_rewrite("browser_harness")  # before the import below, so its asserts report well

from browser_harness import (
    SCRATCH,
    LabServer,
    PageWatch,
    add_cell,
    cell_starting_with,
    cell_stdout,
    kernel_value,
    open_notebook,
    run_and_wait,
    run_cell,
    run_code,
)

pytest_plugins = ["browser_harness"]
pytestmark = pytest.mark.browser

QUICKSTART = "01_quickstart.ipynb"
FIRST_MAGIC_CELL = "%%llmstream\nWrite me a 1 verse song about sparkling water."
ASYNC_MAGIC_CELL = "%%llmstream -m demo --async"
MARKUP_TOKENS = ["<img src=x onerror=alert(1)>", "<script>window.__pwned=1</script>"]
MARKDOWN_TOKENS = [*MARKUP_TOKENS, "\n\n[a link](javascript:alert(3)) <b onmouseover=alert(4)>bold</b>"]
INTERRUPT_HINT = "Interrupt the kernel (\u25a0) to stop"
INTERRUPT_LINE = "KeyboardInterrupt: stream stopped by interrupt; the partial answer is kept in the view"
# A blocking view that cannot end while the test looks (5 tokens a second, 2,000 tokens).
BLOCKING_CELL = """from llmstream_nb import get_model, show
show(get_model("demo", tokens_per_second=5), "Tell me about trains", options=dict(max_tokens=2000, min_tokens=2000))"""
# TEST-NET-2 (RFC 5737): requests there show up in the page's log and reach nobody.
IMAGE_HOST = "198.51.100.7"
IMAGE_TOKENS = [
    "An answer with pictures.\n\n",
    f"![tracker](http://{IMAGE_HOST}/markdown.png?leak=secret) ",
    f'<img src="http://{IMAGE_HOST}/html.png" alt="raw"> ',
    "![relative](leak-relative.png) ",
    "![by reference][logo] ",
    f'<video poster="http://{IMAGE_HOST}/poster.png" src="http://{IMAGE_HOST}/video.mp4"></video> ',
    f'<input type="image" src="http://{IMAGE_HOST}/input.png"> ',
    f'<span style="background-image: url(http://{IMAGE_HOST}/css.png)">styled</span> ',
    "[a relative link](leak-link.md) **bold**\n\n",
    f"[logo]: http://{IMAGE_HOST}/reference.png\n",
]
FETCHING_ELEMENTS = "img, picture, video, audio, source, track, input[type=image], iframe, object, embed, svg"

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


def interrupt_hint(cell: Any) -> Any:
    return cell.locator(".llmstream-view .llmstream-hint")


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
    # The provider reported usage: the page's stats line says it, as the kernel counted it.
    counts = kernel_value(page, "'tokens %(input_tokens)s in, %(output_tokens)s out' % _llmstream.stats")
    expect(cell.locator(".llmstream-stats")).to_contain_text(counts)


def test_stop_ends_an_async_stream_and_keeps_the_partial_text(page: Any, lab: LabServer) -> None:
    open_notebook(page, lab, QUICKSTART)
    load_extension(page)
    cell = cell_starting_with(page, ASYNC_MAGIC_CELL)
    run_and_wait(page, cell)  # returns at once; the demo model then sends 5 tokens a second
    status, text, stop = view_parts(cell)
    expect(status).to_have_text("streaming")
    expect(text).not_to_be_empty()
    expect(stop).to_be_visible()  # the task runs on the kernel's loop: the click is handled
    expect(interrupt_hint(cell)).to_be_hidden()

    stop.click()
    expect(status).to_have_text("stopped")
    expect(stop).to_be_hidden()
    partial = shown_text(text)
    page.wait_for_timeout(1500)  # room for several more tokens, were any still coming
    assert shown_text(text) == partial, "the text kept growing after Stop"
    kernel = kernel_value(page, "{'status': _llmstream.status, 'text': _llmstream.text}")
    assert kernel == {"status": "stopped", "text": partial}
    assert partial


def test_a_blocking_cell_says_to_interrupt_and_stops_with_one_line(page: Any, lab: LabServer) -> None:
    """A blocking cell keeps the kernel from handling clicks: no Stop button (it could not work),
    the interrupt hint in its place; the interrupt stops the view and shows one line of error."""
    open_notebook(page, lab, SCRATCH)
    cell = add_cell(page, BLOCKING_CELL)
    run_cell(page, cell)
    status, text, stop = view_parts(cell)
    hint = interrupt_hint(cell)
    expect(status).to_have_text("streaming")
    expect(text).not_to_be_empty()
    expect(hint).to_be_visible()
    expect(hint).to_have_text(INTERRUPT_HINT)
    expect(stop).to_be_hidden()

    page.evaluate("() => window.jupyterapp.commands.execute('notebook:interrupt-kernel')")  # the \u25a0 button
    expect(status).to_have_text("stopped")
    expect(hint).to_be_hidden()
    expect(stop).to_be_hidden()
    assert shown_text(text), "the partial text is gone"
    error = cell.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    expect(error).to_have_count(1)
    assert error.evaluate("node => node.textContent").strip() == INTERRUPT_LINE


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


def test_a_markdown_answer_loads_nothing(page: Any, lab: LabServer, page_watch: PageWatch) -> None:
    """An answer that names images (Markdown, HTML, by reference, relative, as a poster, an input,
    a CSS background) shows them as text and makes the page fetch none of them: an image URL
    can carry data to whoever wrote it. Links stay links (they load only when clicked)."""
    open_notebook(page, lab, SCRATCH)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    cell = stream_tokens(page, IMAGE_TOKENS, ", markdown=True")
    status, _, _ = view_parts(cell)
    expect(status).to_have_text("done")
    rendered = cell.locator(".llmstream-view .llmstream-markdown")
    expect(rendered.locator("strong", has_text="bold")).to_be_visible()  # the Markdown was rendered
    for shown in (
        f"[image: tracker](http://{IMAGE_HOST}/markdown.png?leak=secret)",
        f"[image: raw](http://{IMAGE_HOST}/html.png)",
        "[image: relative](leak-relative.png)",
        f"[image: by reference](http://{IMAGE_HOST}/reference.png)",
        f"[video](http://{IMAGE_HOST}/video.mp4)",
        f"[image](http://{IMAGE_HOST}/input.png)",
    ):
        expect(rendered).to_contain_text(shown)
    expect(rendered.locator("a", has_text="a relative link")).to_have_count(1)
    page.wait_for_timeout(1500)  # an image would have been requested by now
    leaked = [url for url in requests if IMAGE_HOST in url or "leak-" in url]
    assert leaked == [], f"the answer made the page fetch: {leaked}"
    view = cell.locator(".llmstream-view")
    assert view.locator(FETCHING_ELEMENTS).count() == 0
    assert view.locator("[style*=url], [src], [srcset], [poster], [background]").count() == 0
    assert_nothing_ran(page, page_watch)


# A reasoning model's stream, held at two gates: thinking (with markup in it), then the first
# word of the answer, then the rest. Async, so the test can look at each stage.
THOUGHT = "Hmm. <img src=x onerror=alert(1)> <script>window.__pwned=1</script> <b>bold?</b>"
THINKING_CELL = f"""import asyncio
from llmstream_nb import Chunk, show
answer_starts, answer_ends = asyncio.Event(), asyncio.Event()
async def thinking():
    yield Chunk({THOUGHT!r}, kind="reasoning")
    await answer_starts.wait()
    yield "The answer "
    await answer_ends.wait()
    yield "is tea."
view = show(thinking())"""


def test_reasoning_shows_dimmed_above_the_answer_and_folds_away(
    page: Any, lab: LabServer, page_watch: PageWatch
) -> None:
    """The thinking section is open while the model thinks, dimmed, markup as text; it closes when
    the answer starts, and a click (or Enter on its summary) opens and closes it again."""
    open_notebook(page, lab, SCRATCH)
    cell = run_code(page, THINKING_CELL)
    status, text, _ = view_parts(cell)
    view = cell.locator(".llmstream-view")
    section, summary = view.locator("details.llmstream-thinking"), view.locator("summary")
    reasoning = view.locator(".llmstream-reasoning")
    expect(status).to_have_text("streaming")  # thinking counts as streaming
    expect(reasoning).to_be_visible()
    expect(summary).to_have_text("Thinking\u2026")
    assert shown_text(reasoning) == THOUGHT and shown_text(text) == ""
    assert view.locator("img, script, b").count() == 0  # markup in the reasoning stays text
    above = view.evaluate(
        """(view) => {
            const [thinking, answer] = [".llmstream-thinking", ".llmstream-text"].map((s) => view.querySelector(s));
            return {
                above: thinking.getBoundingClientRect().bottom <= answer.getBoundingClientRect().top,
                dimmed: getComputedStyle(thinking).color !== getComputedStyle(answer).color,
            };
        }"""
    )
    assert above == {"above": True, "dimmed": True}

    run_code(page, "answer_starts.set()")
    expect(text).to_have_text("The answer ")
    expect(status).to_have_text("streaming")
    expect(reasoning).to_be_hidden()  # folded as soon as the answer started, before it ended
    expect(summary).to_have_text("Thinking")
    assert section.evaluate("node => node.open") is False

    run_code(page, "answer_ends.set()")
    expect(status).to_have_text("done")
    expect(text).to_have_text("The answer is tea.")
    expect(reasoning).to_be_hidden()
    summary.click()
    expect(reasoning).to_be_visible()
    assert shown_text(reasoning) == THOUGHT
    summary.focus()
    page.keyboard.press("Enter")
    expect(reasoning).to_be_hidden()
    assert kernel_value(page, "[view.text, view.reasoning]") == ["The answer is tea.", THOUGHT]
    assert_nothing_ran(page, page_watch)


# Views that ended, as a notebook saved with widget state keeps them: (mode, status).
ENDED_VIEWS = [("blocking", "done"), ("blocking", "stopped"), ("async", "done"), ("async", "stopped")]


def write_saved_widgets_notebook(root: Path, name: str, outputs: list[tuple[Any, str, str]]) -> str:
    """A notebook of one cell per (widget, cell source, text/plain) whose output is the widget, saved with
    the widget state only (no kernel holds these models), signed as JupyterLab signs what a person saves:
    an untrusted notebook shows text/plain instead of widgets. The key and signatures live in the
    harness's JUPYTER_DATA_DIR. The widgets are closed once embedded."""
    import nbformat
    from ipywidgets.embed import dependency_state, embed_data
    from nbformat.sign import NotebookNotary

    widgets = [widget for widget, _, _ in outputs]
    embedded = embed_data(views=widgets, state=dependency_state(widgets, drop_defaults=False), drop_defaults=False)
    cells = []
    for (_, source, plain), spec in zip(outputs, embedded["view_specs"]):
        output = nbformat.v4.new_output(
            "display_data", data={"application/vnd.jupyter.widget-view+json": spec, "text/plain": plain}
        )
        cells.append(nbformat.v4.new_code_cell(source, outputs=[output], execution_count=1))
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    notebook.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": embedded["manager_state"]}
    for widget in widgets:
        widget.close()
    NotebookNotary(data_dir=str(root.parent / "data")).sign(notebook)
    nbformat.write(notebook, root / name)
    return name


def write_saved_views_notebook(root: Path) -> str:
    """A notebook whose outputs are ended views, restored by JupyterLab from the saved widget state:
    what a notebook saved after its streams ended reopens as."""
    from llmstream_nb.view.widget import StreamWidget

    outputs = [
        (
            StreamWidget(
                model_name="saved",
                mode=mode,
                status=status,
                text=f"{mode} {status} answer",
                stats={"chunks": 3, "ttft": 0.1, "tokens_per_second": 10.0, "elapsed": 0.3, "status": status},
            ),
            f"# {mode} {status}",
            f"{mode} {status} answer",
        )
        for mode, status in ENDED_VIEWS
    ]
    return write_saved_widgets_notebook(root, "_saved_views.ipynb", outputs)


def test_a_view_restored_from_saved_state_offers_neither_stop_nor_hint(page: Any, lab: LabServer) -> None:
    open_notebook(page, lab, write_saved_views_notebook(lab.root))
    for mode, status in ENDED_VIEWS:
        cell = cell_starting_with(page, f"# {mode} {status}")
        shown_status, text, stop = view_parts(cell)
        expect(shown_status).to_have_text(status)
        expect(text).to_have_text(f"{mode} {status} answer")
        expect(stop).to_be_hidden()
        expect(interrupt_hint(cell)).to_be_hidden()


# -- teaching features: token inspector, probability colour, timing plot ------------------

INSPECT_TOKENS = ["Hello", " wor ld", "\n\t<b>bold</b>", "<img src=x onerror=alert(1)>"]
NO_PROBABILITIES = "no probabilities from this model: ask with --logprobs"
PROB_CELL = """from llmstream_nb import StreamView, get_model
model = get_model("demo", ttft=0, tokens_per_second=200)
StreamView(model.stream("Tell me about trains", max_tokens=40, seed=2, logprobs=True, top_logprobs=3), color="prob").run()"""
TIMELINE_CELL = """from llmstream_nb import StreamView, get_model
timeline_view = StreamView(get_model("demo", ttft=0.2, tokens_per_second=15).astream(
    "Tell me about trains", max_tokens=80, min_tokens=80, seed=4), timeline=True).start()"""


def keep_screenshot(cell: Any, name: str) -> None:
    """A picture of the view (and its inspector, if shown) for a person to look at, when
    LLMSTREAM_BROWSER_SCREENSHOTS names a folder."""
    import os

    folder = os.environ.get("LLMSTREAM_BROWSER_SCREENSHOTS")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    boxes = [cell.locator(".llmstream-view").bounding_box()]
    inspector = cell.page.locator(".llmstream-inspector")
    if inspector.count() and inspector.is_visible():
        boxes.append(inspector.bounding_box())
    left, top = min(b["x"] for b in boxes), min(b["y"] for b in boxes)
    right = max(b["x"] + b["width"] for b in boxes)
    bottom = max(b["y"] + b["height"] for b in boxes)
    clip = {"x": left, "y": top, "width": right - left, "height": bottom - top}
    cell.page.screenshot(path=str(Path(folder) / f"{name}.png"), clip=clip)


def test_the_inspector_shows_a_token_on_hover_and_focus(page: Any, lab: LabServer, page_watch: PageWatch) -> None:
    """Hover or keyboard focus shows a token's index and exact text, whitespace made visible, markup as text."""
    open_notebook(page, lab, SCRATCH)
    cell = stream_tokens(page, INSPECT_TOKENS, ", inspect=True")
    status, text, _ = view_parts(cell)
    expect(status).to_have_text("done")
    tokens = text.locator(".llmstream-token")
    expect(tokens).to_have_count(len(INSPECT_TOKENS))
    # One tab stop for the whole answer (roving tabindex; the arrow keys: test_browser_keyboard.py).
    assert tokens.evaluate_all("nodes => nodes.map(n => n.tabIndex)") == [0] + [-1] * (len(INSPECT_TOKENS) - 1)
    inspector = page.locator(".llmstream-inspector")  # shown on the page's body, above the output area
    expect(inspector).to_be_hidden()

    tokens.nth(1).hover()
    expect(inspector).to_be_visible()
    expect(inspector.locator(".llmstream-inspector-title")).to_have_text("token #1")
    expect(inspector.locator(".llmstream-inspector-text").first).to_have_text("\u00b7wor\u00b7ld")
    expect(inspector).to_contain_text("arrived")
    expect(inspector).to_contain_text("no logprob")
    assert tokens.nth(1).get_attribute("aria-describedby") == inspector.get_attribute("id")
    keep_screenshot(cell, "inspector-hover")

    page.mouse.move(0, 0)
    expect(inspector).to_be_hidden()
    tokens.nth(2).focus()  # keyboard users reach tokens with Tab
    expect(inspector).to_be_visible()
    expect(inspector.locator(".llmstream-inspector-title")).to_have_text("token #2")
    expect(inspector.locator(".llmstream-inspector-text").first).to_have_text("\u21b5\u2192<b>bold</b>")
    expect(inspector).to_contain_text("gap")
    tokens.nth(3).focus()
    expect(inspector.locator(".llmstream-inspector-text").first).to_have_text("<img\u00b7src=x\u00b7onerror=alert(1)>")
    assert cell.locator(".llmstream-view img, .llmstream-view b, .llmstream-view script").count() == 0
    assert inspector.locator("img, b, script").count() == 0
    keep_screenshot(cell, "inspector-focus-markup")
    assert_nothing_ran(page, page_watch)


def test_probability_colours_with_a_legend_and_alternatives(page: Any, lab: LabServer) -> None:
    open_notebook(page, lab, SCRATCH)
    cell = run_code(page, PROB_CELL)
    status, text, _ = view_parts(cell)
    expect(status).to_have_text("done")
    tokens = text.locator(".llmstream-token")
    count = tokens.count()
    assert count > 5
    classes = tokens.evaluate_all("nodes => nodes.map(n => [...n.classList].find(c => /^llmstream-p[0-4]$/.test(c)))")
    assert all(classes), f"tokens without a probability colour: {classes}"
    colours = tokens.evaluate_all("nodes => nodes.map(n => getComputedStyle(n).backgroundColor)")
    assert all(c not in ("rgba(0, 0, 0, 0)", "transparent") for c in colours)
    legend = cell.locator(".llmstream-legend")
    expect(legend).to_be_visible()
    expect(legend.locator(".llmstream-legend-bin")).to_have_count(5)
    expect(legend).to_contain_text("<20%")
    expect(legend).to_contain_text(">80%")
    expect(legend).not_to_contain_text(NO_PROBABILITIES)

    tokens.nth(3).hover()
    inspector = page.locator(".llmstream-inspector")  # shown on the page's body, above the output area
    expect(inspector).to_contain_text("logprob")
    expect(inspector).to_contain_text("top alternatives")
    assert inspector.locator(".llmstream-inspector-alt").count() >= 1
    keep_screenshot(cell, "prob-light")
    page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})")
    expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "false")
    page.wait_for_timeout(500)
    tokens.nth(3).hover()
    keep_screenshot(cell, "prob-dark")
    page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})")
    expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "true")


def test_a_source_without_logprobs_says_so_instead_of_colouring(page: Any, lab: LabServer) -> None:
    open_notebook(page, lab, SCRATCH)
    cell = stream_tokens(page, ["no ", "numbers ", "here"], ", color='prob'")
    status, text, _ = view_parts(cell)
    expect(status).to_have_text("done")
    expect(cell.locator(".llmstream-legend")).to_have_text(NO_PROBABILITIES)
    assert cell.locator(".llmstream-token[class*='llmstream-p']").count() == 0
    assert shown_text(text) == "no numbers here"


def test_the_timing_plot_grows_while_streaming(page: Any, lab: LabServer) -> None:
    open_notebook(page, lab, SCRATCH)
    cell = run_code(page, TIMELINE_CELL)  # returns at once; ~15 tokens a second follow
    status, _, _ = view_parts(cell)
    expect(status).to_have_text("streaming")
    plot = cell.locator(".llmstream-timeline svg")
    expect(plot.locator("rect.llmstream-gap").first).to_be_attached()
    first = plot.locator("rect.llmstream-gap").count()
    page.wait_for_timeout(1500)
    expect(status).to_have_text("streaming")
    second = plot.locator("rect.llmstream-gap").count()
    assert second > first, f"the plot did not grow: {first} then {second} gap bars"
    expect(plot.locator("polyline.llmstream-cumulative")).to_have_count(1)
    expect(plot.locator("line.llmstream-ttft")).to_have_count(1)
    expect(plot).to_contain_text("first token")
    expect(status).to_have_text("done", timeout=60_000)
    caption = cell.locator(".llmstream-timeline-caption")
    expect(caption).to_contain_text("tokens so far (80)")
    keep_screenshot(cell, "timeline")


def write_saved_teaching_notebook(root: Path) -> str:
    """One ended view with colour, timeline and inspector, saved with its widget state only."""
    from llmstream_nb.view.widget import StreamWidget

    pieces = ["Saved", " answer", "\n"]
    meta = [[0.5, -0.01, [["Saved", -0.01], ["Kept", -4.6]]], [0.6, -1.2], [0.75, -2.5]]
    widget = StreamWidget(
        model_name="saved",
        mode="blocking",
        status="done",
        text="".join(pieces),
        offsets=[5, 12, 13],
        color="prob",
        timeline=True,
        inspect=True,
        meta=meta,
        stats={"chunks": 3, "ttft": 0.5, "tokens_per_second": 12.0, "elapsed": 0.8, "status": "done"},
    )
    return write_saved_widgets_notebook(root, "_saved_teaching.ipynb", [(widget, "# saved teaching", "Saved answer")])


def test_a_saved_view_redraws_colours_plot_and_inspector_from_state(page: Any, lab: LabServer) -> None:
    open_notebook(page, lab, write_saved_teaching_notebook(lab.root))
    cell = cell_starting_with(page, "# saved teaching")
    _, text, _ = view_parts(cell)
    tokens = text.locator(".llmstream-token")
    expect(tokens).to_have_count(3)
    classes = tokens.evaluate_all("nodes => nodes.map(n => [...n.classList].filter(c => /^llmstream-p/.test(c)))")
    assert classes == [["llmstream-p4"], ["llmstream-p1"], ["llmstream-p0"]]
    expect(cell.locator(".llmstream-legend .llmstream-legend-bin")).to_have_count(5)
    expect(cell.locator(".llmstream-timeline svg rect.llmstream-gap")).to_have_count(2)
    expect(cell.locator(".llmstream-timeline-caption")).to_contain_text("tokens so far (3)")
    tokens.nth(0).hover()
    inspector = page.locator(".llmstream-inspector")
    expect(inspector).to_contain_text("token #0")
    expect(inspector).to_contain_text("first token")
    expect(inspector.locator(".llmstream-inspector-alt")).to_have_count(2)


def test_a_whole_answer_says_it_did_not_stream(page: Any, lab: LabServer) -> None:
    """--no-stream answers whole: the page must not pass one chunk off as a very fast stream."""
    open_notebook(page, lab, SCRATCH)
    run_code(page, "%load_ext llmstream_nb")
    cell = run_code(page, "%%llmstream --no-stream --opt ttft=0 --opt tokens_per_second=0\nTell me about trains.")
    status, text, _ = view_parts(cell)
    expect(status).to_have_text("done")
    stats = cell.locator(".llmstream-view .llmstream-stats")
    expect(stats).to_contain_text("1 chunk: this model does not stream")
    assert "tokens/s" not in stats.text_content()
    assert shown_text(text).strip()
