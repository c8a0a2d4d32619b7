"""EventsView: rows from astream_events, pull and push modes, and its widget traffic (no kernel).

The widget's traffic is checked in-process by pretending to be in a kernel and recording
what `widget.send` is given; tests/test_magic_kernel.py checks the real iopub traffic.
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any, AsyncIterator

import pytest

from llmstream_nb import Chunk, Completion, get_model
from llmstream_nb.view import events_view
from llmstream_nb.view.events_view import MAX_TEXT, EventsView, describe

VIEW_DIR = Path(events_view.__file__).parent
pytest_plugins = ["browser_harness"]


def instant_demo() -> Any:
    return get_model("demo", ttft=0, tokens_per_second=0)


def kinds(view: EventsView) -> list[str]:
    return [row[1] for row in view.rows]


def assert_start_stream_end(view: EventsView) -> None:
    names = kinds(view)
    assert names[0] == "on_llm_start" and names[-1] == "on_llm_end"
    assert set(names[1:-1]) == {"on_llm_stream"} and len(names) > 2
    assert [row[0] for row in view.rows] == list(range(len(view.rows)))


# -- rows ----------------------------------------------------------------------------------


def test_rows_for_each_kind_of_event() -> None:
    run_id = "0123456789abcdef"
    head = {"name": "demo:ngram", "run_id": run_id}
    assert describe(0, {"event": "on_llm_start", **head, "data": {"input": "hi"}}) == [
        0, "on_llm_start", "demo:ngram", "01234567", "hi"
    ]
    assert describe(1, {"event": "on_llm_stream", **head, "data": {"chunk": Chunk(" tea\n")}})[4] == "' tea\\n'"
    assert describe(2, {"event": "on_llm_stream", **head, "data": {"chunk": "v1 text"}})[4] == "'v1 text'"
    assert describe(3, {"event": "on_llm_end", **head, "data": {"output": Completion("whole")}})[4] == "whole"
    assert describe(4, {"event": "on_llm_end", **head, "data": {"output": {"text": "v1 whole"}}})[4] == "v1 whole"
    error = describe(5, {"event": "on_llm_error", **head, "data": {"error": ValueError("boom")}})
    assert error[4] == "ValueError: boom"


def test_langchain_message_chunks_and_long_outputs() -> None:
    class MessageChunk:
        content = "from a chat model"

    row = describe(0, {"event": "on_chat_model_stream", "name": "x", "run_id": "r", "data": {"chunk": MessageChunk()}})
    assert row[4] == "'from a chat model'"
    long = describe(1, {"event": "on_llm_end", "data": {"output": "x" * 1000}})
    assert len(long[4]) == MAX_TEXT and long[4].endswith("…")


# -- pull and push ------------------------------------------------------------------------


def test_pull_blocking_prints_the_table_at_the_end() -> None:
    out = io.StringIO()
    view = EventsView(instant_demo(), "tea", file=out, max_tokens=6, seed=1)
    assert out.getvalue() == ""  # nothing before the run
    events = view.run()
    assert view.status == "done" and events is view.events and len(events) == len(view.rows)
    assert_start_stream_end(view)
    printed = out.getvalue().splitlines()
    assert len(printed) == len(view.rows) + 1 and printed[-1] == f"[{len(view.rows)} events, done]"
    assert "on_llm_start" in printed[0]


def test_pull_async_with_await() -> None:
    async def main() -> EventsView:
        view = EventsView(instant_demo(), "tea", file=io.StringIO(), max_tokens=6, seed=1)
        await view
        return view

    view = asyncio.run(main())
    assert view.status == "done"
    assert_start_stream_end(view)
    text = "".join(e["data"]["chunk"].text for e in view.events if e["event"] == "on_llm_stream")
    assert text == view.events[-1]["data"]["output"].text


def test_pull_from_any_async_iterator_and_its_error() -> None:
    async def events() -> AsyncIterator[dict[str, Any]]:
        yield {"event": "on_chain_start", "name": "mine", "run_id": "abc", "data": {"input": "q"}}
        raise RuntimeError("the source broke")

    out = io.StringIO()
    view = EventsView(events(), file=out)
    view.run()
    assert view.status == "error" and isinstance(view.error, RuntimeError)
    assert kinds(view) == ["on_chain_start"]
    assert out.getvalue().splitlines()[-1] == "[1 events, error: RuntimeError: the source broke]"


def test_push_mode_and_how_it_ends() -> None:
    view = EventsView(file=io.StringIO())
    assert view.status == "waiting"
    view.add({"event": "on_llm_start", "name": "n", "run_id": "r", "data": {"input": "p"}})
    assert view.status == "streaming"
    view.finish(asyncio.CancelledError())
    assert view.status == "stopped" and view.error is None
    with pytest.raises(TypeError, match="no source"):
        view.run()


def test_stop_cancels_an_async_table() -> None:
    async def endless() -> AsyncIterator[dict[str, Any]]:
        i = 0
        while True:
            yield {"event": "on_llm_stream", "name": "n", "run_id": "r", "data": {"chunk": str(i)}}
            i += 1
            await asyncio.sleep(0)

    async def main() -> EventsView:
        view = EventsView(endless(), file=io.StringIO())
        view.start()
        while len(view.rows) < 5:
            await asyncio.sleep(0)
        view.stop()
        await asyncio.gather(view.start(), return_exceptions=True)
        return view

    view = asyncio.run(main())
    assert view.status == "stopped" and len(view.rows) >= 5


# -- widget traffic -----------------------------------------------------------------------


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Pretend to be in a kernel; record the custom messages instead of sending them."""
    messages: list[dict[str, Any]] = []
    monkeypatch.setattr(events_view, "_in_kernel", lambda: True)
    widget_class = events_view._widget_class()
    monkeypatch.setattr(widget_class, "send", lambda self, content, buffers=None: messages.append(content))
    return messages


def rows_sent(messages: list[dict[str, Any]]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for message in messages:
        assert message["start"] == len(rows)  # contiguous, in order, nothing sent twice
        rows.extend(message["rows"])
    return rows


def test_rows_travel_as_ordered_deltas_then_final_state(sent: list[dict[str, Any]]) -> None:
    view = EventsView(instant_demo(), "tea", display=False, max_tokens=30, seed=2)
    view.run()
    assert rows_sent(sent) == view.rows
    assert view.widget.rows == view.rows and view.widget.status == "done" and view.widget.error == ""
    assert_start_stream_end(view)


def test_rows_are_batched(sent: list[dict[str, Any]]) -> None:
    """1,000 events pushed in a tight loop go out in a few messages, not 1,000."""
    view = EventsView(display=False)
    for i in range(1000):
        view.add({"event": "on_llm_stream", "name": "n", "run_id": "r", "data": {"chunk": f"t{i}"}})
    view.finish()
    assert rows_sent(sent) == view.rows and len(view.rows) == 1000
    assert len(sent) < 100


def test_a_late_view_asks_for_what_it_missed(sent: list[dict[str, Any]]) -> None:
    view = EventsView(display=False)
    for i in range(3):
        view.add({"event": "on_llm_stream", "name": "n", "run_id": "r", "data": {"chunk": str(i)}})
    sent.clear()
    view._on_browser_message(view.widget, {"action": "sync", "have": 1}, [])
    assert sent == [{"start": 1, "rows": view.rows[1:]}]


def test_error_reaches_the_widget(sent: list[dict[str, Any]]) -> None:
    view = EventsView(display=False)
    view.finish(ValueError("bad <b>thing</b>"))
    assert view.widget.status == "error" and view.widget.error == "ValueError: bad <b>thing</b>"


def test_the_page_writes_text_never_html() -> None:
    js = (VIEW_DIR / "events_widget.js").read_text()
    assert "textContent" in js
    for risky in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"):
        assert risky not in js
    assert (VIEW_DIR / "events_widget.css").read_text().strip()


# -- in the browser -------------------------------------------------------------------------


@pytest.mark.browser
def test_the_table_in_jupyterlab(page: Any, lab: Any) -> None:
    """`%%llmstream --events` in JupyterLab: every row drawn, in order, markup shown as text."""
    from browser_harness import SCRATCH, open_notebook, run_code
    from playwright.sync_api import expect

    open_notebook(page, lab, SCRATCH)
    run_code(page, "%load_ext llmstream_nb")
    cell = run_code(
        page,
        "%%llmstream -m demo --opt ttft=0 --opt tokens_per_second=200 --events --seed 1 --max-tokens 40 --raw\n"
        "<img src=x onerror=\"document.title='pwned'\"> Tell me about tea.",
    )
    table = cell.locator(".llmstream-events")
    expect(table).to_have_attribute("data-status", "done")
    rows = table.locator("tbody tr")
    status = table.locator(".llmstream-events-status").text_content() or ""
    count = int(status.split("·")[1].split()[0])
    expect(rows).to_have_count(count)
    kinds = rows.evaluate_all("trs => trs.map(tr => tr.children[1].textContent)")
    assert kinds[0] == "on_llm_start" and kinds[-1] == "on_llm_end" and set(kinds[1:-1]) == {"on_llm_stream"}
    assert rows.evaluate_all("trs => trs.map(tr => Number(tr.children[0].textContent))") == list(range(count))
    assert "<img src=x" in (rows.first.locator("td").nth(4).text_content() or "")
    assert table.locator("img").count() == 0 and page.title() != "pwned"
