"""A view a person keeps open all day, in JupyterLab: Markdown that renders while the answer streams
(headings, highlighted code, typeset formulas), markup split across tokens that stays inert, the
Copy button, the long-answer box, and what a screen reader hears.

The streaming tests hold the answer open with an asyncio.Event the kernel waits on, so what the page
shows "while streaming" is checked while the badge still says streaming, with no timing involved.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

pytest.register_assert_rewrite("browser_harness", "test_browser")  # before the imports below

from browser_harness import SCRATCH, LabServer, PageWatch, open_notebook, run_code, run_silently  # noqa: E402
from test_browser import IMAGE_HOST, assert_nothing_ran, expect, view_parts  # noqa: E402

pytest_plugins = ["browser_harness"]
pytestmark = pytest.mark.browser

MARKDOWN_PIECES = [
    "# Sparkling",
    " water\n\nIt has *bubbles*.\n\n```python\ndef fizz",
    "(n):\n    return n * 2\n```\n\nThe pressure is $p = ",
    "nRT/V$ and\n\n$$\\int_0^1 x\\,dx$$\n\n",
    "Still going",  # a line not yet ended: it starts a block all the same, so the formula's is complete
]
# An answer held open: the pieces, then it waits for `release` before its last words.
HELD_CELL = """import asyncio
from llmstream_nb import StreamView
release = asyncio.Event()

async def held(pieces, last):
    for piece in pieces:
        yield piece
        await asyncio.sleep({pause})
    await release.wait()
    yield last

held_view = StreamView(held({pieces!r}, {last!r}), model="held"{options}).start()"""
# An answer that waits after each piece for the test to set that piece's step.
STEPPED_CELL = """import asyncio
from llmstream_nb import StreamView
steps = [asyncio.Event() for _ in range({n})]

async def stepped(pieces):
    for piece, step in zip(pieces, steps):
        yield piece
        await step.wait()

stepped_view = StreamView(stepped({pieces!r}), model="stepped", markdown=True).start()"""
# Records every element ever added inside a view on the page: a fetching or running element that was
# drawn for a moment (an open block rendered mid-token) and then replaced counts as much as one that stays.
RECORD_ELEMENTS = """() => {
    window.__added = [];
    new MutationObserver((records) => {
        for (const r of records) for (const node of r.addedNodes) {
            if (!(node instanceof Element)) continue;
            for (const el of [node, ...node.querySelectorAll("*")]) {
                if (!el.closest(".llmstream-view")) continue;  // JupyterLab's own icons
                const attrs = [...el.attributes].map((a) => `${a.name}=${a.value}`).join(" ");
                window.__added.push(`${el.localName} ${attrs} :: ${el.textContent.slice(0, 40)}`);
            }
        }
    }).observe(document.body, { subtree: true, childList: true });
}"""
ADDED = "() => window.__added"


def hold(page: Any, pieces: list[str], last: str, options: str = ", markdown=True", pause: float = 0.05) -> Any:
    return run_code(page, HELD_CELL.format(pieces=pieces, last=last, options=options, pause=pause))


def release(page: Any) -> None:
    run_silently(page, "release.set()")


def test_markdown_renders_while_the_answer_streams(page: Any, lab: LabServer) -> None:
    """Headings, a highlighted code block and typeset formulas show while the badge says streaming;
    a complete block is drawn once, while the open block is drawn anew as it grows. The answer
    comes a piece at a time, each when the page shows the one before, so every piece is a flush."""
    open_notebook(page, lab, SCRATCH)
    page.evaluate(RECORD_ELEMENTS)
    cell = run_code(page, STEPPED_CELL.format(n=len(MARKDOWN_PIECES), pieces=MARKDOWN_PIECES))
    status, text, _ = view_parts(cell)
    rendered = cell.locator(".llmstream-view .llmstream-markdown")
    # What the page shows once each piece is in: the last two, that the inline formula's paragraph
    # (complete once the next block begins) is typeset, and the line still being written.
    shows = ["Sparkling", "def fizz", "The pressure is", None, "Still going"]
    for step, shown in enumerate(shows):
        if shown is None:
            expect(rendered.locator("mjx-container")).to_have_count(1)
        else:
            expect(rendered).to_contain_text(shown)
        if step < len(MARKDOWN_PIECES) - 1:
            run_silently(page, f"steps[{step}].set()")
    expect(rendered.locator("h1")).to_have_text("Sparkling water\u00b6")  # JupyterLab's anchor link
    expect(rendered.locator("em")).to_have_text("bubbles")
    code = rendered.locator("pre code")
    expect(code).to_contain_text("def fizz(n):")
    assert code.locator("span").count() > 0, "the code block is not highlighted"
    expect(rendered.locator("mjx-container")).to_have_count(2)  # inline and display formula, typeset
    expect(status).to_have_text("streaming")
    assert text.is_hidden()
    added = page.evaluate(ADDED)
    headings = [line for line in added if line.startswith("h1 ") and "Sparkling water" in line]
    assert len(headings) == 1, f"the heading's block, complete, was drawn {len(headings)} times"
    pressure = [line for line in added if line.startswith("p ") and "The pressure is" in line]
    assert len(pressure) >= 2, "the open block was not drawn anew as it grew"
    shots = os.environ.get("LLMSTREAM_DOCS_SCREENSHOTS")  # (see test_browser_look.py)
    if shots:
        cell.locator(".llmstream-view").screenshot(path=str(Path(shots) / "markdown-streaming.png"))

    run_silently(page, f"steps[{len(MARKDOWN_PIECES) - 1}].set()")
    expect(status).to_have_text("done")
    expect(rendered).to_contain_text("Still going")
    expect(rendered.locator("mjx-container")).to_have_count(2)


def test_markup_split_across_tokens_stays_inert_while_streaming(
    page: Any, lab: LabServer, page_watch: PageWatch
) -> None:
    """A tag cut between tokens is sanitised as the whole tag each time the open block is drawn,
    and a formula cannot make the page fetch through TeX."""
    open_notebook(page, lab, SCRATCH)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    pieces = [
        "Look: <img src=x on",
        "error=alert(1)> and <scr",
        "ipt>window.__pwned=1</scr",
        "ipt> and <a href='javascript:alert(2)'>a link</a>\n\n",
        f"A formula $\\style{{background-image: url(http://{IMAGE_HOST}/math.png)}}{{x}}$ and ",
        f'<svg><image href="http://{IMAGE_HOST}/svg.png"/></svg> ',
    ]
    page.evaluate(RECORD_ELEMENTS)
    cell = hold(page, pieces, "end.\n")
    rendered = cell.locator(".llmstream-view .llmstream-markdown")
    expect(rendered).to_contain_text("A formula")
    release(page)
    status, _, _ = view_parts(cell)
    expect(status).to_have_text("done")
    expect(rendered).to_contain_text("end.")
    assert_nothing_ran(page, page_watch)
    added = page.evaluate(ADDED)
    drawn = [line for line in added if line.split(" ")[0] in {"img", "script", "svg", "image", "iframe"}]
    assert drawn == [], f"elements that run or fetch were drawn: {drawn}"
    attributes = [line.split(" :: ")[0] for line in added]  # (the text after " :: " is text, not markup)
    risky = [line for line in attributes if "javascript:" in line or " onerror=" in line or "url(" in line]
    assert risky == [], risky
    leaked = [url for url in requests if IMAGE_HOST in url]
    assert leaked == [], f"the answer made the page fetch: {leaked}"


def test_copy_puts_the_answer_on_the_clipboard(page: Any, lab: LabServer) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=lab.url("").rstrip("/"))
    open_notebook(page, lab, SCRATCH)
    tokens = ["Tea", " is", " calm.\n\n", "**Bold** too."]
    cell = run_code(page, f"from llmstream_nb import StreamView\nStreamView(iter({tokens!r}), markdown=True).run()")
    status, _, _ = view_parts(cell)
    expect(status).to_have_text("done")
    copy = cell.locator(".llmstream-view .llmstream-copy")
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("() => navigator.clipboard.readText()") == "".join(tokens)


def test_copy_chat_puts_the_whole_conversation_on_the_clipboard(page: Any, lab: LabServer) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=lab.url("").rstrip("/"))
    open_notebook(page, lab, SCRATCH)
    run_code(page, "%load_ext llmstream_nb")
    run_code(page, "%%llmstream --chat\nHello there")
    cell = run_code(page, "%%llmstream --chat\nAnd what about coffee?")
    status, _, _ = view_parts(cell)
    expect(status).to_have_text("done")
    copy = cell.locator(".llmstream-view .llmstream-copy-chat")
    copy.click()
    expect(copy).to_have_text("Copied")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied.startswith("# Conversation default"), copied
    assert "**You:** Hello there" in copied and "**You:** And what about coffee?" in copied, copied
    assert "## Turn 2" in copied


def test_the_live_region_announces_start_and_end_and_the_view_is_busy_meanwhile(page: Any, lab: LabServer) -> None:
    open_notebook(page, lab, SCRATCH)
    page.evaluate(
        """() => {
            window.__heard = [];
            new MutationObserver(() => {
                const region = document.getElementById("llmstream-announcer");
                if (region && region.textContent !== window.__heard.at(-1)) window.__heard.push(region.textContent);
            }).observe(document.body, { subtree: true, childList: true, characterData: true });
        }"""
    )
    cell = hold(page, ["Tea is", " calm"], " and green.", options="")
    view = cell.locator(".llmstream-view")
    expect(view.locator(".llmstream-text")).to_contain_text("Tea is calm")
    expect(view).to_have_attribute("aria-busy", "true")
    release(page)
    expect(view.locator(".llmstream-status")).to_have_text("done")
    expect(view).to_have_attribute("aria-busy", "false")
    region = page.locator("#llmstream-announcer")
    assert region.get_attribute("aria-live") == "polite" and region.get_attribute("role") == "status"
    page.wait_for_function("() => window.__heard.length >= 2")
    assert page.evaluate("() => window.__heard") == ["answer started", "answer finished, 5 words"]


def test_a_long_answer_scrolls_in_its_box_follows_the_stream_and_expands(page: Any, lab: LabServer) -> None:
    open_notebook(page, lab, SCRATCH)
    lines = [f"Line {i} of a long answer.\n" for i in range(150)]
    cell = hold(page, lines, "The last line.\n", options="", pause=0.005)
    view = cell.locator(".llmstream-view")
    body = view.locator(".llmstream-body")
    expect(view.locator(".llmstream-text")).to_contain_text("Line 149", timeout=30_000)
    at_bottom = "b => b.scrollHeight - b.scrollTop - b.clientHeight < 4"
    page.wait_for_function(f"b => ({at_bottom})(b)", arg=body.element_handle())  # it follows the stream
    assert body.evaluate("b => b.scrollHeight > b.clientHeight"), "the box did not bound the answer"

    body.evaluate("b => { b.scrollTop = 0; b.dispatchEvent(new Event('scroll')); }")  # the reader scrolls up
    release(page)
    expect(view.locator(".llmstream-status")).to_have_text("done")
    expect(view.locator(".llmstream-text")).to_contain_text("The last line.")
    assert body.evaluate("b => b.scrollTop") == 0, "the box scrolled away from where the reader was"

    expand = view.locator(".llmstream-expand")
    expect(expand).to_be_visible()
    expand.click()
    expect(expand).to_have_attribute("aria-expanded", "true")
    assert body.evaluate("b => b.scrollHeight <= b.clientHeight + 1"), "Show all left the answer cut"


def test_a_view_shown_as_the_cells_value_streams(page: Any, lab: LabServer) -> None:
    """`StreamView(gen())` as a cell's last expression starts the way show() would."""
    open_notebook(page, lab, SCRATCH)
    cell = run_code(
        page,
        "from llmstream_nb import StreamView\ndef gen():\n    yield 'Tea'\n    yield ' is calm.'\nStreamView(gen())",
    )
    status, text, _ = view_parts(cell)
    expect(status).to_have_text("done")
    expect(text).to_have_text("Tea is calm.")
