"""EventsView: rows from astream_events, pull and push modes, and its widget traffic (no kernel).

The widget's traffic is checked in-process by pretending to be in a kernel and recording
what `widget.send` is given; tests/test_magic_kernel.py checks the real iopub traffic.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import os
from pathlib import Path
from typing import Any, AsyncIterator

import pytest

from llmstream_nb import Chunk, Completion, runtime, get_model
from llmstream_nb.view import events_view
from llmstream_nb.view.events_rows import (
    DEPTH,
    MS,
    PARENT,
    RUN,
    RUN_ID,
    RowMaker,
    count_kinds,
    kind_of,
    summary_text,
    table_lines,
)
from llmstream_nb.view.events_view import MAX_TEXT, EventsView, describe

VIEW_DIR = Path(events_view.__file__).parent


def instant_demo() -> Any:
    return get_model("demo", ttft=0, tokens_per_second=0)


def langchain_chain(answer: str = "Tea is calm.") -> Any:
    """prompt | chat model | parser from langchain-core's fakes: a chain with three nested runs.

    langchain-core is in the test extra: missing, it skips here but fails under CI.
    """
    try:
        from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
        from langchain_core.output_parsers import StrOutputParser
        from langchain_core.prompts import ChatPromptTemplate
    except ImportError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set and langchain-core (in the test extra) is missing: {exc}", pytrace=False)
        pytest.skip(f"langchain-core is not installed: {exc}")
    chat = GenericFakeChatModel(messages=itertools.cycle([answer]))
    return ChatPromptTemplate.from_template("About {topic}") | chat | StrOutputParser()


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
    assert describe(0, {"event": "on_llm_start", **head, "data": {"input": "hi"}}, ms=1.26) == [
        0,
        "on_llm_start",
        "demo:ngram",
        "01234567",
        "hi",
        1.3,
        0,
        "",
        run_id,
    ]
    assert describe(0, {"event": "on_llm_start", **head}, first_of_run=False)[RUN_ID] == ""
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


def test_a_chains_runs_nest_by_their_parent_ids() -> None:
    """prompt, model and parser sit one level under the chain; each run's whole id comes once."""
    view = EventsView(langchain_chain(), {"topic": "tea"}, file=io.StringIO())
    view.run()
    root = view.rows[0]
    assert root[1] == "on_chain_start" and root[2] == "RunnableSequence" and root[DEPTH] == 0 and root[PARENT] == ""
    children = {row[2] for row in view.rows if row[DEPTH] == 1}
    assert children == {"ChatPromptTemplate", "GenericFakeChatModel", "StrOutputParser"}
    assert {row[PARENT] for row in view.rows if row[DEPTH] == 1} == {root[RUN]}
    whole_ids = [row[RUN_ID] for row in view.rows if row[RUN_ID]]
    assert whole_ids == list(dict.fromkeys(str(event["run_id"]) for event in view.events))  # once each, in order
    assert all(row[RUN] == row[RUN_ID][-8:] for row in view.rows if row[RUN_ID])
    assert view.summary == {"start": 4, "stream": 15, "end": 4}
    assert view.rows[-1][4] == "Tea is calm."


def test_times_count_from_the_first_event() -> None:
    ticks = iter([10.0, 10.0125, 10.5])
    make = RowMaker(clock=lambda: next(ticks))
    event = {"event": "on_llm_stream", "name": "n", "run_id": "r", "data": {"chunk": "x"}}
    assert [make(i, event)[MS] for i in range(3)] == [0.0, 12.5, 500.0]


def test_kinds_counts_and_summary() -> None:
    assert [
        kind_of(e) for e in ("on_chain_start", "on_llm_stream", "on_tool_end", "on_llm_error", "on_custom_event")
    ] == ["start", "stream", "end", "error", "other"]
    rows = [
        describe(i, {"event": name})
        for i, name in enumerate(
            ["on_chain_end", "on_chain_start", "on_llm_stream", "on_llm_stream", "on_custom_event"]
        )
    ]
    counts = count_kinds(rows)
    assert list(counts.items()) == [("start", 1), ("stream", 2), ("end", 1), ("other", 1)]  # a run's order
    assert summary_text(counts) == "1 start · 2 stream · 1 end · 1 other"
    assert summary_text(count_kinds([])) == ""


def test_the_printed_table_indents_nested_runs() -> None:
    events = [
        {"event": "on_chain_start", "name": "chain", "run_id": "aaaaaaaa-1", "parent_ids": [], "data": {"input": "q"}},
        {"event": "on_llm_start", "name": "llm", "run_id": "bbbbbbbb-2", "parent_ids": ["aaaaaaaa-1"], "data": {}},
    ]
    lines = table_lines([describe(i, e) for i, e in enumerate(events)])
    assert lines[1].split() == ["0", "on_chain_start", "chain", "aaaaaaaa", "0.0", "q"]
    assert lines[2].split() == ["1", "on_llm_start", "llm", "bbbbbbbb", "(aaaaaaaa)", "0.0"]
    name = lines[0].index("name")  # the column: a nested run's name is indented under its parent's
    assert lines[1][name:].startswith("chain") and lines[2][name:].startswith("  llm")


def test_outputs_read_as_text_not_as_reprs() -> None:
    """A chain's dict of messages, and a model that answers with tool calls only, read as text."""

    class Message:
        type = "ai"

        def __init__(self, content: str, tool_calls: list[dict[str, Any]] | None = None) -> None:
            self.content = content
            self.tool_calls = tool_calls or []

    out = {"answer": Message("Tea is calm."), "n": 2, "topic": "tea"}
    row = describe(0, {"event": "on_chain_end", "data": {"output": out}})
    assert row[4] == "{'answer': 'Tea is calm.', 'n': 2, 'topic': 'tea'}"
    calls = Message("", [{"name": "weather", "args": {"city": "Paris"}}])
    assert describe(0, {"event": "on_chat_model_end", "data": {"output": calls}})[4] == (
        "tool call: weather({'city': 'Paris'})"
    )
    calls.content = "Let me look."
    assert describe(0, {"event": "on_chat_model_end", "data": {"output": calls}})[4] == (
        "Let me look. · tool call: weather({'city': 'Paris'})"
    )


def test_layout_is_checked() -> None:
    with pytest.raises(ValueError, match="layout must be one of"):
        EventsView(layout="sideways", file=io.StringIO())


# -- pull and push ------------------------------------------------------------------------


def test_pull_blocking_prints_the_table_at_the_end() -> None:
    out = io.StringIO()
    view = EventsView(instant_demo(), "tea", file=out, max_tokens=6, seed=1)
    assert out.getvalue() == ""  # nothing before the run
    assert view.run() is view  # run() and start() return the view, as a StreamView's do
    assert view.status == "done" and len(view.events) == len(view.rows)
    assert_start_stream_end(view)
    printed = out.getvalue().splitlines()
    streamed = len(view.rows) - 2
    assert len(printed) == len(view.rows) + 2
    assert printed[-1] == f"[{len(view.rows)} events (1 start · {streamed} stream · 1 end), done]"
    assert printed[0].split() == ["#", "event", "name", "run", "(parent)", "ms", "chunk", "/", "output"]
    assert "on_llm_start" in printed[1]


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
    assert view.completion.text == text  # the answer the events carried, kept as a stream's record
    assert view.completion.usage == view.events[-1]["data"]["output"].usage


def test_pull_from_any_async_iterator_and_its_error() -> None:
    async def events() -> AsyncIterator[dict[str, Any]]:
        yield {"event": "on_chain_start", "name": "mine", "run_id": "abc", "data": {"input": "q"}}
        raise RuntimeError("the source broke")

    out = io.StringIO()
    view = EventsView(events(), file=out)
    view.run()
    assert view.status == "error" and isinstance(view.error, RuntimeError)
    assert kinds(view) == ["on_chain_start"]
    assert out.getvalue().splitlines()[-1] == "[1 event (1 start), error: RuntimeError: the source broke]"


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
    monkeypatch.setattr(runtime, "in_kernel", lambda: True)
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
    assert sent[0] == {"start": 1, "rows": view.rows[1:]}
    view.finish()  # its batching timer ends here, not in the next test


def test_a_chains_rows_on_the_wire_carry_each_whole_run_id_once(sent: list[dict[str, Any]]) -> None:
    view = EventsView(langchain_chain(), {"topic": "tea"}, display=False, layout="tree")
    view.run()
    rows = rows_sent(sent)
    assert rows == view.rows and view.widget.start_layout == "tree"
    assert len([row for row in rows if row[RUN_ID]]) == 4  # chain, prompt, model, parser


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
