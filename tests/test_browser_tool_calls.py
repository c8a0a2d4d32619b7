"""What a person sees of a tool call in JupyterLab: a block under the answer, the function's name at
once, its arguments growing as they stream, indented JSON at the end, markup in them shown as text.

Drives JupyterLab in headless Chromium (browser_harness.py); nothing is asserted on wall-clock time.
"""

from __future__ import annotations

from typing import Any

import pytest

pytest.register_assert_rewrite("browser_harness")

from browser_harness import SCRATCH, LabServer, PageWatch, kernel_value, open_notebook, run_code

pytest_plugins = ["browser_harness"]
pytestmark = pytest.mark.browser

TOOL_CELL = """import asyncio
from llmstream_nb import show
from llmstream_nb.tool_calls import ToolCallChunk
more, end = asyncio.Event(), asyncio.Event()
async def calling():
    yield "Let me look that up."
    yield ToolCallChunk("", call_id="call_1", name="get_weather")
    yield ToolCallChunk('{"city": ', call=0)
    await more.wait()
    yield ToolCallChunk('"<b>Paris</b>", ', call=0)
    await end.wait()
    yield ToolCallChunk('"days": 2}', call=0)
view = show(calling())"""


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def shown(locator: Any) -> str:
    return locator.evaluate("node => node.textContent")


def test_a_tool_call_streams_into_its_own_block_under_the_answer(
    page: Any, lab: LabServer, page_watch: PageWatch
) -> None:
    open_notebook(page, lab, SCRATCH)
    cell = run_code(page, TOOL_CELL)
    view = cell.locator(".llmstream-view")
    block = view.locator(".llmstream-tool-call")
    name, args = block.locator(".llmstream-tool-name"), block.locator(".llmstream-tool-args")
    expect(view.locator(".llmstream-text")).to_have_text("Let me look that up.")
    expect(name).to_contain_text("get_weather")
    expect(args).to_have_text('{"city": ')
    below = view.evaluate(
        """(view) => view.querySelector(".llmstream-text").getBoundingClientRect().bottom
            <= view.querySelector(".llmstream-tool-call").getBoundingClientRect().top"""
    )
    assert below, "the call is not under the answer"

    run_code(page, "more.set()")
    expect(args).to_have_text('{"city": "<b>Paris</b>", ')  # growing, markup as text
    assert view.locator("b, img, script").count() == 0

    run_code(page, "end.set()")
    expect(view.locator(".llmstream-status")).to_have_text("done")
    expect(args).to_have_text('{\n  "city": "<b>Paris</b>",\n  "days": 2\n}')  # indented once whole
    assert shown(view.locator(".llmstream-text")) == "Let me look that up."  # the answer alone
    assert block.count() == 1 and view.locator("b, img, script").count() == 0
    assert kernel_value(page, "[c.arguments for c in view.tool_calls]") == [{"city": "<b>Paris</b>", "days": 2}]
    assert page_watch.page_errors == [] and page_watch.dialogs == []


REFUSAL_CELL = """from llmstream_nb import Chunk, show
def refusing():
    yield Chunk("I'm sorry, ", kind="refusal")
    yield Chunk("I can't help with <i>that</i>.", kind="refusal")
view = show(refusing())"""


def test_a_refusal_is_shown_apart_from_the_answer(page: Any, lab: LabServer) -> None:
    open_notebook(page, lab, SCRATCH)
    cell = run_code(page, REFUSAL_CELL)
    view = cell.locator(".llmstream-view")
    expect(view.locator(".llmstream-status")).to_have_text("done")
    expect(view.locator(".llmstream-refusal")).to_have_text("I'm sorry, I can't help with <i>that</i>.")
    assert shown(view.locator(".llmstream-text")) == "" and view.locator("i").count() == 0
