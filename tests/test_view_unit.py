"""StreamView without a kernel: source adapters, coalescing, stats, errors, the terminal fallback,
and the widget side's messages (with the widget's send and display captured in-process)."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
from types import SimpleNamespace
from typing import Any, AsyncIterator, Callable, Iterator

import pytest

from llmstream_nb import Chunk, Completion, Timings, Usage
from llmstream_nb.chunks import REASONING
from llmstream_nb.errors import ServerError
from llmstream_nb.models.base import Model
from llmstream_nb.models.streams import TokenStream
from llmstream_nb.sources import AsyncChunkIterator, ChunkIterator, to_chunk
from llmstream_nb.terminal import TerminalPrinter
from llmstream_nb.view import StreamView, show
from llmstream_nb.view.coalesce import SHARED_RATE, Coalescer, Flusher
from llmstream_nb.view.display import inert_markdown
from llmstream_nb.view.interrupt import StreamInterrupted
from llmstream_nb.view.stats import StatsTracker

# -- helpers ---------------------------------------------------------------------------------


class EchoModel(Model):
    """Streams the prompt back word by word, sync and async, then a usage report."""

    provider = "echo"
    default_model = "words"

    def _stream_chunks(self, request: Any) -> Iterator[Any]:
        words = request.last_user_text.split()
        for word in words:
            yield Chunk(word + " ")
        yield Usage(prompt_tokens=len(words), completion_tokens=len(words))

    async def _astream_chunks(self, request: Any) -> AsyncIterator[Any]:
        for piece in self._stream_chunks(request):
            await asyncio.sleep(0)
            yield piece


class Tracked:
    """A generator source that records whether it was closed."""

    def __init__(self, items: list[Any], fail: BaseException | None = None) -> None:
        self.items = items
        self.fail = fail
        self.closed = False

    def __iter__(self) -> Iterator[Any]:
        try:
            yield from self.items
            if self.fail is not None:
                raise self.fail
        finally:
            self.closed = True


def terminal_view(source: Any, **options: Any) -> tuple[StreamView, io.StringIO]:
    out = io.StringIO()
    return StreamView(source, file=out, **options), out


def chat_model(answer: str = "Tea is calm.") -> Any:
    """A LangChain chat model: a pydantic object, which iterates over its fields."""
    fake = pytest.importorskip("langchain_core.language_models.fake_chat_models")
    return fake.GenericFakeChatModel(messages=iter([answer]))


def openai_chunk(content: str | None, finish: str | None = None, model: str = "gpt-test") -> SimpleNamespace:
    delta = SimpleNamespace(content=content, role=None)
    return SimpleNamespace(model=model, choices=[SimpleNamespace(delta=delta, finish_reason=finish, index=0)])


# -- adapters --------------------------------------------------------------------------------


def test_strings_and_our_chunks() -> None:
    assert to_chunk("Hi").text == "Hi"
    ours = Chunk("x", finish_reason="stop")
    assert to_chunk(ours) is ours
    assert to_chunk(None) is None and to_chunk(Usage(1, 2)) is None


def test_langchain_like_content_string_and_blocks() -> None:
    assert to_chunk(SimpleNamespace(content="Hello")).text == "Hello"
    blocks = [{"type": "text", "text": "Hel"}, {"type": "tool_use", "id": "t1"}, "lo", SimpleNamespace(text="!")]
    assert to_chunk(SimpleNamespace(content=blocks)).text == "Hello!"
    finished = SimpleNamespace(content="", response_metadata={"finish_reason": "stop", "model_name": "lc-model"})
    assert to_chunk(finished).finish_reason == "stop"


def test_text_attribute_and_text_method() -> None:
    assert to_chunk(SimpleNamespace(text="gen")).text == "gen"  # LangChain GenerationChunk
    assert to_chunk(SimpleNamespace(text=lambda: "called")).text == "called"  # BaseMessage.text()


def test_openai_sdk_like_chunks() -> None:
    assert to_chunk(openai_chunk("Hel")).text == "Hel"
    assert to_chunk(openai_chunk(None)).text == ""  # the role-only first chunk
    assert to_chunk(openai_chunk("", finish="stop")).finish_reason == "stop"
    assert to_chunk(SimpleNamespace(choices=[])).text == ""  # filter results / final usage chunk
    legacy = SimpleNamespace(choices=[SimpleNamespace(text="old", finish_reason=None)])
    assert to_chunk(legacy).text == "old"
    raw_json = {"choices": [{"delta": {"content": "raw"}, "finish_reason": None}]}
    assert to_chunk(raw_json).text == "raw"


def test_unknown_item_is_an_error_not_silence() -> None:
    with pytest.raises(TypeError, match="cannot read text from a int"):
        to_chunk(42)


def test_foreign_items_are_stamped_and_callers_chunks_copied() -> None:
    ticks = iter([0.0, 0.5, 1.25, 2.0])
    mine = Chunk("b")
    chunks = list(ChunkIterator(["a", mine, openai_chunk("c")], clock=lambda: next(ticks)))
    assert [(c.text, c.index, c.t) for c in chunks] == [("a", 0, 0.5), ("b", 1, 1.25), ("c", 2, 2.0)]
    assert chunks[1] is not mine and mine.t == 0.0


def test_our_streams_keep_their_own_stamps() -> None:
    stream = EchoModel().stream("one two")
    chunks = list(ChunkIterator(stream))
    assert [c.text for c in chunks] == ["one ", "two "]
    assert chunks == stream.chunks and chunks[0] is stream.chunks[0]


def test_chunk_iterator_close_releases_the_source() -> None:
    source = Tracked(["a", "b", "c"])
    chunks = ChunkIterator(source)
    next(chunks)
    chunks.close()
    assert source.closed


@pytest.mark.asyncio
async def test_async_chunk_iterator() -> None:
    async def source() -> AsyncIterator[Any]:
        yield "x"
        yield SimpleNamespace(content="y")

    assert [c.text async for c in AsyncChunkIterator(source())] == ["x", "y"]


# -- coalescing ------------------------------------------------------------------------------


class FakeTime:
    """A clock and a scheduler that only move when the test says so."""

    def __init__(self) -> None:
        self.now = 0.0
        self.timers: list[tuple[float, Callable[[], None], list[bool]]] = []

    def clock(self) -> float:
        return self.now

    def schedule(self, delay: float, callback: Callable[[], None]) -> Callable[[], None]:
        cancelled = [False]
        self.timers.append((self.now + delay, callback, cancelled))
        return lambda: cancelled.__setitem__(0, True)

    def advance(self, to: float) -> None:
        """Move the clock to `to`, firing due timers in order at their own times."""
        while True:
            due = sorted((t for t in self.timers if not t[2][0] and t[0] <= to), key=lambda t: t[0])
            if not due:
                break
            when, callback, cancelled = due[0]
            self.timers.remove(due[0])
            self.now = max(self.now, when)
            callback()
        self.now = to


def make_flusher(interval: float = 1 / 30) -> tuple[Flusher, FakeTime, list[tuple[float, list[str]]]]:
    time_ = FakeTime()
    sent: list[tuple[float, list[str]]] = []
    flusher = Flusher(lambda pieces: sent.append((time_.now, pieces)), time_.schedule, interval, time_.clock)
    return flusher, time_, sent


def test_a_burst_of_20000_chunks_is_coalesced() -> None:
    flusher, time_, sent = make_flusher()
    arrivals = [i * 50e-6 for i in range(20_000)]  # 20,000 tokens a second, for one second
    for i, at in enumerate(arrivals):
        time_.advance(at)
        flusher.add(f"t{i} ")
    time_.advance(arrivals[-1] + 0.2)  # the source stalls: only the timer can send the rest
    elapsed = arrivals[-1]
    assert len(sent) <= elapsed / (1 / 30) + 2
    assert "".join("".join(pieces) for _, pieces in sent) == "".join(f"t{i} " for i in range(20_000))
    gaps = [b[0] - a[0] for a, b in zip(sent, sent[1:])]
    assert min(gaps) >= 1 / 30 - 1e-9
    assert sent[-1][0] - arrivals[-1] <= 1 / 30 + 1e-9


def test_a_chunk_followed_by_a_stall_is_sent_by_the_timer() -> None:
    flusher, time_, sent = make_flusher()
    flusher.add("first")  # nothing sent for a while: goes out at once
    assert sent == [(0.0, ["first"])]
    time_.advance(0.01)
    flusher.add("second")  # within the interval: buffered, timer armed
    assert len(sent) == 1
    time_.advance(0.5)  # the source stalls
    assert sent[1][1] == ["second"]
    assert sent[1][0] - 0.01 <= 0.1


def test_close_sends_the_rest_and_disarms() -> None:
    flusher, time_, sent = make_flusher()
    flusher.add("a")
    flusher.add("b")
    flusher.close()
    assert [pieces for _, pieces in sent] == [["a"], ["b"]]
    flusher.add("late")
    time_.advance(1.0)
    assert len(sent) == 2


def test_many_views_streaming_at_once_share_a_message_budget() -> None:
    """8 flushers stream at 30 messages a second each; 32 at once share SHARED_RATE (240) a second,
    and once most have closed the rest are back to 30."""
    time_ = FakeTime()
    sent: list[list[tuple[float, list[str]]]] = [[] for _ in range(32)]
    flushers = [
        Flusher(lambda p, i=i: sent[i].append((time_.now, p)), time_.schedule, 1 / 30, time_.clock) for i in range(32)
    ]

    def one_second(start: float, active: list[int]) -> None:
        for step in range(1, 1001):  # 1,000 tokens a second into each active flusher
            time_.advance(start + step / 1000)
            for i in active:
                flushers[i].add("x")

    one_second(0.0, list(range(32)))
    total = sum(len(s) for s in sent)
    assert SHARED_RATE * 0.9 <= total <= SHARED_RATE + 32  # not 32 x 30 = 960
    for flusher in flushers[4:]:
        flusher.close()
    before = len(sent[0])
    one_second(1.0, [0, 1, 2, 3])
    assert 28 <= len(sent[0]) - before <= 31  # 4 live flushers: each back to ~30 a second
    for flusher in flushers[:4]:
        flusher.close()


def test_coalescer_due_times() -> None:
    now = [10.0]
    coalescer = Coalescer(interval=0.1, clock=lambda: now[0])
    assert coalescer.due is None
    coalescer.add("a")
    assert coalescer.ready() and coalescer.take() == ["a"]
    now[0] = 10.02
    coalescer.add("b")
    assert coalescer.due == pytest.approx(10.1) and not coalescer.ready()


# -- stats -----------------------------------------------------------------------------------


def test_stats_tracker_matches_timings() -> None:
    chunks = [Chunk("a", t=0.5), Chunk("b", t=0.75), Chunk("c", t=1.5)]
    tracker = StatsTracker()
    for chunk in chunks:
        tracker.add(chunk)
    assert tracker.timings(2.0) == Timings.from_chunks(chunks, 2.0)
    assert tracker.compact(2.0) == [3, 0.5, 2.0, 2.0]


def test_view_stats_and_completion() -> None:
    view, _ = terminal_view(EchoModel().stream("a b c"))
    view.run()
    stats = view.stats
    assert stats["status"] == "done" and stats["chunks"] == 3
    assert stats["ttft"] is not None and stats["elapsed"] >= stats["ttft"]
    assert set(stats) == {"chunks", "ttft", "tokens_per_second", "elapsed", "status", "input_tokens", "output_tokens"}
    assert (stats["input_tokens"], stats["output_tokens"]) == (3, 3)  # what the provider reported
    assert view.stats_line.endswith("tokens 3 in, 3 out")
    completion = view.result()
    assert isinstance(completion, Completion)
    assert completion.text == view.text == "a b c "
    assert completion.usage.completion_tokens == 3 and completion.model == "echo:words"
    assert all(isinstance(c, Chunk) for c in view.chunks)


def langchain_usage_items() -> list[Any]:
    messages = pytest.importorskip("langchain_core.messages")
    usage = [
        {"input_tokens": 5, "output_tokens": 1, "total_tokens": 6},
        {"input_tokens": 0, "output_tokens": 1, "total_tokens": 1},
    ]
    return [messages.AIMessageChunk(content=text, usage_metadata=u) for text, u in zip(["Hi", "!"], usage)]


#: The same answer ("Hi!", 5 prompt and 2 completion tokens) as each family reports it.
FOREIGN_USAGE: dict[str, Callable[[], list[Any]]] = {
    "langchain": langchain_usage_items,  # usage_metadata per chunk, added up
    "openai": lambda: [
        {"choices": [{"delta": {"content": "Hi"}, "finish_reason": None}]},
        {"choices": [{"delta": {"content": "!"}, "finish_reason": "stop"}]},
        {"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 2}},  # include_usage's last chunk
    ],
    "anthropic": lambda: [
        {"type": "message_start", "message": {"model": "claude-x", "usage": {"input_tokens": 5, "output_tokens": 1}}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi!"}},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 2}},
    ],
}


@pytest.mark.asyncio
@pytest.mark.parametrize("family", sorted(FOREIGN_USAGE))
async def test_foreign_sources_usage_reaches_the_completion(family: str) -> None:
    """Not only our own streams know their usage: what a foreign source reported is the view's, in both modes."""
    blocking = StreamView(iter(FOREIGN_USAGE[family]()), file=io.StringIO()).run().result()
    running = await StreamView(iter(FOREIGN_USAGE[family]()), file=io.StringIO()).start()
    for completion in (blocking, running):
        assert completion.text == "Hi!" and completion.usage == Usage(5, 2)


# -- blocking runs ---------------------------------------------------------------------------


def test_error_keeps_the_partial_text_and_redacts() -> None:
    source = Tracked(["Hello", " wor"], fail=RuntimeError("upstream said key sk-abcdefghijklmnop is bad"))
    view, _ = terminal_view(source)
    assert view.run() is view
    assert view.status == "error" and view.text == "Hello wor"
    assert isinstance(view.error, RuntimeError)
    assert view.error_line.startswith("RuntimeError: upstream said key [redacted]")
    assert "sk-abc" not in view.error_line
    assert source.closed
    with pytest.raises(RuntimeError):
        view.result()


def test_our_errors_get_the_partial_text() -> None:
    view, _ = terminal_view(Tracked(["abc"], fail=ServerError("boom", provider="x")))
    view.run()
    assert view.error.partial_text == "abc"


def test_keyboard_interrupt_stops_closes_and_goes_on() -> None:
    source = Tracked(["one ", "two "], fail=KeyboardInterrupt())
    view, _ = terminal_view(source)
    with pytest.raises(KeyboardInterrupt) as raised:
        view.run()
    assert view.status == "stopped" and view.text == "one two " and source.closed
    assert view.result().text == "one two "
    # Still a KeyboardInterrupt (so "Run all" stops), but one IPython draws as one line,
    # with no chained traceback of the internals it went through.
    assert isinstance(raised.value, StreamInterrupted)
    assert raised.value._render_traceback_() == [
        "KeyboardInterrupt: stream stopped by interrupt; the partial answer is kept in the view"
    ]
    assert raised.value.__context__ is None and raised.value.__cause__ is None
    assert raised.traceback[-1].name == "run"  # raised by the view itself, not from deep in the source


def test_keyboard_interrupt_before_any_text_says_so() -> None:
    view, _ = terminal_view(Tracked([], fail=KeyboardInterrupt()))
    with pytest.raises(StreamInterrupted, match="before any text arrived"):
        view.run()
    assert view.status == "stopped"


def test_stop_during_a_blocking_run() -> None:
    view: StreamView | None = None

    def source() -> Iterator[str]:
        yield "a"
        yield "b"
        assert view is not None
        view.stop()
        yield "c"
        yield "d"

    view, _ = terminal_view(source())
    view.run()
    assert view.status == "stopped" and view.text == "ab"


def test_a_view_runs_once() -> None:
    view, _ = terminal_view(["x"])
    view.run()
    with pytest.raises(RuntimeError, match="once"):
        view.run()


def test_blocking_run_of_an_async_source() -> None:
    async def source() -> AsyncIterator[str]:
        for word in ("async ", "in ", "a ", "thread"):
            await asyncio.sleep(0)
            yield word

    view, _ = terminal_view(source())
    view.run()
    assert view.text == "async in a thread" and view.status == "done"


# -- terminal fallback -----------------------------------------------------------------------


def test_terminal_fallback_prints_tokens(capsys: pytest.CaptureFixture[str]) -> None:
    view = show(iter(["Hello", ",", " world"]), sep="|")
    assert view.widget is None
    out = capsys.readouterr().out
    assert out == "Hello|,| world\n"  # between tokens: none ends the answer alone
    assert view.text == "Hello, world"  # the separator is drawn, never part of the text


def test_a_separator_never_starts_a_line_nor_ends_the_answer(capsys: pytest.CaptureFixture[str]) -> None:
    show(iter(["Roses", " are", " red.\n", "Violets", "\n", "\n", "are", " blue.\n"]), sep="|")
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["Roses| are| red.", "Violets|", "", "are| blue.", ""][: len(lines)], lines
    assert not any(line.startswith("|") for line in lines) and not lines[-1].endswith("|")


def test_terminal_error_line_is_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    show(Tracked(["partial"], fail=ValueError("Bearer sk-secretsecret123")))
    captured = capsys.readouterr()
    assert captured.out.startswith("partial")
    assert "error: ValueError: Bearer [redacted]" in captured.err and "secret" not in captured.err


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_printer_sets_reasoning_apart() -> None:
    """Reasoning is marked ("[reasoning]", or dimmed on a TTY), never gets the answer's separators,
    and a blank line parts it from the answer, either way round."""
    chunks = [Chunk("Tea ", REASONING), Chunk("first.", REASONING), Chunk("Tea"), Chunk(" is")]
    chunks += [Chunk("hm", REASONING), Chunk("!")]  # thinking again after some answer
    plain = io.StringIO()
    printer = TerminalPrinter(sep="|", file=plain)
    for chunk in chunks:
        printer.feed(chunk)
    printer.finish()
    assert plain.getvalue() == "[reasoning] Tea first.\n\nTea| is\n\n[reasoning] hm\n\n!\n"

    tty = Tty()
    printer = TerminalPrinter(file=tty)
    for chunk in chunks[:3]:
        printer.feed(chunk)
    printer.finish()
    dim, reset = "\x1b[2m", "\x1b[0m"
    assert tty.getvalue() == f"{dim}thinking: {reset}{dim}Tea {reset}{dim}first.{reset}\n\nTea\n"


def test_terminal_view_prints_reasoning_apart_and_keeps_the_answer_alone() -> None:
    view, out = terminal_view(iter([Chunk("Let me see.", REASONING), "Tea", " is calm."]))
    view.run()
    assert out.getvalue() == "[reasoning] Let me see.\n\nTea is calm.\n"
    assert (view.text, view.reasoning) == ("Tea is calm.", "Let me see.")
    assert view.result().reasoning == "Let me see."


def test_import_keeps_widgets_out() -> None:
    code = "import sys, llmstream_nb, llmstream_nb.view; print('ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


WARM_UP_PROBE = """
import io, sys, threading
import llmstream_nb, llmstream_nb.view
print(sorted(t.name for t in threading.enumerate()), "llmstream_nb.demo.lm" in sys.modules)
from llmstream_nb import get_model
from llmstream_nb.view import StreamView
StreamView(iter(["not a demo"]), model="openai:gpt-x", file=io.StringIO())
print(sorted(t.name for t in threading.enumerate()))
view = StreamView(get_model("demo", ttft=0, tokens_per_second=0).stream("hi", max_tokens=3), file=io.StringIO())
from llmstream_nb.demo import warmup
warmup._thread.join(120)
from llmstream_nb.demo import DemoLM
print(warmup._thread.name, DemoLM._shared is not None)
"""


def test_import_trains_nothing_and_a_demo_view_trains_in_the_background() -> None:
    out = subprocess.run([sys.executable, "-c", WARM_UP_PROBE], capture_output=True, text=True, check=True).stdout
    after_import, after_other_view, warmed = out.strip().splitlines()
    assert after_import == "['MainThread'] False"  # `import llmstream_nb` starts no thread, trains nothing
    assert after_other_view == "['MainThread']"  # only a demo stream warms the demo model
    assert warmed == "llmstream-demo-warmup True"  # made (not run) a demo view: trained on the daemon thread


# -- show() ----------------------------------------------------------------------------------


def test_show_a_model_and_prompt_blocks() -> None:
    view = show(EchoModel(), "tell me", file=io.StringIO())
    assert view.status == "done" and view.text == "tell me " and view.model_name == "echo:words"


def test_show_argument_errors() -> None:
    with pytest.raises(TypeError, match="needs a prompt"):
        show(EchoModel())
    with pytest.raises(TypeError, match="already a stream"):
        show(iter(["x"]), "prompt")
    with pytest.raises(TypeError, match="show\\(model, prompt\\)"):
        StreamView(EchoModel())


class Words:
    """Not one of our models, not LangChain: just an object with `stream(prompt)`."""

    def stream(self, prompt: str) -> Iterator[str]:
        for word in prompt.split():
            yield word + " "


@pytest.mark.asyncio
async def test_show_takes_any_model_object_with_a_prompt() -> None:
    blocking = show(chat_model(), "Tell me about tea.", file=io.StringIO())
    assert (blocking.text, blocking.status) == ("Tea is calm.", "done")
    assert blocking.model_name == "langchain:GenericFakeChatModel"
    running = show(Words(), "tea is calm", async_=True, file=io.StringIO())
    assert running.mode == "async" and (await running).text == "tea is calm "
    with pytest.raises(TypeError, match="needs a prompt"):
        show(chat_model())


def test_show_names_the_model_from_openai_chunks() -> None:
    view = show(iter([openai_chunk(None), openai_chunk("Hi")]), file=io.StringIO())
    assert view.model_name == "gpt-test" and view.text == "Hi"


# -- async runs ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_async_show_returns_at_once_and_await_gives_the_completion() -> None:
    gate, asked_again = asyncio.Event(), asyncio.Event()

    async def source() -> AsyncIterator[str]:
        yield "before "
        asked_again.set()  # the view took "before " and asks for more
        await gate.wait()
        yield "after"

    view = show(source(), file=io.StringIO())
    assert view.status == "waiting"  # the task has not run yet: show() returned at once
    await asked_again.wait()
    assert view.text == "before " and view.active
    gate.set()
    completion = await view
    assert completion.text == "before after" and view.status == "done"


@pytest.mark.asyncio
async def test_async_stop_cancels_and_closes_the_source() -> None:
    closed, asked_again = asyncio.Event(), asyncio.Event()

    async def source() -> AsyncIterator[str]:
        try:
            yield "partial"
            asked_again.set()
            await asyncio.Event().wait()  # never set: only a Stop ends this
            yield "never"
        finally:
            closed.set()

    view = StreamView(source(), file=io.StringIO()).start()
    await asked_again.wait()
    view.stop()
    completion = await view
    assert view.status == "stopped" and completion.text == "partial" and closed.is_set()


@pytest.mark.asyncio
async def test_async_stop_before_the_first_step() -> None:
    async def source() -> AsyncIterator[str]:
        yield "x"

    view = StreamView(source(), file=io.StringIO()).start()
    view.stop()
    assert (await view).text == "" and view.status == "stopped"


@pytest.mark.asyncio
async def test_outside_cancellation_propagates() -> None:
    asked_again = asyncio.Event()

    async def source() -> AsyncIterator[str]:
        yield "x"
        asked_again.set()
        await asyncio.Event().wait()

    view = StreamView(source(), file=io.StringIO()).start()
    await asked_again.wait()
    assert view._task is not None
    view._task.cancel()  # someone else's cancellation (a timeout, a task group), not Stop
    with pytest.raises(asyncio.CancelledError):
        await view
    assert view.status == "stopped" and view.text == "x"


@pytest.mark.asyncio
async def test_async_error_and_sync_source_in_async_mode() -> None:
    async def failing() -> AsyncIterator[str]:
        yield "so far"
        raise ValueError("bad")

    view = show(failing(), file=io.StringIO())
    with pytest.raises(ValueError):
        await view
    assert view.status == "error" and view.text == "so far"
    words = show(iter(["sync ", "in ", "async"]), async_=True, file=io.StringIO())
    assert (await words).text == "sync in async"


@pytest.mark.asyncio
async def test_async_model_and_several_at_once() -> None:
    views = [show(EchoModel(), f"stream {i}", async_=True, file=io.StringIO()) for i in range(3)]
    completions = await asyncio.gather(*views)
    assert [c.text for c in completions] == [f"stream {i} " for i in range(3)]


@pytest.mark.asyncio
async def test_a_model_object_is_refused_alike_by_run_and_start() -> None:
    """start() once iterated a LangChain model over its pydantic fields ("cannot read text from a tuple")."""
    refusal = r"^a GenericFakeChatModel is a model, not a stream: pass its \.stream\(prompt\)$"
    for begin in (StreamView.run, StreamView.start):
        view = StreamView(chat_model(), file=io.StringIO())
        with pytest.raises(TypeError, match=refusal):
            begin(view)
        assert view.status == "waiting" and view.mode == ""


class Manager:
    """A sync context manager that is not iterable itself, like Anthropic's `client.messages.stream(...)`."""

    def __init__(self, items: list[str]) -> None:
        self.items = items
        self.exited = False

    def __enter__(self) -> Iterator[str]:
        return iter(self.items)

    def __exit__(self, *exc_info: object) -> None:
        self.exited = True


@pytest.mark.asyncio
async def test_an_unentered_sync_manager_streams_in_both_modes() -> None:
    blocking, running = Manager(["in ", "a thread"]), Manager(["on ", "the loop"])
    assert StreamView(blocking, file=io.StringIO()).run().text == "in a thread" and blocking.exited
    assert (await StreamView(running, file=io.StringIO()).start()).text == "on the loop"
    for _ in range(500):  # exited on the worker thread, not awaited (a blocked read must not hold up a Stop)
        if running.exited:
            break
        await asyncio.sleep(0.01)
    assert running.exited


# -- the widget side, in-process -------------------------------------------------------------


class FakeHandle:
    def __init__(self, data: dict[str, Any]) -> None:
        self.shown = data
        self.updates: list[dict[str, Any]] = []

    def update(self, data: dict[str, Any], raw: bool = False) -> None:
        self.updates.append(data)


@pytest.fixture
def widget_view(monkeypatch: pytest.MonkeyPatch) -> Callable[..., tuple[StreamView, list[Any], list[FakeHandle]]]:
    """A StreamView that believes it is in a kernel: sends and displays are recorded."""
    from llmstream_nb import runtime
    from llmstream_nb.view import widget_sink
    from llmstream_nb.view.widget import StreamWidget

    monkeypatch.setattr(runtime, "in_kernel", lambda: True)
    handles: list[FakeHandle] = []
    monkeypatch.setattr(widget_sink, "show_bundle", lambda data: handles.append(FakeHandle(data)) or handles[-1])
    sent: list[Any] = []
    monkeypatch.setattr(StreamWidget, "send", lambda self, content, buffers=None: sent.append(content))

    def make(source: Any, **options: Any) -> tuple[StreamView, list[Any], list[FakeHandle]]:
        return StreamView(source, **options), sent, handles

    return make


def test_widget_plain_deltas_final_state_and_fallback(widget_view: Callable[..., Any]) -> None:
    view, sent, handles = widget_view(["<script>alert(1)</script>", " and ", "<img src=x onerror=alert(1)>"], model="m")
    view.run()
    assert all(set(m) == {"d", "s"} for m in sent)
    assert "".join(m["d"] for m in sent) == view.text == "<script>alert(1)</script> and <img src=x onerror=alert(1)>"
    widget = view.widget
    assert (widget.text, widget.status, widget.model_name, widget.mode) == (view.text, "done", "m", "blocking")
    assert widget.stats["chunks"] == 3 and widget.offsets == []
    handle, saved = handles  # the view, and its answer for exports that keep widget state
    assert handle.shown["application/vnd.jupyter.widget-view+json"]["model_id"] == widget.model_id
    assert handle.updates[-1]["text/plain"] == view.text and "text/markdown" not in handle.updates[-1]
    assert list(saved.updates[-1]) == ["text/html"]
    assert 'hidden="hidden">&lt;script&gt;alert(1)&lt;/script&gt; and &lt;img src=x' in saved.updates[-1]["text/html"]
    assert "<script>alert" not in saved.updates[-1]["text/html"] and "<img" not in saved.updates[-1]["text/html"]


def test_widget_boundaries_send_chunk_lists_and_utf16_offsets(widget_view: Callable[..., Any]) -> None:
    view, sent, _ = widget_view(["a", "😀", "bc"], sep="|")
    view.run()
    assert [piece for m in sent for piece in m["c"]] == ["a", "😀", "bc"]
    assert view.text == "a😀bc" and view.widget.offsets == [1, 3, 5]


def test_widget_markdown_is_rendered_by_the_page_and_the_fallback_is_inert(widget_view: Callable[..., Any]) -> None:
    view, _, handles = widget_view(["# Title\n", "*bold* <script>alert(1)</script> ", "`a<b`"], markdown=True)
    view.run()
    assert view.widget.markdown and view.widget.text == view.text  # the page renders it, untrusted
    fallback = handles[0].updates[-1]
    assert fallback["text/plain"] == view.text
    assert fallback["text/markdown"] == "# Title\n*bold* &lt;script>alert(1)&lt;/script> `a<b`"


MARKDOWN_IMAGES = [
    ("![alt](http://198.51.100.7/a.png)", "\\![alt](http://198.51.100.7/a.png)"),
    ("![ref][logo] and ![logo]\n", "\\![ref][logo] and \\![logo]\n"),
    ("`![code](x.png)` stays code", "`![code](x.png)` stays code"),
    ("\\![escaped](x.png) stays escaped", "\\![escaped](x.png) stays escaped"),
    ("\\\\![after an escaped backslash](x.png)", "\\\\\\![after an escaped backslash](x.png)"),
    ("<img src=http://198.51.100.7/b.png>", "&lt;img src=http://198.51.100.7/b.png>"),
]


@pytest.mark.parametrize(("answer", "fallback"), MARKDOWN_IMAGES)
def test_markdown_fallback_shows_images_as_links_never_loads_them(answer: str, fallback: str) -> None:
    assert inert_markdown(answer) == fallback


def test_markdown_fallback_renders_no_image() -> None:
    mistune = pytest.importorskip("mistune")
    answer = "".join(a for a, _ in MARKDOWN_IMAGES) + "\n\n[logo]: http://198.51.100.7/logo.png\n"
    html = mistune.html(inert_markdown(answer))
    assert "<img" not in html and 'href="http://198.51.100.7/a.png"' in html


def test_widget_error_state(widget_view: Callable[..., Any]) -> None:
    view, _, handles = widget_view(Tracked(["part"], fail=OSError("token sk-abcdef123456 refused")))
    view.run()
    widget = view.widget
    assert widget.status == "error" and widget.text == "part"
    assert widget.error == "OSError: token [redacted] refused"
    assert handles[0].updates[-1]["text/plain"] == "part\n[error: OSError: token [redacted] refused]"


def test_widget_mode_is_set_before_the_page_sees_it(widget_view: Callable[..., Any]) -> None:
    view, _, handles = widget_view(["a", "b"])
    view.run()
    assert view.mode == view.widget.mode == "blocking"  # made at begin, displayed with it

    early, _, _ = widget_view(["c"])
    assert early.mode == "" and early.widget.mode == ""  # not begun: the page offers no control yet
    early.run()
    assert early.widget.mode == "blocking"

    planned, _, handles = widget_view(["d"])
    planned.display("blocking")  # the magic's --events path: displayed before run()
    assert planned.widget.mode == "blocking" and len(handles) == 6  # each view: its output, its saved answer
    planned.run()
    assert planned.widget.mode == "blocking" and len(handles) == 6  # displayed once


@pytest.mark.asyncio
async def test_widget_mode_async(widget_view: Callable[..., Any]) -> None:
    async def source() -> AsyncIterator[str]:
        yield "x"

    view, _, _ = widget_view(source())
    view.start()
    assert view.widget.mode == "async"
    await view


def test_widget_sync_and_stop_messages(widget_view: Callable[..., Any]) -> None:
    state: dict[str, Any] = {}

    def source() -> Iterator[str]:
        yield "one "
        yield "two "
        sink = state["view"]._sink
        sink._on_message(None, {"action": "sync"}, [])
        sink._on_message(None, {"action": "stop"}, [])
        yield "three"

    view, sent, _ = widget_view(source())
    state["view"] = view
    view.run()
    resets = [m for m in sent if m.get("reset")]
    assert resets == [{"d": "one two ", "s": resets[0]["s"], "reset": 1}]
    assert view.status == "stopped" and view.widget.text == "one two "


THOUGHTS = [Chunk("Think <b>hard</b>", REASONING), Chunk(" & long.", REASONING)]


def test_widget_reasoning_rides_in_its_own_field(widget_view: Callable[..., Any]) -> None:
    state: dict[str, Any] = {}

    def source() -> Iterator[Any]:
        yield THOUGHTS[0]
        state["status"] = state["view"].status
        yield from [THOUGHTS[1], "The answer", " is 42."]

    view, sent, handles = widget_view(source())
    state["view"] = view
    view.run()
    assert state["status"] == "streaming"  # the model answers with its thinking: not "waiting"
    assert sent[0] == {"d": "", "r": "Think <b>hard</b>", "s": sent[0]["s"]}  # reasoning alone: "d" is empty
    assert "".join(m.get("r", "") for m in sent) == view.reasoning == "Think <b>hard</b> & long."
    assert "".join(m["d"] for m in sent) == view.text == "The answer is 42."
    assert all(set(m) == {"d", "s"} for m in sent if "r" not in m)  # answer deltas as ever
    widget = view.widget
    assert (widget.text, widget.reasoning) == (view.text, view.reasoning) == (view.text, view.result().reasoning)
    assert handles[0].updates[-1]["text/plain"] == "The answer is 42."  # the fallback is the answer alone


def test_widget_reasoning_is_never_split_into_tokens(widget_view: Callable[..., Any]) -> None:
    view, sent, _ = widget_view([*THOUGHTS, "a", "😀"], sep="|")
    view.run()
    assert [piece for m in sent for piece in m["c"]] == ["a", "😀"]
    assert "".join(m.get("r", "") for m in sent) == view.widget.reasoning == "Think <b>hard</b> & long."
    assert view.widget.offsets == [1, 3]  # the answer's tokens only


def test_widget_sync_resends_the_reasoning_too(widget_view: Callable[..., Any]) -> None:
    state: dict[str, Any] = {}

    def source() -> Iterator[Any]:
        yield from [*THOUGHTS, "so far"]
        state["view"]._sink._on_message(None, {"action": "sync"}, [])
        yield "!"

    view, sent, _ = widget_view(source())
    state["view"] = view
    view.run()
    (reset,) = [m for m in sent if m.get("reset")]
    assert (reset["d"], reset["r"]) == ("so far", "Think <b>hard</b> & long.")


# -- teaching features: token metadata ---------------------------------------------------


def _demo_stream(**options: Any) -> Any:
    from llmstream_nb import get_model

    model = get_model("demo", ttft=0, tokens_per_second=0)
    return model.stream("Tell me about trains", max_tokens=12, seed=3, **options)


def test_plain_mode_messages_carry_no_metadata(widget_view: Callable[..., Any]) -> None:
    view, sent, _ = widget_view(_demo_stream(logprobs=True, top_logprobs=3))
    view.run()
    assert sent and all(set(m) == {"d", "s"} for m in sent)  # exactly as before: the benchmarks measure these
    widget = view.widget
    assert not widget.metadata_on and widget.meta == [] and not view.inspect


@pytest.mark.parametrize("feature", [{"color": "prob"}, {"timeline": True}, {"inspect": True}])
def test_a_teaching_feature_sends_t_and_logprob_per_token(
    widget_view: Callable[..., Any], feature: dict[str, Any]
) -> None:
    view, sent, _ = widget_view(_demo_stream(logprobs=True, top_logprobs=3), **feature)
    view.run()
    assert all(set(m) == {"c", "m", "s"} for m in sent)
    pieces = [p for m in sent for p in m["c"]]
    meta = [e for m in sent for e in m["m"]]
    tokens = [c for c in view.chunks if c.kind == "text" and c.text]
    assert pieces == [c.text for c in tokens] and len(meta) == len(tokens)
    for entry, chunk in zip(meta, tokens):
        assert entry[0] == round(chunk.t, 4) and entry[1] == round(chunk.logprob, 4)
        assert len(entry) == 3  # every feature turns the inspector on, so alternatives ride along
        assert [alt for alt, _ in entry[2]] == [alt for alt, _ in chunk.top_logprobs]
    assert view.widget.meta == meta and view.inspect


def test_metadata_without_the_inspector_has_no_alternatives(widget_view: Callable[..., Any]) -> None:
    view, sent, _ = widget_view(_demo_stream(logprobs=True, top_logprobs=3), color="prob")
    view.widget.inspect = False  # colour alone, as a page that would not inspect
    view.run()
    assert all(len(e) == 2 for m in sent for e in m["m"])


def test_metadata_from_a_source_without_logprobs_is_null(widget_view: Callable[..., Any]) -> None:
    view, sent, _ = widget_view(["a", " b", "\n"], color="prob")
    view.run()
    meta = [e for m in sent for e in m["m"]]
    assert [e[1] for e in meta] == [None, None, None] and [len(e) for e in meta] == [2, 2, 2]
    assert view.widget.meta == meta and view.widget.offsets == [1, 3, 4]


def test_sync_resends_the_metadata(widget_view: Callable[..., Any]) -> None:
    view, sent, _ = widget_view(["a", "b", "c"], timeline=True)
    view.run()
    view._sink._send_reset()  # what a "sync" from a reloaded page answers
    reset = sent[-1]
    assert reset["reset"] == 1 and reset["c"] == ["a", "b", "c"] and len(reset["m"]) == 3


def test_color_must_be_prob() -> None:
    with pytest.raises(ValueError, match="prob"):
        StreamView(["a"], color="rainbow", file=io.StringIO())


@pytest.mark.asyncio
async def test_started_waits_for_the_first_token_not_for_the_end() -> None:
    """`await view.started()`: what a cell after an `--async` cell uses to read the text under Run All."""
    gate = asyncio.Event()

    async def held() -> Any:
        await asyncio.sleep(0)
        yield "Tea"
        await gate.wait()
        yield " is calm."

    view = StreamView(held(), file=io.StringIO()).start()
    assert (await view.started()) is view
    assert (view.status, view.text) == ("streaming", "Tea")
    gate.set()
    await view
    assert (await view.started()).text == "Tea is calm."  # after the end it returns at once

    empty = StreamView(iter([]), file=io.StringIO()).start()
    await empty.started()  # a stream that ends without a token wakes it too
    assert empty.status == "done"
