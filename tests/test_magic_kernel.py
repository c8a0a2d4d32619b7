"""%%llmstream in a real kernel: what actually crosses iopub (tests/kernel_harness.py).

One kernel for the module (starting one is the slow part). The demo is made instant with
`%llmstream config model_options=...`, except where a test needs a stream that cannot end
while it looks (1 token a second for 1,000 tokens), which it then stops. No assertion is
about durations: every wait is the harness's generous one.
"""

from __future__ import annotations

import ast
from typing import Any, Iterator

import pytest
from kernel_harness import KernelHarness, Message

pytestmark = pytest.mark.kernel

STREAM_WIDGET = "llmstream_nb.view.widget.StreamWidget"
EVENTS_WIDGET = "llmstream_nb.view.events_view.EventsWidget"
UNKNOWN_FLAG = "unknown option --temprature (did you mean --temperature?). See %%llmstream?"
MISSING = "the prompt uses {missing}, which is not defined in this notebook"


@pytest.fixture(scope="module")
def kernel() -> Iterator[KernelHarness]:
    with KernelHarness.start() as k:
        k.run("%load_ext llmstream_nb")
        k.run("""%llmstream config model=demo model_options='{"ttft": 0, "tokens_per_second": 0}'""")
        yield k


def opened_widget(kernel: KernelHarness, anywidget_id: str, since: int) -> str:
    """The comm of the first widget of this class opened after iopub index `since`."""
    msg = kernel.wait_for(
        lambda m: m["msg_type"] == "comm_open" and m["content"]["data"]["state"].get("_anywidget_id") == anywidget_id,
        since=since,
    )
    return msg["content"]["comm_id"]


def final_state(kernel: KernelHarness, comm_id: str, status: str) -> dict[str, Any]:
    """Wait for the update that sets `status` (the end of a stream) and return it."""
    msg = kernel.wait_for(
        lambda m: (
            m["msg_type"] == "comm_msg"
            and m["content"].get("comm_id") == comm_id
            and m["content"]["data"].get("method") == "update"
            and m["content"]["data"]["state"].get("status") == status
        )
    )
    return msg["content"]["data"]["state"]


def opened_state(kernel: KernelHarness, comm_id: str) -> dict[str, Any]:
    """The state the page first draws the widget with."""
    (opened,) = [m for m in kernel.comm_messages(comm_id) if m["msg_type"] == "comm_open"]
    return opened["content"]["data"]["state"]


def mode_updates(kernel: KernelHarness, comm_id: str) -> list[str]:
    return [state["mode"] for state in kernel.state_updates(comm_id) if "mode" in state]


def deltas(kernel: KernelHarness, comm_id: str) -> list[str]:
    """The text of each delta message in order (plain mode sends "d", boundary mode "c")."""
    texts = []
    for content in kernel.custom_messages(comm_id):
        assert "reset" not in content  # nobody asked for a resend here
        texts.append(content["d"] if "d" in content else "".join(content["c"]))
    return texts


def errors_and_stderr(messages: list[Message]) -> tuple[list[Message], str]:
    errors = [m for m in messages if m["msg_type"] == "error"]
    streams = [m["content"] for m in messages if m["msg_type"] == "stream"]
    stderr = "".join(c["text"] for c in streams if c["name"] == "stderr")
    return errors, stderr


def test_deltas_arrive_in_order_and_add_up_to_the_text(kernel: KernelHarness) -> None:
    since = len(kernel.iopub)
    kernel.run("%%llmstream --seed 1 --max-tokens 60 -o answer\nTell me about tea.")
    comm = opened_widget(kernel, STREAM_WIDGET, since)
    state = final_state(kernel, comm, "done")
    text = kernel.value("_llmstream.text")
    assert text and "".join(deltas(kernel, comm)) == text == state["text"]
    assert kernel.value("answer is _llmstream and _llmstream.result().text == _llmstream.text")


def test_sep_sends_the_chunks_themselves(kernel: KernelHarness) -> None:
    since = len(kernel.iopub)
    kernel.run('%%llmstream --seed 2 --max-tokens 30 --sep "|"\nTell me about rain.')
    comm = opened_widget(kernel, STREAM_WIDGET, since)
    final_state(kernel, comm, "done")
    pieces = [p for c in kernel.custom_messages(comm) for p in c["c"]]
    assert pieces == kernel.value("_llmstream.text_pieces()")


def test_no_stream_is_one_chunk(kernel: KernelHarness) -> None:
    since = len(kernel.iopub)
    kernel.run("%%llmstream --seed 3 --max-tokens 30 --no-stream\nTell me about snow.")
    comm = opened_widget(kernel, STREAM_WIDGET, since)
    final_state(kernel, comm, "done")
    assert deltas(kernel, comm) == [kernel.value("_llmstream.text")]
    assert kernel.value("_llmstream.result().streamed") is False


def test_async_returns_before_the_stream_ends_and_stop_keeps_the_text(kernel: KernelHarness) -> None:
    since = len(kernel.iopub)
    kernel.run("%%llmstream --async --opt ttft=0 --opt tokens_per_second=1 --max-tokens 1000\nTell me about the sea.")
    comm = opened_widget(kernel, STREAM_WIDGET, since)
    # The cell is over (the harness saw the kernel idle) and the stream is not.
    assert kernel.value("_llmstream.status") in ("waiting", "streaming")
    assert not [s for s in kernel.state_updates(comm) if s.get("status") in ("done", "stopped", "error")]
    kernel.send_custom(comm, {"action": "stop"})  # the Stop button
    state = final_state(kernel, comm, "stopped")
    assert kernel.value("_llmstream.status") == "stopped"
    assert "".join(deltas(kernel, comm)) == kernel.value("_llmstream.text") == state["text"]


def test_interrupting_a_cell_is_one_line_and_stops_run_all(kernel: KernelHarness) -> None:
    since = len(kernel.iopub)
    slow = "%%llmstream --opt ttft=0 --opt tokens_per_second=1 --max-tokens 1000\nTell me about the sea."
    msg_id = kernel.submit(slow)
    queued_id = kernel.submit("ran_after_the_interrupt = True")  # the next cell of "Run all"
    comm = opened_widget(kernel, STREAM_WIDGET, since)
    assert opened_state(kernel, comm)["mode"] == "blocking"  # the page shows the interrupt hint, no Stop
    kernel.wait_for(
        lambda m: (
            m["msg_type"] == "comm_msg"
            and m["content"].get("comm_id") == comm
            and m["content"]["data"].get("method") == "custom"
        ),
        since=since,
    )
    kernel.interrupt()
    assert kernel.reply(msg_id)["content"]["status"] == "error"
    assert kernel.reply(queued_id)["content"]["status"] == "aborted"
    error = kernel.wait_for(lambda m: m["msg_type"] == "error" and m["parent_header"].get("msg_id") == msg_id)
    trace = error["content"]["traceback"]
    assert trace == ["KeyboardInterrupt: stream stopped by interrupt; the partial answer is kept in the view"]
    state = final_state(kernel, comm, "stopped")
    assert kernel.value(
        "[_llmstream.status, _llmstream.text == %r, 'ran_after_the_interrupt' in globals()]" % state["text"]
    ) == ["stopped", True, False]
    assert state["text"]


def test_events_table_rows_in_order(kernel: KernelHarness) -> None:
    since = len(kernel.iopub)
    kernel.run("%%llmstream --events --seed 4 --max-tokens 40\nTell me about birds.")
    answer = opened_widget(kernel, STREAM_WIDGET, since)
    table = opened_widget(kernel, EVENTS_WIDGET, since)
    # Displayed before it runs (the table goes under it), yet drawn with its mode from the start.
    assert opened_state(kernel, answer)["mode"] == "blocking" and mode_updates(kernel, answer) == []
    final_state(kernel, answer, "done")
    state = final_state(kernel, table, "done")
    rows: list[list[Any]] = []
    for content in kernel.custom_messages(table):
        assert content["start"] == len(rows)  # deltas only: contiguous, nothing twice
        rows.extend(content["rows"])
    assert rows == state["rows"]
    kinds = [row[1] for row in rows]
    assert kinds[0] == "on_llm_start" and kinds[-1] == "on_llm_end" and set(kinds[1:-1]) == {"on_llm_stream"}
    assert len({row[3] for row in rows}) == 1  # one run id
    streamed = "".join(ast.literal_eval(row[4]) for row in rows if row[1] == "on_llm_stream")
    assert streamed == kernel.value("_llmstream.text") == "".join(deltas(kernel, answer))


def test_async_events(kernel: KernelHarness) -> None:
    since = len(kernel.iopub)
    kernel.run("%%llmstream --events --async --seed 5 --max-tokens 20\nTell me about trains.")
    table = opened_widget(kernel, EVENTS_WIDGET, since)
    answer = opened_widget(kernel, STREAM_WIDGET, since)
    state = final_state(kernel, table, "done")
    final_state(kernel, answer, "done")
    # The page offers the Stop button from its first drawing, never a hint that turns into one.
    assert opened_state(kernel, answer)["mode"] == "async" and mode_updates(kernel, answer) == []
    kinds = [row[1] for row in state["rows"]]
    assert kinds[0] == "on_llm_start" and kinds[-1] == "on_llm_end"


@pytest.mark.parametrize(
    ("cell", "line"),
    [
        ("%%llmstream --temprature 0.2\nhi", f"llmstream: {UNKNOWN_FLAG}"),
        ("%%llmstream -m nope:x\nhi", "llmstream: unknown provider 'nope'"),
        ("%%llmstream\nTell me about {missing}.", f"llmstream: {MISSING}"),
    ],
)
def test_mistakes_are_one_stderr_line_and_no_error(kernel: KernelHarness, cell: str, line: str) -> None:
    messages = kernel.run(cell)  # raises if the cell failed
    errors, stderr = errors_and_stderr(messages)
    assert errors == []
    assert stderr.count("\n") == 1 and stderr.startswith(line)
    assert not [m for m in messages if m["msg_type"] == "comm_open"]  # no view was made
