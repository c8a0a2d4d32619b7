"""Tool calls in a real kernel: the widget traffic a page receives while a call streams, and the final state."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
from kernel_harness import KernelHarness

pytestmark = pytest.mark.kernel

WIDGET = "AnyModel"


@pytest.fixture
def kernel() -> Iterator[KernelHarness]:
    harness = KernelHarness.start()
    try:
        harness.run("from llmstream_nb import show, get_model")
        yield harness
    finally:
        harness.shutdown()


def last_state(kernel: KernelHarness, comm_id: str) -> dict[str, Any]:
    (opened,) = [m for m in kernel.comm_messages(comm_id) if m["msg_type"] == "comm_open"]
    state = dict(opened["content"]["data"]["state"])
    for update in kernel.state_updates(comm_id):
        state.update(update)
    return state


def test_a_streamed_call_reaches_the_page_as_fragments_then_pretty_json(kernel: KernelHarness) -> None:
    """The name comes with the first fragment, the arguments add up fragment by fragment in "t", the answer's
    own field stays empty, and the final state holds the call with its indented JSON."""
    kernel.run(
        textwrap.dedent(
            """
            from llmstream_nb.server import BackgroundServer
            server = BackgroundServer(ttft=0, tps=400, jitter=0).start()
            tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {
                "type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                "required": ["city", "days"]}}}]
            llm = get_model("openai:ngram", base_url=server.base_url)
            """
        )
    )
    start = len(kernel.iopub)
    kernel.run('view = show(llm.stream("Weather in Paris?", tools=tools, tool_choice="required", seed=1))')
    (comm_id,) = kernel.comm_ids(WIDGET, since=start)
    entries = [entry for message in kernel.custom_messages(comm_id) for entry in message.get("t", [])]
    assert len(entries) > 3 and entries[0][:3] == [0, entries[0][1], "get_weather"] and entries[0][1]
    assert all(entry[0] == 0 and entry[2] is None for entry in entries[1:])
    raw = "".join(entry[3] for entry in entries)
    arguments = json.loads(raw)
    assert set(arguments) == {"city", "days"}
    assert all(m.get("d", "") == "" for m in kernel.custom_messages(comm_id))
    state = last_state(kernel, comm_id)
    assert state["status"] == "done" and state["text"] == ""
    assert state["tool_calls"] == [
        {"id": entries[0][1], "name": "get_weather", "arguments": raw, "pretty": json.dumps(arguments, indent=2),
         "error": None}
    ]  # fmt: skip
    assert kernel.value("[c.arguments for c in view.tool_calls]") == [arguments]
    kernel.run("server.stop()")


def test_invalid_arguments_keep_the_raw_text_and_the_reason(kernel: KernelHarness) -> None:
    kernel.run(
        textwrap.dedent(
            """
            from llmstream_nb.tool_calls import ToolCallChunk
            def calls():
                yield "Let me check."
                yield ToolCallChunk("", call_id="c1", name="lookup")
                yield ToolCallChunk('{"q": "<b>tea</b>"', call=0)
            """
        )
    )
    start = len(kernel.iopub)
    kernel.run("view = show(calls())")
    (comm_id,) = kernel.comm_ids(WIDGET, since=start)
    state = last_state(kernel, comm_id)
    (call,) = state["tool_calls"]
    assert state["text"] == "Let me check."
    assert call["arguments"] == '{"q": "<b>tea</b>"' and call["pretty"] is None
    assert call["error"].startswith("the arguments of lookup are not valid JSON")
