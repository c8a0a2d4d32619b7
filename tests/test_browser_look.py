"""The view as a person sees it, in JupyterLab's light, dark and high-contrast themes: readable badges
and error lines (contrast computed from the rendered colours), an error on its own line, compare()
columns whose badges stay on one line and a summary styled like a DataFrame, separators that never
start a line nor end the answer, and line breaks visible in the token inspector.

Set LLMSTREAM_DOCS_SCREENSHOTS to a folder to keep a picture of the views in each theme there (the
ones in docs/ were made so).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

pytest.register_assert_rewrite("browser_harness", "test_browser")  # before the imports below

from browser_harness import SCRATCH, LabServer, open_notebook, run_code  # noqa: E402
from test_browser import expect, view_parts  # noqa: E402
from test_browser_markdown import hold, release  # noqa: E402

pytest_plugins = ["browser_harness"]
pytestmark = pytest.mark.browser

THEMES = ["JupyterLab Light", "JupyterLab Dark", "JupyterLab Dark High Contrast"]
WCAG_AA = 4.5  # text contrast, WCAG 2 level AA
DONE_CELL = "from llmstream_nb import StreamView, show\nStreamView(iter(['Tea', ' is', ' calm.']), model='demo').run()"
ERROR_CELL = """def broken():
    yield "Tea is"
    raise ConnectionError("the server at 127.0.0.1:9 went away; start it again and re-run the cell")
show(broken(), model="demo");"""
ERROR_LINE = "ConnectionError: the server at 127.0.0.1:9 went away; start it again and re-run the cell"

# The contrast of an element's text against what is drawn behind it: colours as the page renders
# them (any CSS colour syntax, through a canvas), translucent layers composited up to an opaque one.
CONTRAST = """(el) => {
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 1;
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    const rgba = (css) => {
        ctx.clearRect(0, 0, 1, 1);
        ctx.fillStyle = css;
        ctx.fillRect(0, 0, 1, 1);
        const [r, g, b, a] = ctx.getImageData(0, 0, 1, 1).data;
        return [r, g, b, a / 255];
    };
    const over = ([r, g, b, a], [R, G, B]) => [r * a + R * (1 - a), g * a + G * (1 - a), b * a + B * (1 - a)];
    const layers = [];
    for (let node = el; node; node = node.parentElement) {
        const colour = rgba(getComputedStyle(node).backgroundColor);
        if (colour[3] > 0) layers.push(colour);
        if (colour[3] >= 1) break;
    }
    let behind = [255, 255, 255];
    for (const layer of layers.reverse()) behind = over(layer, behind);
    const text = over(rgba(getComputedStyle(el).color), behind);
    const lum = (rgb) => {
        const [r, g, b] = rgb.map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const [hi, lo] = [lum(text), lum(behind)].sort((a, b) => b - a);
    return (hi + 0.05) / (lo + 0.05);
}"""


def use_theme(page: Any, theme: str) -> None:
    page.evaluate("(theme) => window.jupyterapp.commands.execute('apputils:change-theme', { theme })", theme)
    page.wait_for_function("(theme) => document.body.dataset.jpThemeName === theme", arg=theme)
    page.wait_for_timeout(500)  # the theme's stylesheet applies after the attribute changes


def contrast(locator: Any) -> float:
    return float(locator.evaluate(CONTRAST))


def test_badges_error_lines_and_stats_are_readable_in_light_dark_and_high_contrast(page: Any, lab: LabServer) -> None:
    open_notebook(page, lab, SCRATCH)
    done = run_code(page, DONE_CELL)
    error = run_code(page, ERROR_CELL)
    streaming = hold(page, ["Tea is", " calm"], " and green.", options="")
    expect(view_parts(done)[0]).to_have_text("done")
    expect(view_parts(error)[0]).to_have_text("error")  # the badge says only the state
    expect(view_parts(streaming)[0]).to_have_text("streaming")
    line = error.locator(".llmstream-view .llmstream-error")
    expect(line).to_have_text(ERROR_LINE)  # the whole message, on its own line under the text
    assert line.get_attribute("title") == ERROR_LINE
    text_box = error.locator(".llmstream-view .llmstream-text").bounding_box()
    line_box = line.bounding_box()
    assert text_box and line_box and line_box["y"] >= text_box["y"] + text_box["height"] - 1

    shots = os.environ.get("LLMSTREAM_DOCS_SCREENSHOTS")
    low: list[str] = []
    lowest: dict[str, str] = {}
    for theme in THEMES:
        use_theme(page, theme)
        checked = {
            "done badge": view_parts(done)[0],
            "error badge": view_parts(error)[0],
            "streaming badge": view_parts(streaming)[0],
            "error line": line,
            "model name": done.locator(".llmstream-view .llmstream-model"),
            "stats": done.locator(".llmstream-view .llmstream-stats"),
            "answer": done.locator(".llmstream-view .llmstream-text"),
            "Stop": streaming.locator(".llmstream-view .llmstream-stop"),
        }
        ratios = {name: contrast(locator) for name, locator in checked.items()}
        low += [f"{theme}: {name} {ratio:.2f}:1" for name, ratio in ratios.items() if ratio < WCAG_AA]
        name = min(ratios, key=ratios.__getitem__)
        lowest[theme] = f"{name} {ratios[name]:.2f}:1"
        if shots and theme != THEMES[-1]:
            folder = Path(shots)
            folder.mkdir(parents=True, exist_ok=True)
            slug = "dark" if "Dark" in theme else "light"
            page.locator(".jp-NotebookPanel:visible .jp-Notebook").screenshot(path=str(folder / f"view-{slug}.png"))
    release(page)
    expect(view_parts(streaming)[0]).to_have_text("done")
    print(f"lowest contrast per theme: {lowest}")
    assert low == [], f"text below {WCAG_AA}:1 contrast: {low}"


def test_compare_keeps_badges_on_one_line_and_its_summary_is_a_styled_table(page: Any, lab: LabServer) -> None:
    open_notebook(page, lab, SCRATCH)
    cell = run_code(
        page,
        "from llmstream_nb import compare\n"
        "compare(['demo', 'demo', 'demo'], 'Tell me about trains', options=dict(max_tokens=20), async_=False);",
    )
    table = cell.locator("table.llmstream-compare-summary")
    expect(table.locator("tbody tr")).to_have_count(3)
    for badge in cell.locator(".llmstream-status").all():
        assert badge.evaluate("b => b.getClientRects().length") == 1, f"a badge broke: {badge.text_content()}"
    columns = cell.locator(".widget-hbox").first.bounding_box()
    box = table.bounding_box()
    assert (
        columns
        and box
        and box["x"] >= columns["x"] - 1
        and box["x"] + box["width"] <= columns["x"] + columns["width"] + 1
    )
    assert table.evaluate("t => t.closest('.jp-RenderedHTMLCommon') !== null")
    aligned = table.evaluate(
        """(t) => [...t.querySelectorAll("thead th")].map((th, i) => {
            const td = t.querySelector(`tbody tr td:nth-child(${i + 1})`);
            const [a, b] = [getComputedStyle(th), getComputedStyle(td)];
            return a.textAlign === b.textAlign && parseFloat(b.paddingLeft) > 0 && parseFloat(b.paddingRight) > 0;
        })"""
    )
    assert aligned and all(aligned), f"headers not aligned over their values, or cells without padding: {aligned}"
    assert table.evaluate("t => parseFloat(getComputedStyle(t.querySelector('thead')).borderBottomWidth)") > 0


def test_a_separator_never_starts_a_line_nor_ends_the_answer_and_the_inspector_shows_line_breaks(
    page: Any, lab: LabServer
) -> None:
    open_notebook(page, lab, SCRATCH)
    tokens = ["Roses", " are", " red.\n", "Violets", "\n\n", "are", " blue.\n"]
    cell = run_code(
        page, f"from llmstream_nb import StreamView\nStreamView(iter({tokens!r}), sep='|', inspect=True).run()"
    )
    status, text, _ = view_parts(cell)
    expect(status).to_have_text("done")
    shown = text.evaluate("node => node.textContent")
    assert shown == "Roses| are| red.\nViolets|\n\nare| blue.\n", repr(shown)
    assert not any(line.startswith("|") for line in shown.split("\n")) and not shown.rstrip().endswith("|")
    text.locator(".llmstream-token").nth(2).hover()
    expect(page.locator(".llmstream-inspector .llmstream-inspector-text").first).to_have_text("\u00b7red.\u21b5")


def test_a_view_streaming_off_screen_says_so_and_brings_itself_into_view(page: Any, lab: LabServer) -> None:
    """Run All: the answer streams above while the reader is further down; a small indicator says so
    until the stream ends, and a click on it scrolls the view into sight."""
    open_notebook(page, lab, SCRATCH)
    streaming = hold(page, ["Tea is", " calm"], " and green.", options="")
    expect(view_parts(streaming)[0]).to_have_text("streaming")
    indicator = page.locator("#llmstream-offscreen")
    expect(indicator).to_be_hidden()  # the view is on screen
    run_code(page, "print('\\n'.join(f'line {i}' for i in range(200)))")
    page.locator(".jp-NotebookPanel:visible .jp-WindowedPanel-outer").evaluate("n => { n.scrollTop = n.scrollHeight; }")
    expect(indicator).to_be_visible()
    expect(indicator).to_have_text("\u25b2 streaming above")
    indicator.click()
    expect(streaming.locator(".llmstream-view")).to_be_in_viewport()
    expect(indicator).to_be_hidden()
    page.locator(".jp-NotebookPanel:visible .jp-WindowedPanel-outer").evaluate("n => { n.scrollTop = n.scrollHeight; }")
    expect(indicator).to_be_visible()
    release(page)
    expect(indicator).to_be_hidden()  # nothing streams any more
