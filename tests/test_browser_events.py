"""The events inspector in JupyterLab: `astream_events` as a table in arrival order and as a tree
of runs, for our demo model (`%%llmstream --events`) and for a LangChain chain with nested runs.

Drives JupyterLab in headless Chromium through browser_harness.py, like tests/test_browser.py.
"""

from __future__ import annotations

import os
import re
from typing import Any

import pytest

pytest.register_assert_rewrite("browser_harness")

from browser_harness import SCRATCH, LabServer, PageWatch, open_notebook, run_code

pytest_plugins = ["browser_harness"]
pytestmark = pytest.mark.browser

DEMO_CELL = (
    "%%llmstream -m demo --opt ttft=0 --opt tokens_per_second=200 --events --seed 1 --max-tokens 40 --raw\n"
    "<img src=x onerror=\"document.title='pwned'\"> Tell me about tea."
)
ANSWER = "Tea is calm."
CHAIN_CELL = f"""import itertools
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from llmstream_nb import EventsView

chat = GenericFakeChatModel(messages=itertools.cycle([{ANSWER!r}]))
chain = ChatPromptTemplate.from_template("About {{topic}}") | chat | StrOutputParser()
table = EventsView(chain, {{"topic": "tea"}}).run()"""
CHILDREN = [("prompt", "ChatPromptTemplate"), ("chat_model", "GenericFakeChatModel"), ("parser", "StrOutputParser")]
TEXTS = "nodes => nodes.map(n => n.textContent)"
# Where each name's first letter is drawn (after its indentation).
NAME_LEFT = """nodes => nodes.map(node => {
    const text = node.firstChild, at = text.textContent.search(/\\S/), range = document.createRange();
    range.setStart(text, at);
    range.setEnd(text, at + 1);
    return range.getBoundingClientRect().left;
})"""
LUMINANCE = """(node, property) => {
    const [r, g, b] = getComputedStyle(node)[property].match(/[\\d.]+/g).map(Number);
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
}"""


def require_langchain() -> None:
    """langchain-core is in the test extra: without it, skip here, but fail under CI."""
    try:
        import langchain_core  # noqa: F401
    except ImportError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set and langchain-core (in the test extra) is missing: {exc}", pytrace=False)
        pytest.skip(f"langchain-core is not installed: {exc}")


def show_only(table: Any, kind: str, shown: bool) -> None:
    box = table.locator(".llmstream-events-toggle", has_text=kind).locator("input")
    box.check() if shown else box.uncheck()


def test_the_demo_models_events_in_order_and_by_run(page: Any, lab: LabServer, page_watch: PageWatch) -> None:
    """`%%llmstream --events`: every row in order with its time, markup as text; hidden chunks; one run."""
    from playwright.sync_api import expect

    open_notebook(page, lab, SCRATCH)
    run_code(page, "%load_ext llmstream_nb")
    cell = run_code(page, DEMO_CELL)
    table = cell.locator(".llmstream-events")
    expect(table).to_have_attribute("data-status", "done")
    count = int(table.get_attribute("data-count") or 0)
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(count)
    kinds = rows.locator(".llmstream-events-event").evaluate_all(TEXTS)
    assert kinds[0] == "on_llm_start" and kinds[-1] == "on_llm_end" and set(kinds[1:-1]) == {"on_llm_stream"}
    assert [int(i) for i in rows.locator(".llmstream-events-index").evaluate_all(TEXTS)] == list(range(count))
    times = [float(t) for t in rows.locator(".llmstream-events-ms").evaluate_all(TEXTS)]
    assert times[0] == 0 and times == sorted(times)
    status = table.locator(".llmstream-events-status")
    expect(status).to_have_text(f"done \u00b7 {count} events: 1 start \u00b7 {count - 2} stream \u00b7 1 end")
    assert "<img src=x" in (rows.first.locator(".llmstream-events-text").text_content() or "")
    assert table.locator("img").count() == 0 and page.title() != "pwned"

    show_only(table, "stream", False)  # the start and the end, without the chunks between
    expect(table.locator("tbody tr:visible")).to_have_count(2)
    show_only(table, "stream", True)
    expect(table.locator("tbody tr:visible")).to_have_count(count)

    table.get_by_role("button", name="by run").click()
    expect(table.get_by_role("button", name="by run")).to_have_attribute("aria-pressed", "true")
    expect(table.locator("table")).to_have_count(0)
    run = table.locator(".llmstream-events-run")
    expect(run).to_have_count(1)
    head = run.locator(".llmstream-events-run-head")
    expect(head.locator(".llmstream-events-run-type")).to_have_text("llm")
    expect(head.locator(".llmstream-events-run-name")).to_have_text("demo:ngram")
    expect(head.locator(".llmstream-events-run-state")).to_have_text(re.compile(r"^\d+\.\d ms$"))
    chunks = run.locator(".llmstream-events-chunks")
    expect(chunks.locator("summary")).to_have_text(re.compile(rf"^{count - 2} chunks: "))
    lines = chunks.locator(".llmstream-events-line")
    expect(lines.first).to_be_hidden()  # folded until opened
    chunks.locator("summary").click()
    expect(lines).to_have_count(count - 2)
    expect(lines.first).to_be_visible()
    show_only(table, "stream", False)
    expect(chunks).to_be_hidden()
    assert not page_watch.page_errors and not page_watch.console_errors, page_watch


def test_a_langchain_chains_nested_runs(page: Any, lab: LabServer, page_watch: PageWatch) -> None:
    """prompt | chat model | parser: the runs indented under the chain, then nested as a tree; both themes."""
    from playwright.sync_api import expect

    require_langchain()
    open_notebook(page, lab, SCRATCH)
    cell = run_code(page, CHAIN_CELL)
    table = cell.locator(".llmstream-events")
    expect(table).to_have_attribute("data-status", "done")
    expect(table.locator(".llmstream-events-status")).to_have_text(
        "done \u00b7 23 events: 4 start \u00b7 15 stream \u00b7 4 end"
    )
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(23)

    names = rows.locator(".llmstream-events-name").evaluate_all(TEXTS)
    assert names[0] == "RunnableSequence" and names[3] == "  GenericFakeChatModel"  # indented under the chain
    assert sum(name.startswith("  ") for name in names) == 23 - 7  # all but the chain's start, 5 chunks, end
    name_left = rows.locator(".llmstream-events-name").evaluate_all(NAME_LEFT)
    assert name_left[3] > name_left[0] + 5  # the spaces are drawn, not collapsed
    root_run = rows.first.locator(".llmstream-events-run-cell")
    nested_run = rows.nth(3).locator(".llmstream-events-run-cell")
    short = (root_run.text_content() or "").strip()
    assert re.fullmatch(r"[0-9a-f]{8}", short)
    expect(nested_run.locator(".llmstream-events-parent")).to_have_text(f" ({short})")
    title = nested_run.get_attribute("title") or ""  # the whole ids on hover
    assert re.fullmatch(rf"run [0-9a-f-]{{36}}\nparent [0-9a-f-]{{28}}{short}", title), title

    table.get_by_role("button", name="by run").click()
    tree = table.locator(".llmstream-events-tree")
    root = tree.locator(":scope > .llmstream-events-run")
    expect(root).to_have_count(1)
    root_head = root.locator(":scope > .llmstream-events-run-head")
    expect(root_head.locator(".llmstream-events-run-type")).to_have_text("chain")
    expect(root_head.locator(".llmstream-events-run-output")).to_have_text(ANSWER)
    children = root.locator(":scope > .llmstream-events-run-body > .llmstream-events-run")
    expect(children).to_have_count(3)
    heads = children.locator(":scope > .llmstream-events-run-head")
    assert (
        list(
            zip(
                heads.locator(".llmstream-events-run-type").evaluate_all(TEXTS),
                heads.locator(".llmstream-events-run-name").evaluate_all(TEXTS),
            )
        )
        == CHILDREN
    )
    model_chunks = children.nth(1).locator(".llmstream-events-chunks summary")
    expect(model_chunks).to_have_text("5 chunks: 'Tea' ' ' 'is' ' ' 'calm.'")
    root_head.click()  # a run folds away with everything it started
    expect(children.first).to_be_hidden()
    root_head.click()
    expect(children.first).to_be_visible()

    # JupyterLab's dark theme: the same table, light text on a dark header.
    switch_theme(page, "JupyterLab Dark", light=False)
    try:
        assert table.evaluate(LUMINANCE, "color") > 0.6
        table.get_by_role("button", name="in order").click()
        assert table.locator("th").first.evaluate(LUMINANCE, "backgroundColor") < 0.4
    finally:
        switch_theme(page, "JupyterLab Light", light=True)
    assert not page_watch.page_errors and not page_watch.console_errors, page_watch


def switch_theme(page: Any, theme: str, light: bool) -> None:
    page.evaluate("(theme) => window.jupyterapp.commands.execute('apputils:change-theme', {theme})", theme)
    page.wait_for_function("(light) => document.body.dataset.jpThemeLight === String(light)", arg=light)
