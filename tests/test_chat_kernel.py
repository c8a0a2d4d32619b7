"""Conversations in a real kernel: --chat cells sent with JupyterLab's cell ids, over loopback to our server.

Two --chat cells, then the second run again: the conversation holds 4 messages (the re-run
replaced its own exchange), and the request our local server logged for turn 2 carries turn 1.
Also here: a view displayed before it started streams by itself, and one that cannot start says why.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from kernel_harness import KernelHarness
from test_magic_kernel import STREAM_WIDGET, final_state, opened_state, opened_widget

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def kernel() -> Iterator[KernelHarness]:
    with KernelHarness.start() as k:
        k.run("%load_ext llmstream_nb")
        yield k


def last_view_state(kernel: KernelHarness, code: str, cell_id: str, status: str = "done") -> dict[str, Any]:
    """Run a cell and return its StreamWidget's state: as first drawn, updated by the end."""
    since = len(kernel.iopub)
    kernel.run(code, cell_id=cell_id)
    comm = opened_widget(kernel, STREAM_WIDGET, since)
    return {**opened_state(kernel, comm), **final_state(kernel, comm, status)}


def test_rerunning_a_chat_cell_replaces_its_exchange_and_turn_two_carries_turn_one(
    kernel: KernelHarness, llm_server: Any
) -> None:
    llm_server.reset()
    line = f"%%llmstream --chat -m openai:ngram --opt base_url={llm_server.base_url} --max-tokens 12 --temperature 0"
    first = last_view_state(kernel, f"{line}\nHow do I brew tea?", cell_id="cell-1")
    assert first["model_name"] == "openai:ngram \u00b7 chat default \u00b7 turn 1"
    assert first["chat"] == {"name": "default", "turn": 1, "left_out": 0, "label": "chat default \u00b7 turn 1"}
    assert first["markdown"] is True  # a chat renders Markdown by default
    second = "%%llmstream --chat --max-tokens 12 --temperature 0\nAnd what about {drink}?"
    kernel.run("drink = 'coffee'")
    last_view_state(kernel, second, cell_id="cell-2")
    kernel.run("drink = 'lemonade'")
    again = last_view_state(kernel, second, cell_id="cell-2")  # the same cell, run again
    assert again["chat"]["turn"] == 2
    messages = kernel.value("_llmstream.chat.messages")
    assert len(messages) == 4
    assert [m["content"] for m in messages[::2]] == ["How do I brew tea?", "And what about lemonade?"]
    assert kernel.value(
        "_llmstream.chat is _llmstream.chat_turn.chat and _llmstream.text == _llmstream.chat.messages[3]['content']"
    )
    asked = llm_server.requests()[-1]["messages"]  # what the server received for the re-run turn 2
    assert asked == [
        {"role": "user", "content": "How do I brew tea?"},
        {"role": "assistant", "content": messages[1]["content"]},
        {"role": "user", "content": "And what about lemonade?"},
    ]
    table = "".join(
        m["content"]["text"] for m in kernel.run("%llmstream chats", cell_id="cell-3") if m["msg_type"] == "stream"
    )
    assert table.splitlines()[1].split() == ["default", "openai:ngram", "2"]


def test_an_async_chat_answer_stopped_with_the_button_is_kept_as_far_as_it_got(kernel: KernelHarness) -> None:
    kernel.run("%llmstream reset")
    kernel.run("%%llmstream --chat -m demo --opt ttft=0 --opt tokens_per_second=0 --max-tokens 5\nHow do I brew tea?")
    since = len(kernel.iopub)
    slow = "--opt ttft=0 --opt tokens_per_second=1 --max-tokens 1000"
    kernel.run(f"%%llmstream --chat --async -m demo {slow}\nTell me about the sea.", cell_id="slow")
    comm = opened_widget(kernel, STREAM_WIDGET, since)
    kernel.wait_for(  # the first words are on the page
        lambda m: (
            m["msg_type"] == "comm_msg"
            and m["content"].get("comm_id") == comm
            and m["content"]["data"].get("method") == "custom"
        ),
        since=since,
    )
    kernel.send_custom(comm, {"action": "stop"})  # the Stop button
    state = final_state(kernel, comm, "stopped")
    last = kernel.value("_llmstream.chat.messages[-1]")
    assert state["text"] and last == {"role": "assistant", "content": state["text"], "status": "stopped"}
    assert kernel.value("[_llmstream.chat.turns, _llmstream.chat.undo().prompt, _llmstream.chat.turns]") == [
        2,
        "Tell me about the sea.",
        1,
    ]


def test_displaying_a_view_that_has_not_started_streams_it(kernel: KernelHarness) -> None:
    kernel.run("from llmstream_nb import StreamView")
    state = last_view_state(kernel, "v = StreamView(iter(['Hello', ', ', 'world']))\ndisplay(v)", cell_id="d1")
    assert state["text"] == "Hello, world" and state["status"] == "done"
    state = last_view_state(kernel, "w = StreamView(iter(['as', ' the last value']))\nw", cell_id="d2")
    assert state["text"] == "as the last value"
    assert kernel.value("[v.status, w.status, v.text]") == ["done", "done", "Hello, world"]


def test_a_view_that_cannot_start_says_why_in_its_status(kernel: KernelHarness) -> None:
    state = last_view_state(kernel, "bad = StreamView(42)\ndisplay(bad)", cell_id="e1", status="error")
    assert state["error"].startswith("TypeError: ") and "int" in state["error"]
    assert json.loads(json.dumps(kernel.value("bad.status"))) == "error"
