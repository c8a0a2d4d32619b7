"""The page keeps up with long answers: what a token view costs the page does not grow with the answer.

Counted, never timed: the DOM nodes of a 20,000-token view, and the nodes an update touches
(a MutationObserver) after 100 and after 20,000 tokens. The tokens near the viewport are still
drawn as tokens (separators, hover, keys), also after scrolling to any part of the answer.
Drives JupyterLab in headless Chromium through browser_harness.py, like tests/test_browser.py.
"""

from __future__ import annotations

from typing import Any

import pytest

pytest.register_assert_rewrite("browser_harness")

from browser_harness import SCRATCH, LabServer, open_notebook, run_code, run_silently

pytest_plugins = ["browser_harness"]
pytestmark = pytest.mark.browser

#: A paragraph of 40 tokens, ending in a blank line, as an answer has them.
WORDS = [f"w{i} " for i in range(39)] + ["end.\n\n"]
LONG = 20_000
SEP = "|"
#: Today a sep view holds four nodes a token (span, text, separator span, its text): 80,000 here.
#: Drawn near the viewport only, it holds what a screenful of tokens needs, and a few per paragraph.
MAX_NODES = 12_000

COUNT_NODES = """(view) => {
    let nodes = 0;
    const walker = document.createTreeWalker(view, NodeFilter.SHOW_ALL);
    while (walker.nextNode()) nodes++;
    return nodes;
}"""
SHOWN = "(text) => text.textContent"


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def answer(n: int) -> list[str]:
    return [WORDS[i % len(WORDS)] for i in range(n)]


def with_separators(tokens: list[str]) -> str:
    """The text a sep view shows: SEP between tokens, none after a line break, none at the end."""
    return "".join(("" if i == 0 or tokens[i - 1].endswith("\n") else SEP) + t for i, t in enumerate(tokens))


def test_a_20000_token_sep_view_holds_nodes_for_what_is_near_the_viewport(page: Any, lab: LabServer) -> None:
    open_notebook(page, lab, SCRATCH)
    cell = run_code(
        page,
        f"from llmstream_nb import StreamView\nWORDS = {WORDS!r}\n"
        f"StreamView(iter([WORDS[i % len(WORDS)] for i in range({LONG})]), sep={SEP!r}).run()",
    )
    view = cell.locator(".llmstream-view")
    expect(view.locator(".llmstream-status")).to_have_text("done")
    text = view.locator(".llmstream-text")
    # Every token and its separator are in the text, in order, whether drawn as spans or not.
    shown = with_separators(answer(LONG))
    assert text.evaluate(SHOWN) == shown
    nodes = view.evaluate(COUNT_NODES)
    assert nodes <= MAX_NODES, f"{nodes:,} DOM nodes for {LONG:,} tokens"

    # Wherever a person scrolls, the tokens there are drawn as tokens, with their separators.
    for fraction in (0.5, 1.0):
        target = text.evaluate(
            """(text, fraction) => {
                const runs = text.querySelectorAll(".llmstream-run");
                const run = runs[Math.min(runs.length - 1, Math.floor(fraction * runs.length))];
                run.scrollIntoView({ block: "center" });
                return [...runs].indexOf(run);
            }""",
            fraction,
        )
        run = text.locator(".llmstream-run").nth(target)
        expect(run.locator(".llmstream-sep").first).to_be_attached()
        tokens = run.locator(".llmstream-token")
        assert tokens.count() > 0 and run.locator(".llmstream-sep").count() > 0
        assert "".join(tokens.evaluate_all("nodes => nodes.map(n => n.textContent)")) in "".join(answer(LONG))
        assert run.evaluate("node => node.textContent") in shown
    assert view.evaluate(COUNT_NODES) <= MAX_NODES


FEED_CELL = f"""import asyncio
from llmstream_nb import StreamView
feed = asyncio.Queue()

async def fed():
    while (batch := await feed.get()) is not None:
        for token in batch:
            yield token

WORDS = {WORDS!r}
scale_view = StreamView(fed(), sep={SEP!r}).start()"""

# Counts what changes inside the view's text: nodes added or removed, text changed in place.
WATCH = """(text) => {
    const touched = { nodes: 0 };
    const observer = new MutationObserver((records) => {
        for (const r of records) touched.nodes += r.addedNodes.length + r.removedNodes.length + (r.type === "characterData" ? 1 : 0);
    });
    observer.observe(text, { subtree: true, childList: true, characterData: true, attributes: true });
    window.__touched = { touched, observer };
}"""
TOUCHED = "() => { window.__touched.observer.disconnect(); return window.__touched.touched.nodes; }"
SETTLED = "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done, 50))))"


def feed(page: Any, text: Any, tokens: int, total: int) -> None:
    """Send `tokens` more words to the streaming view and wait until the page shows all `total`."""
    code = f"feed.put_nowait([WORDS[i % len(WORDS)] for i in range({total - tokens}, {total})])"
    run_silently(page, code)
    expected = len(with_separators(answer(total)))
    page.wait_for_function("([text, n]) => text.textContent.length === n", arg=[text.element_handle(), expected])
    page.evaluate(SETTLED)


def touched_by_an_update(page: Any, text: Any, total: int) -> int:
    """The nodes three more tokens touch in the page, once it shows `total` tokens (and three more,
    so the run being written is drawn as tokens, as the box follows the stream to the end)."""
    feed(page, text, 3, total + 3)
    text.evaluate(WATCH)
    feed(page, text, 3, total + 6)
    return page.evaluate(TOUCHED)


def test_an_update_after_20000_tokens_touches_no_more_nodes_than_one_after_100(page: Any, lab: LabServer) -> None:
    open_notebook(page, lab, SCRATCH)
    run_code(page, FEED_CELL)
    text = page.locator(".llmstream-view .llmstream-text")
    feed(page, text, 100, 100)
    early = touched_by_an_update(page, text, 100)
    feed(page, text, LONG - 106, LONG)
    late = touched_by_an_update(page, text, LONG)
    assert 0 < late <= early, f"an update touched {early} nodes after 100 tokens, {late} after {LONG:,}"
    run_silently(page, "feed.put_nowait(None)")
    expect(page.locator(".llmstream-view .llmstream-status")).to_have_text("done")
