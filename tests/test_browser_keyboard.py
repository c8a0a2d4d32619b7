"""Keyboard users and the token inspector: the answer's tokens are one tab stop, and the arrow
keys move between them (WAI-ARIA roving tabindex), also while the answer is still streaming.

Drives JupyterLab in headless Chromium through browser_harness.py, like tests/test_browser.py.
"""

from __future__ import annotations

from typing import Any

import pytest

pytest.register_assert_rewrite("browser_harness")

from browser_harness import SCRATCH, LabServer, open_notebook, run_code

pytest_plugins = ["browser_harness"]
pytestmark = pytest.mark.browser

TOKENS = ["One", " two", " three", "\nfour", " five"]
DONE_CELL = f"""from llmstream_nb import StreamView
StreamView(iter({TOKENS!r}), model='keys', inspect=True, sep='|').run()"""
# Eight tokens a second for 100 tokens: still streaming while the test presses keys.
STREAMING_CELL = """from llmstream_nb import StreamView, get_model
keys_view = StreamView(get_model("demo", ttft=0, tokens_per_second=8).astream(
    "Tell me about trains", max_tokens=100, min_tokens=100, seed=3), inspect=True).start()"""
FOCUSED = "() => { const a = document.activeElement; return a && a.classList.contains('llmstream-token') ? Number(a.dataset.index) : null; }"
TAB_STOPS = "nodes => nodes.filter(n => n.tabIndex === 0).map(n => Number(n.dataset.index))"


def focused_token(page: Any) -> int | None:
    """The index of the token with the keyboard focus, or None when the focus is elsewhere."""
    return page.evaluate(FOCUSED)


def test_arrow_keys_move_between_tokens_and_the_answer_is_one_tab_stop(page: Any, lab: LabServer) -> None:
    from playwright.sync_api import expect

    open_notebook(page, lab, SCRATCH)
    cell = run_code(page, DONE_CELL)
    view = cell.locator(".llmstream-view")
    expect(view.locator(".llmstream-status")).to_have_text("done")
    area = view.locator(".llmstream-text")
    tokens = area.locator(".llmstream-token")
    expect(tokens).to_have_count(len(TOKENS))
    assert area.get_attribute("role") == "group"
    label = area.get_attribute("aria-label") or ""
    assert "Left and Right arrows" in label and "Home and End" in label
    assert tokens.evaluate_all(TAB_STOPS) == [0]  # one tab stop, on the first token

    inspector = page.locator(".llmstream-inspector")
    title = inspector.locator(".llmstream-inspector-title")
    tokens.first.focus()
    expect(title).to_have_text("token #0")
    page.keyboard.press("ArrowRight")
    expect(title).to_have_text("token #1")  # the separator between them is skipped
    assert focused_token(page) == 1
    expect(inspector.locator(".llmstream-inspector-text").first).to_have_text("\u00b7two")
    page.keyboard.press("End")
    expect(title).to_have_text(f"token #{len(TOKENS) - 1}")
    page.keyboard.press("ArrowRight")  # stays on the last
    assert focused_token(page) == len(TOKENS) - 1
    page.keyboard.press("Home")
    page.keyboard.press("ArrowLeft")  # stays on the first
    expect(title).to_have_text("token #0")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(title).to_have_text("token #2")
    assert tokens.evaluate_all(TAB_STOPS) == [2]  # the tab stop followed the focus

    page.keyboard.press("Tab")  # one Tab leaves the whole answer
    assert focused_token(page) is None
    expect(inspector).to_be_hidden()
    page.keyboard.press("Shift+Tab")  # and comes back to the token last visited
    assert focused_token(page) == 2
    expect(title).to_have_text("token #2")
    page.keyboard.press("Escape")
    expect(inspector).to_be_hidden()


def test_the_focus_stays_on_its_token_while_new_tokens_arrive(page: Any, lab: LabServer) -> None:
    from playwright.sync_api import expect

    open_notebook(page, lab, SCRATCH)
    cell = run_code(page, STREAMING_CELL)
    view = cell.locator(".llmstream-view")
    tokens = view.locator(".llmstream-text .llmstream-token")
    expect(tokens.nth(3)).to_be_attached()
    tokens.first.focus()
    page.keyboard.press("ArrowRight")
    title = page.locator(".llmstream-inspector .llmstream-inspector-title")
    expect(title).to_have_text("token #1")
    before = tokens.count()
    expect(tokens.nth(before + 2)).to_be_attached()  # more tokens came in behind it
    expect(view.locator(".llmstream-status")).to_have_text("streaming")
    assert focused_token(page) == 1
    expect(title).to_have_text("token #1")

    page.keyboard.press("End")  # the last token so far
    last = focused_token(page)
    assert last is not None and last >= before + 1
    expect(tokens.nth(last + 2)).to_be_attached()
    assert focused_token(page) == last  # End did not follow the stream: the focus stays put
    assert tokens.evaluate_all(TAB_STOPS) == [last]
    page.keyboard.press("End")
    later = focused_token(page)
    assert later is not None and later > last
    expect(view.locator(".llmstream-status")).to_have_text("done", timeout=60_000)
    # JupyterLab draws the output anew at the end (widget_sink.end): the new view takes the focus over.
    expect(title).to_have_text(f"token #{later}")
    assert focused_token(page) == later and tokens.evaluate_all(TAB_STOPS) == [later]
