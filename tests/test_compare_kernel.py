"""compare() in a real kernel: two columns stream at once, each its own deltas, then the summary.

Read off iopub as a browser would receive it; nothing asserts on wall-clock time.
"""

from __future__ import annotations

import textwrap
from typing import Any, Iterator

import pytest
from kernel_harness import KernelHarness

pytestmark = pytest.mark.kernel

WIDGET = "AnyModel"


@pytest.fixture
def kernel() -> Iterator[KernelHarness]:
    harness = KernelHarness.start()
    try:
        harness.run("from llmstream_nb import compare, get_model")
        yield harness
    finally:
        harness.shutdown()


def deltas(messages: list[Any]) -> str:
    text = ""
    for message in messages:
        if "d" in message:
            text = message["d"] if message.get("reset") else text + message["d"]
    return text


def summary_html(kernel: KernelHarness, since: int) -> str:
    """The value of the last HTML widget opened since `since`, as the page knows it."""
    (comm_id,) = kernel.comm_ids("HTMLModel", since=since)
    value = ""
    for message in kernel.comm_messages(comm_id):
        state = message["content"].get("data", {}).get("state", {})
        value = state.get("value", value)
    return value


@pytest.mark.parametrize("async_", [False, True])
def test_two_columns_stream_and_the_summary_appears(kernel: KernelHarness, async_: bool) -> None:
    kernel.run('m1, m2 = (get_model("demo", ttft=0, tokens_per_second=0, seed=s) for s in (1, 2))')
    start = len(kernel.iopub)
    shown = kernel.run(
        textwrap.dedent(f"""
        c = compare([m1, m2], "Tell me about trains", async_={async_}, options=dict(max_tokens=40))
        c  # the last value: not drawn a second time
    """)
    )
    widgets = [
        m
        for m in shown
        if m["msg_type"] == "display_data" and "application/vnd.jupyter.widget-view+json" in m["content"]["data"]
    ]
    assert len(widgets) == 1  # one output: the columns and the summary, not one output per column
    if async_:
        kernel.run("await c")
    first, second = kernel.comm_ids(WIDGET, count=2, since=start)
    texts = kernel.value("c.texts")
    assert texts[0] and texts[1] and texts[0] != texts[1]
    kernel.wait_for(lambda m: deltas(kernel.custom_messages(first)) == texts[0])
    kernel.wait_for(lambda m: deltas(kernel.custom_messages(second)) == texts[1])
    kernel.wait_for(lambda m: "tokens/s" in summary_html(kernel, start))
    page = summary_html(kernel, start)
    assert page.count("demo:ngram") == 2 and "<script" not in page
    summary = kernel.value("c.summary()")
    assert [row["chunks"] for row in summary] == [40, 40]
    assert all(row["status"] == "done" for row in summary)
