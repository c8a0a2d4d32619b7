"""StreamView in a real kernel: the comm traffic a browser would receive, read off iopub.

Checks that deltas add up to the text, that traffic grows linearly and is coalesced in
time, that async views outlive their cell and stop on a Stop click (and the server sees
the connection close), that an interrupted blocking cell leaves a stopped view, a working
kernel, one line of error and no queued cell run after it, that the page learns the mode
(Stop button or interrupt hint) when the widget opens, that the final state and the text
fallback hold the answer, and that the demo model trains on a background thread.
Nothing here asserts on wall-clock time; waits are long so a loaded machine only slows it.
"""

from __future__ import annotations

import json
import textwrap
import time
from typing import Any, Iterator

import pytest

from kernel_harness import KernelHarness, Message

pytestmark = pytest.mark.kernel

WIDGET = "AnyModel"  # the _model_name of anywidget models, ours among them
MAX_UPDATES_PER_SECOND = 30


@pytest.fixture
def kernel() -> Iterator[KernelHarness]:
    harness = KernelHarness.start()
    try:
        harness.run("from llmstream_nb import StreamView, show, get_model")
        yield harness
    finally:
        harness.shutdown()


def code(text: str) -> str:
    return textwrap.dedent(text).strip()


def deltas(messages: list[Any]) -> str:
    """The text the page rebuilds from plain-mode delta messages."""
    text = ""
    for message in messages:
        if "d" in message:
            text = message["d"] if message.get("reset") else text + message["d"]
    return text


def last_state(kernel: KernelHarness, comm_id: str) -> dict[str, Any]:
    """The widget's state as the page knows it: comm_open state plus every update, in order."""
    (opened,) = [m for m in kernel.comm_messages(comm_id) if m["msg_type"] == "comm_open"]
    state = dict(opened["content"]["data"]["state"])
    for update in kernel.state_updates(comm_id):
        state.update(update)
    return state


def wait_for_status(kernel: KernelHarness, comm_id: str, status: str) -> None:
    kernel.wait_for(
        lambda m: (
            m["msg_type"] == "comm_msg"
            and m["content"]["comm_id"] == comm_id
            and m["content"]["data"].get("state", {}).get("status") == status
        )
    )


def wait_for_delta(kernel: KernelHarness, comm_id: str, containing: str = "") -> None:
    kernel.wait_for(
        lambda m: (
            m["msg_type"] == "comm_msg"
            and m["content"]["comm_id"] == comm_id
            and m["content"]["data"].get("method") == "custom"
            and containing in json.dumps(m["content"]["data"]["content"], ensure_ascii=False)
        )
    )


def is_comm(msg: Message) -> bool:
    return msg["msg_type"] in ("comm_open", "comm_msg", "comm_close")


def opened_state(kernel: KernelHarness, comm_id: str) -> dict[str, Any]:
    """The state the page first draws the widget with (before any update)."""
    (opened,) = [m for m in kernel.comm_messages(comm_id) if m["msg_type"] == "comm_open"]
    return opened["content"]["data"]["state"]


INTERRUPT_LINE = "KeyboardInterrupt: stream stopped by interrupt; the partial answer is kept in the view"


def assert_one_line_interrupt(kernel: KernelHarness, msg_id: str) -> None:
    """What the person sees under an interrupted view: one line, no frames, no file of ours."""
    error = kernel.wait_for(lambda m: m["msg_type"] == "error" and m["parent_header"].get("msg_id") == msg_id)
    trace = error["content"]["traceback"]
    shown = "\n".join(trace)
    assert trace == [INTERRUPT_LINE], shown
    assert ".py" not in shown and "llmstream_nb" not in shown and "Traceback" not in shown


# -- blocking mode ---------------------------------------------------------------------------


def test_fast_stream_traffic_is_linear_and_coalesced(kernel: KernelHarness) -> None:
    kernel.run(
        code("""
        model = get_model("demo", ttft=0, tokens_per_second=0)
        model.invoke("warm up", max_tokens=5)
    """)
    )
    start = len(kernel.iopub)
    kernel.run('view = show(model, "Tell me about trains", options=dict(max_tokens=5000, min_tokens=5000, seed=7))')
    (comm_id,) = kernel.comm_ids(WIDGET, since=start)
    text = kernel.value("view.text")
    stats = kernel.value("view.stats")
    assert stats["chunks"] == 5000 and stats["status"] == "done"

    custom = kernel.custom_messages(comm_id)
    assert deltas(custom) == text  # in order, nothing lost or repeated
    assert len(custom) <= MAX_UPDATES_PER_SECOND * stats["elapsed"] + 3

    traffic = [m for m in kernel.iopub[start:] if is_comm(m)]
    fixed = sum(kernel.wire_bytes(m) for m in traffic if m["msg_type"] == "comm_open")  # holds the JS and CSS
    streaming = sum(kernel.wire_bytes(m) for m in traffic if m["msg_type"] != "comm_open")
    text_bytes = len(text.encode())
    print(
        f"\n5,000 tokens, {text_bytes} bytes of text in {stats['elapsed']:.2f} s: "
        f"{len(custom)} delta messages, {len(traffic)} comm messages, "
        f"{streaming} bytes streaming + {fixed} bytes comm_open"
    )
    assert streaming < 3 * text_bytes + 8_000


def test_paced_stream_is_coalesced_to_30_updates_a_second(kernel: KernelHarness) -> None:
    """About 5,000 tokens a second for ~1 s: many more tokens than updates."""
    start = len(kernel.iopub)
    kernel.run(
        code("""
        import time
        def paced(n=5000, per_second=5000):
            begin = time.perf_counter()
            for i in range(n):
                while time.perf_counter() - begin < i / per_second:
                    pass
                yield f"w{i} "
        view = show(paced())
    """)
    )
    (comm_id,) = kernel.comm_ids(WIDGET, since=start)
    stats = kernel.value("view.stats")
    custom = kernel.custom_messages(comm_id)
    assert deltas(custom) == "".join(f"w{i} " for i in range(5000))
    print(f"\n5,000 paced tokens in {stats['elapsed']:.2f} s: {len(custom)} delta messages")
    assert len(custom) <= MAX_UPDATES_PER_SECOND * stats["elapsed"] + 3
    assert len(custom) < 5000 / 10


def test_final_state_and_text_fallback(kernel: KernelHarness) -> None:
    start = len(kernel.iopub)
    kernel.run('view = show(iter(["Final ", "answer", "."]), model="fake:model")')
    (comm_id,) = kernel.comm_ids(WIDGET, since=start)
    state = last_state(kernel, comm_id)
    assert state["text"] == "Final answer." and state["status"] == "done"
    assert state["model_name"] == "fake:model" and state["stats"]["chunks"] == 3

    shown = next(m for m in kernel.iopub[start:] if m["msg_type"] == "display_data")
    display_id = shown["content"]["transient"]["display_id"]
    assert shown["content"]["data"]["application/vnd.jupyter.widget-view+json"]["model_id"] == comm_id
    update = next(m for m in kernel.iopub[start:] if m["msg_type"] == "update_display_data")
    assert update["content"]["transient"]["display_id"] == display_id
    assert update["content"]["data"]["text/plain"] == "Final answer."


def test_markup_tokens_travel_as_literal_text(kernel: KernelHarness) -> None:
    tokens = ["<img src=x onerror=alert(1)>", " & ", "<script>alert(1)</script>"]
    start = len(kernel.iopub)
    kernel.run(f"plain = show(iter({tokens!r}))")
    (plain,) = kernel.comm_ids(WIDGET, since=start)
    assert deltas(kernel.custom_messages(plain)) == "".join(tokens)

    start = len(kernel.iopub)
    kernel.run(f"marked = show(iter({tokens!r}), sep='|')")
    (marked,) = kernel.comm_ids(WIDGET, since=start)
    assert [piece for m in kernel.custom_messages(marked) for piece in m["c"]] == tokens
    assert last_state(kernel, marked)["text"] == "".join(tokens)


def test_error_keeps_partial_text_and_hides_keys(kernel: KernelHarness) -> None:
    start = len(kernel.iopub)
    kernel.run(
        code("""
        def failing():
            yield "partial "
            raise ConnectionError("refused for key sk-abcdefghijklmn")
        view = show(failing())
    """)
    )
    (comm_id,) = kernel.comm_ids(WIDGET, since=start)
    state = last_state(kernel, comm_id)
    assert state["status"] == "error" and state["text"] == "partial "
    assert state["error"] == "ConnectionError: refused for key [redacted]"
    shown = [m["content"] for m in kernel.iopub[start:] if m["msg_type"] != "execute_input"]  # the code itself has it
    assert "sk-abc" not in json.dumps(shown)
    assert kernel.value("type(view.error).__name__") == "ConnectionError"


THOUGHT = "Tea? <b>Let</b> me think & think."
ANSWER = "Tea is calm."
# A reasoning model's stream: thinking in two pieces, a pause (so the answer comes in a message
# of its own), then the answer. As our chunks, and as the OpenAI SDK's chunks from a DeepSeek-style
# server (`delta.reasoning_content`), which end with a usage chunk.
REASONING_SOURCES = {
    "chunks": """
        import time
        from llmstream_nb import Chunk
        def thinking():
            yield Chunk("Tea? <b>Let</b> me think", kind="reasoning")
            yield Chunk(" & think.", kind="reasoning")
            time.sleep(0.3)
            yield from ["Tea is ", "calm."]
        source = thinking()
    """,
    "openai_sdk": """
        import time
        from openai.types.chat import ChatCompletionChunk
        def sdk_chunk(delta=None, usage=None):
            choices = [{"index": 0, "delta": delta, "finish_reason": None}] if delta is not None else []
            return ChatCompletionChunk.model_validate({"id": "c1", "object": "chat.completion.chunk", "created": 0,
                                                       "model": "deepseek-reasoner", "choices": choices, "usage": usage})
        def thinking():
            yield sdk_chunk({"role": "assistant", "content": None, "reasoning_content": "Tea? <b>Let</b> me think"})
            yield sdk_chunk({"content": None, "reasoning_content": " & think."})
            time.sleep(0.3)
            yield from [sdk_chunk({"content": "Tea is "}), sdk_chunk({"content": "calm."})]
            yield sdk_chunk(usage={"prompt_tokens": 4, "completion_tokens": 9, "total_tokens": 13})
        source = thinking()
    """,
}


@pytest.mark.parametrize("kind", sorted(REASONING_SOURCES))
def test_reasoning_travels_in_its_own_field_and_the_final_state_keeps_it(kernel: KernelHarness, kind: str) -> None:
    kernel.run(code(REASONING_SOURCES[kind]))
    start = len(kernel.iopub)
    kernel.run("view = show(source)")
    (comm_id,) = kernel.comm_ids(WIDGET, since=start)
    custom = kernel.custom_messages(comm_id)
    assert custom[0] == {"d": "", "r": "Tea? <b>Let</b> me think", "s": custom[0]["s"]}  # thinking alone
    assert "".join(m.get("r", "") for m in custom) == THOUGHT
    assert deltas(custom) == ANSWER
    answer_only = [m for m in custom if "r" not in m]
    assert answer_only and all(set(m) == {"d", "s"} for m in answer_only)  # plain answer deltas as ever

    comm = [m["content"]["data"] for m in kernel.comm_messages(comm_id)]
    streaming = next(i for i, data in enumerate(comm) if data.get("state", {}).get("status") == "streaming")
    first_answer = next(i for i, data in enumerate(comm) if data.get("content", {}).get("d"))
    assert streaming < first_answer  # the page says "streaming" while the model thinks

    assert kernel.value("[view.text, view.reasoning, view.result().reasoning]") == [ANSWER, THOUGHT, THOUGHT]
    state = last_state(kernel, comm_id)
    assert (state["status"], state["text"], state["reasoning"]) == ("done", ANSWER, THOUGHT)  # kept when saved
    update = next(m for m in kernel.iopub[start:] if m["msg_type"] == "update_display_data")
    assert update["content"]["data"]["text/plain"] == ANSWER
    if kind == "openai_sdk":  # a foreign source's usage reaches the completion
        usage = kernel.value("view.result().usage.to_dict()")
        assert usage == {"prompt_tokens": 4, "completion_tokens": 9, "total_tokens": 13}
        assert kernel.value("view.model_name") == "deepseek-reasoner"


SLOW_SOURCES = {
    "sync": """
        import time
        closed = []
        def slow():
            try:
                for i in range(100_000):
                    time.sleep(0.02)
                    yield f"t{i} "
            finally:
                closed.append(True)
    """,
    "async": """
        import asyncio
        closed = []
        async def slow():
            try:
                for i in range(100_000):
                    await asyncio.sleep(0.02)
                    yield f"t{i} "
            finally:
                closed.append(True)
    """,
}


@pytest.mark.parametrize("kind", sorted(SLOW_SOURCES))
def test_interrupt_stops_a_blocking_cell_and_the_next_cell_runs(kernel: KernelHarness, kind: str) -> None:
    """An async source in blocking mode runs on a worker thread's loop; interrupt must stop it just the same.

    The interrupted cell still fails, so the cell queued behind it ("Run all") is not run,
    but its error is one line: the view already shows "stopped" and the partial text.
    """
    kernel.run(code(SLOW_SOURCES[kind]))
    start = len(kernel.iopub)
    msg_id = kernel.submit("view = StreamView(slow())\nview.run()")
    queued_id = kernel.submit("ran_after_the_interrupt = True")  # the next cell of "Run all"
    (comm_id,) = kernel.comm_ids(WIDGET, since=start)
    assert opened_state(kernel, comm_id)["mode"] == "blocking"  # the page shows the interrupt hint
    wait_for_delta(kernel, comm_id, "t1 ")
    kernel.interrupt()
    reply = kernel.reply(msg_id)
    assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "StreamInterrupted"
    assert_one_line_interrupt(kernel, msg_id)
    assert kernel.reply(queued_id)["content"]["status"] == "aborted"
    assert kernel.value("'ran_after_the_interrupt' in globals()") is False
    assert kernel.value("isinstance(__import__('sys').last_value, KeyboardInterrupt)") is True

    status, text, closed = kernel.value("[view.status, view.text, closed]")  # the next cell runs
    assert status == "stopped" and text.startswith("t0 t1 ") and closed == [True]
    wait_for_status(kernel, comm_id, "stopped")
    state = last_state(kernel, comm_id)
    assert state["text"] == text == deltas(kernel.custom_messages(comm_id))
    update = next(m for m in kernel.iopub[start:] if m["msg_type"] == "update_display_data")
    assert update["content"]["data"]["text/plain"] == text + "\n[stopped]"


def test_interrupting_show_of_a_model_is_one_line(kernel: KernelHarness) -> None:
    """The path the review saw: show() -> view -> sources -> streams -> the demo provider."""
    start = len(kernel.iopub)
    msg_id = kernel.submit(
        'view = show("demo", "Tell me about trains", options=dict(max_tokens=2000, min_tokens=2000))'
    )
    (comm_id,) = kernel.comm_ids(WIDGET, since=start)
    wait_for_delta(kernel, comm_id)
    kernel.interrupt()
    assert kernel.reply(msg_id)["content"]["status"] == "error"
    assert_one_line_interrupt(kernel, msg_id)
    wait_for_status(kernel, comm_id, "stopped")
    assert last_state(kernel, comm_id)["text"] == deltas(kernel.custom_messages(comm_id)) != ""


def test_the_page_learns_the_mode_when_the_widget_opens(kernel: KernelHarness) -> None:
    """The page shows a Stop button (async) or the interrupt hint (blocking) from its first
    drawing; a view displayed before it runs starts then, so it opens with its mode too."""
    start = len(kernel.iopub)
    kernel.run('blocking = show(iter(["a", "b"]))')
    (comm_id,) = kernel.comm_ids(WIDGET, since=start)
    assert opened_state(kernel, comm_id)["mode"] == "blocking"
    assert not [u for u in kernel.state_updates(comm_id) if "mode" in u]

    start = len(kernel.iopub)
    kernel.run(
        code("""
        async def words():
            yield "a"
        running = show(words())
    """)
    )
    (comm_id,) = kernel.comm_ids(WIDGET, since=start)
    wait_for_status(kernel, comm_id, "done")
    assert opened_state(kernel, comm_id)["mode"] == "async"
    assert not [u for u in kernel.state_updates(comm_id) if "mode" in u]

    start = len(kernel.iopub)
    kernel.run('early = StreamView(iter(["c"]))\ndisplay(early)')  # displaying starts it, as show() would
    (comm_id,) = kernel.comm_ids(WIDGET, since=start)
    assert opened_state(kernel, comm_id)["mode"] == "blocking"
    assert kernel.value("[early.status, early.text]") == ["done", "c"]


# -- async mode ------------------------------------------------------------------------------


def test_async_views_outlive_their_cell(kernel: KernelHarness) -> None:
    start = len(kernel.iopub)
    reply_id = kernel.submit(
        code("""
        import asyncio
        gate = asyncio.Event()
        async def gated(name):
            yield f"{name} before "
            await gate.wait()
            for i in range(3):
                await asyncio.sleep(0.01)
                yield f"{name} after{i} "
        first, second = show(gated("A")), show(gated("B"))
    """)
    )
    assert kernel.reply(reply_id)["content"]["status"] == "ok"  # returned with both streams waiting on the gate
    assert kernel.value("[first.status, second.status]") in (
        ["streaming", "streaming"],
        ["waiting", "streaming"],
        ["streaming", "waiting"],
        ["waiting", "waiting"],
    )
    comm_a, comm_b = kernel.comm_ids(WIDGET, count=2, since=start)

    kernel.run("gate.set()")  # every later token arrives after the first cell's reply
    for comm_id, name in ((comm_a, "A"), (comm_b, "B")):
        wait_for_status(kernel, comm_id, "done")
        expected = f"{name} before " + "".join(f"{name} after{i} " for i in range(3))
        assert deltas(kernel.custom_messages(comm_id)) == expected
        assert last_state(kernel, comm_id)["text"] == expected
    assert kernel.value("[first.result().text, second.status]")[1] == "done"


def test_sync_request_gets_the_text_so_far(kernel: KernelHarness) -> None:
    """What a page reloaded mid-stream does: ask, and get everything sent so far as one reset."""
    start = len(kernel.iopub)
    kernel.run(
        code("""
        import asyncio
        gate = asyncio.Event()
        async def gated():
            yield "so "
            yield "far"
            await gate.wait()
            yield "!"
        view = show(gated())
    """)
    )
    (comm_id,) = kernel.comm_ids(WIDGET, since=start)
    wait_for_delta(kernel, comm_id, "far")
    kernel.send_custom(comm_id, {"action": "sync"})
    kernel.wait_for(lambda m: m["msg_type"] == "comm_msg" and m["content"]["data"].get("content", {}).get("reset") == 1)
    kernel.run("gate.set()")
    wait_for_status(kernel, comm_id, "done")
    custom = kernel.custom_messages(comm_id)
    reset = next(m for m in custom if m.get("reset"))
    assert reset["d"] == "so far"
    assert deltas(custom) == "so far!"


def test_stop_click_ends_an_async_stream_and_closes_the_connection(kernel: KernelHarness, slow_llm_server: Any) -> None:
    """`slow_llm_server` (tests/server_fixture.py, loaded by conftest) logs how each request ended."""
    seen = {r["id"] for r in slow_llm_server.requests()}
    start = len(kernel.iopub)
    kernel.run(
        code(f"""
        model = get_model("openai:ngram", base_url={slow_llm_server.base_url!r})
        stream = model.astream("Tell me a long story", max_tokens=2000, min_tokens=2000)
        view = show(stream)
    """)
    )
    (comm_id,) = kernel.comm_ids(WIDGET, since=start)
    wait_for_delta(kernel, comm_id)  # a few tokens are on the page
    assert kernel.value("view.status") == "streaming"

    kernel.send_custom(comm_id, {"action": "stop"})  # what the Stop button sends
    wait_for_status(kernel, comm_id, "stopped")
    status, text, stream_done = kernel.value("[view.status, view.text, stream.done]")
    assert status == "stopped" and text and stream_done
    state = last_state(kernel, comm_id)
    assert state["text"] == text == deltas(kernel.custom_messages(comm_id))
    assert kernel.value("view.result().text") == text  # a stopped view's result is the partial answer

    deadline = time.monotonic() + 60
    while True:  # the server notices the closed connection on its own schedule
        outcomes = [r["outcome"] for r in slow_llm_server.requests() if r["id"] not in seen]
        if outcomes and None not in outcomes:
            break
        assert time.monotonic() < deadline, f"the server never saw the request end: {outcomes}"
        time.sleep(0.1)
    assert outcomes == ["client_disconnected"]


# -- the demo model's training ---------------------------------------------------------------

# Holds the demo model's training at a gate and records the thread it runs on. A training
# that blocked the cell would hang that cell at the gate (and fail the test), so a cell
# that returns proves it did not wait; nothing here measures time.
HOLD_TRAINING = """
    import threading
    from llmstream_nb.demo.lm import DemoLM
    entered, gate, trained_on = threading.Event(), threading.Event(), []
    _real_init = DemoLM.__init__
    def _held_init(self, *args, **kwargs):
        trained_on.append(threading.current_thread().name)
        entered.set()
        gate.wait(600)
        _real_init(self, *args, **kwargs)
    DemoLM.__init__ = _held_init
"""


def test_load_ext_trains_the_demo_model_in_the_background(kernel: KernelHarness) -> None:
    kernel.run(code(HOLD_TRAINING))
    kernel.run("%load_ext llmstream_nb")  # returns while the training waits at the gate
    assert kernel.value("entered.wait(60) and trained_on") == ["llmstream-demo-warmup"]
    kernel.run("gate.set()")
    start = len(kernel.iopub)
    kernel.run("%%llmstream -m demo --opt ttft=0 --opt tokens_per_second=0 --max-tokens 5\nTell me about tea.")
    (comm_id,) = kernel.comm_ids(WIDGET, since=start)
    assert last_state(kernel, comm_id)["status"] == "done"
    assert kernel.value("trained_on") == ["llmstream-demo-warmup"]  # trained once, not again by the cell


def test_a_view_of_a_demo_stream_trains_it_in_the_background(kernel: KernelHarness) -> None:
    kernel.run(code(HOLD_TRAINING))
    kernel.run('model = get_model("demo", ttft=0, tokens_per_second=0)')
    kernel.run('view = StreamView(model.stream("Tell me about tea.", max_tokens=5))')  # made, not run
    assert kernel.value("entered.wait(60) and trained_on") == ["llmstream-demo-warmup"]
    kernel.run("gate.set()\nview.run()")
    assert kernel.value("[view.status, bool(view.text), trained_on]") == ["done", True, ["llmstream-demo-warmup"]]


# -- teaching features: per-token metadata ------------------------------------------------


@pytest.mark.parametrize("feature", ["color='prob'", "timeline=True"])
def test_token_metadata_arrives_in_order_and_matches_the_chunks(kernel: KernelHarness, feature: str) -> None:
    start = len(kernel.iopub)
    kernel.run(
        code(f"""
        model = get_model("demo", ttft=0.05, tokens_per_second=400)
        stream = model.stream("Tell me about trains", max_tokens=60, seed=5, logprobs=True, top_logprobs=3)
        view = StreamView(stream, {feature}).run()
        expected = [[round(c.t, 4), round(c.logprob, 4), [[a, round(lp, 4)] for a, lp in c.top_logprobs]]
                    for c in view.chunks if c.kind == "text" and c.text]
    """)
    )
    (comm_id,) = kernel.comm_ids(WIDGET, since=start)
    custom = kernel.custom_messages(comm_id)
    assert all(len(m["c"]) == len(m["m"]) for m in custom)
    meta = [entry for m in custom for entry in m["m"]]
    expected = kernel.value("expected")
    assert meta == expected and len(meta) == kernel.value("view.stats['chunks']")
    times = [entry[0] for entry in meta]
    assert times == sorted(times) and times[0] > 0
    state = last_state(kernel, comm_id)
    assert state["meta"] == expected and state["inspect"] is True


def test_plain_mode_messages_stay_as_they_were(kernel: KernelHarness) -> None:
    start = len(kernel.iopub)
    kernel.run(
        code("""
        model = get_model("demo", ttft=0, tokens_per_second=0)
        view = StreamView(model.stream("Tell me about trains", max_tokens=30, seed=5, logprobs=True)).run()
    """)
    )
    (comm_id,) = kernel.comm_ids(WIDGET, since=start)
    assert all(set(m) == {"d", "s"} for m in kernel.custom_messages(comm_id))
    assert last_state(kernel, comm_id).get("meta", []) == []


def test_the_magic_flags_reach_the_view_and_the_model(kernel: KernelHarness) -> None:
    kernel.run("%load_ext llmstream_nb")
    start = len(kernel.iopub)
    kernel.run(
        "%%llmstream -m demo --opt ttft=0 --opt tokens_per_second=0 --color prob --logprobs --timeline -o v "
        "--max-tokens 20\nTell me about trains"
    )
    (comm_id,) = kernel.comm_ids(WIDGET, since=start)
    state = last_state(kernel, comm_id)
    assert state["color"] == "prob" and state["timeline"] is True and state["inspect"] is True
    assert state["meta"] and all(isinstance(e[1], float) and len(e[2]) == 5 for e in state["meta"])


# -- tool calls ----------------------------------------------------------------------------


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
