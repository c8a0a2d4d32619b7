"""The model interface's derived behaviour, on small in-test providers (no HTTP here)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import threading
import time
from typing import AsyncIterator, Iterator

import pytest

from llmstream_nb import (
    Chunk,
    Completion,
    ConfigurationError,
    InterruptedStreamError,
    Model,
    Usage,
    get_model,
)
from llmstream_nb.asyncgen import aclose_source
from llmstream_nb.options import Request

WORDS = ["Spark", "ling", " water", ",", " oh", " so", " clear"]


class SyncOnly(Model):
    provider = "syncfake"
    default_model = "m"

    def _stream_chunks(self, request: Request) -> Iterator[Chunk | Usage]:
        yield Chunk("")
        for word in WORDS:
            yield Chunk(word, logprob=-0.5)
        yield Chunk("", finish_reason="stop")
        yield Usage(prompt_tokens=3, completion_tokens=len(WORDS))


class AsyncOnly(Model):
    provider = "asyncfake"
    default_model = "m"

    async def _astream_chunks(self, request: Request) -> AsyncIterator[Chunk | Usage]:
        asyncio.get_running_loop()  # proves we run on a loop even when called from sync code
        for word in WORDS:
            await asyncio.sleep(0)
            yield Chunk(word)
        yield Chunk("", finish_reason="length")


class WholeOnly(Model):
    provider = "wholefake"
    default_model = "m"

    def _complete(self, request: Request) -> Completion:
        return Completion(text=f"whole answer to {request.last_user_text}", finish_reason="stop", usage=Usage(2, 4))


class Breaks(Model):
    provider = "breaks"
    default_model = "m"

    def _stream_chunks(self, request: Request) -> Iterator[Chunk]:
        yield Chunk("Hello")
        yield Chunk(" wor")
        raise InterruptedStreamError("connection closed before the end of the stream", provider="breaks")

    async def _astream_chunks(self, request: Request) -> AsyncIterator[Chunk]:
        for chunk in self._stream_chunks(request):
            yield chunk


def test_chunks_print_as_their_text_like_langchains_page() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for chunk in SyncOnly().stream("Write me a 1 verse song about sparkling water."):
            print(chunk, end="|", flush=True)
    assert out.getvalue() == "|Spark|ling| water|,| oh| so| clear||"


def test_chunks_carry_index_arrival_time_and_metadata() -> None:
    stream = SyncOnly().stream("hi")
    chunks = list(stream)
    assert [c.index for c in chunks] == list(range(len(WORDS) + 2))
    assert all(b.t >= a.t >= 0 for a, b in zip(chunks, chunks[1:]))
    assert chunks[1].logprob == -0.5
    assert chunks[-1].finish_reason == "stop"


def test_usage_and_timings_are_reachable_once_the_stream_ends() -> None:
    stream = SyncOnly().stream("hi")
    for _ in stream:
        pass
    assert stream.text == "".join(WORDS)
    assert (stream.usage.prompt_tokens, stream.usage.completion_tokens) == (3, len(WORDS))
    assert stream.timings.chunks == len(WORDS)
    assert stream.timings.ttft is not None and stream.timings.tokens_per_second
    assert stream.completion.finish_reason == "stop"


def test_a_provider_that_answers_whole_still_streams_one_marked_chunk() -> None:
    model = WholeOnly()
    chunks = list(model.stream("q"))
    assert [c.text for c in chunks] == ["whole answer to q"]
    assert chunks[0].fallback and chunks[0].finish_reason == "stop"
    assert not model.can_stream

    async def collect() -> list[Chunk]:
        return [c async for c in model.astream("q")]

    assert [c.text for c in asyncio.run(collect())] == ["whole answer to q"]
    assert model.invoke("q").streamed is False


def test_async_only_provider_works_from_sync_code_inside_a_running_loop() -> None:
    """As in a Jupyter kernel: a sync call made while a loop runs must not touch that loop."""

    async def inside_kernel() -> str:
        return AsyncOnly().invoke("hi").text

    assert asyncio.run(inside_kernel()) == "".join(WORDS)
    assert "".join(c.text for c in AsyncOnly().stream("hi")) == "".join(WORDS)


def test_sync_only_provider_does_not_block_the_event_loop() -> None:
    """The provider blocks until a task on the loop has run: that can only happen if it runs off the loop."""
    loop_ran = threading.Event()

    class Blocking(SyncOnly):
        def _stream_chunks(self, request: Request) -> Iterator[Chunk | Usage]:
            if not loop_ran.wait(30):
                raise AssertionError("the loop stood still while the sync provider blocked")
            yield from super()._stream_chunks(request)

    async def main() -> str:
        async def other_work() -> None:
            loop_ran.set()

        task = asyncio.ensure_future(other_work())
        answer = await Blocking().ainvoke("hi")
        await task
        return answer.text

    assert asyncio.run(main()) == "".join(WORDS)


def test_batch_keeps_order_and_limits_concurrency() -> None:
    running = 0
    peak = 0
    lock = threading.Lock()

    class Counting(WholeOnly):
        def _complete(self, request: Request) -> Completion:
            nonlocal running, peak
            with lock:
                running += 1
                peak = max(peak, running)
            time.sleep(0.02)
            with lock:
                running -= 1
            return super()._complete(request)

    prompts = [f"p{i}" for i in range(8)]
    answers = Counting().batch(prompts, max_concurrency=2)
    assert [a.text for a in answers] == [f"whole answer to p{i}" for i in range(8)]
    assert peak <= 2


def test_batch_raises_the_first_error_or_returns_it_in_place() -> None:
    class Picky(WholeOnly):
        def _complete(self, request: Request) -> Completion:
            if request.last_user_text == "bad":
                raise ValueError("bad input")
            return super()._complete(request)

    with pytest.raises(ValueError, match="bad input"):
        Picky().batch(["a", "bad", "c"])
    results = Picky().batch(["a", "bad", "c"], return_exceptions=True)
    assert isinstance(results[1], ValueError)
    assert [str(r) for r in (results[0], results[2])] == ["whole answer to a", "whole answer to c"]


def test_abatch_keeps_order_limits_concurrency_and_captures_errors() -> None:
    running = 0
    peak = 0

    class Slow(Model):
        provider = "slow"

        async def _acomplete(self, request: Request) -> Completion:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0.01)
            running -= 1
            if request.last_user_text == "bad":
                raise ValueError("bad")
            return Completion(text=request.last_user_text.upper())

    async def main() -> list:
        return await Slow().abatch(["a", "bad", "c", "d"], max_concurrency=2, return_exceptions=True)

    results = asyncio.run(main())
    assert [str(r) for r in results] == ["A", "bad", "C", "D"]
    assert isinstance(results[1], ValueError)
    assert peak <= 2


def test_mid_stream_error_comes_after_the_chunks_and_keeps_the_partial_text() -> None:
    seen = []
    with pytest.raises(InterruptedStreamError) as info:
        for chunk in Breaks().stream("hi"):
            seen.append(chunk.text)
    assert seen == ["Hello", " wor"]
    assert info.value.partial_text == "Hello wor"
    assert "\n" not in str(info.value)


def _events(model: Model, version: str, limit: int | None = None) -> list[dict]:
    async def collect() -> list[dict]:
        events = []
        async for event in model.astream_events("Write me a 1 verse song about goldfish on the moon", version=version):
            events.append(event)
            if limit and len(events) >= limit:
                break
        return events

    return asyncio.run(collect())


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_astream_events_follow_langchains_schema(version: str) -> None:
    events = _events(SyncOnly(), version)
    names = [e["event"] for e in events]
    assert names[0] == "on_llm_start" and names[-1] == "on_llm_end"
    assert set(names[1:-1]) == {"on_llm_stream"}
    keys = {"event", "name", "run_id", "tags", "metadata", "data"} | ({"parent_ids"} if version == "v2" else set())
    assert all(set(e) == keys for e in events)
    assert len({e["run_id"] for e in events}) == 1
    assert events[0]["data"]["input"].startswith("Write me")
    chunk = events[2]["data"]["chunk"]
    assert chunk == "Spark"
    assert isinstance(chunk, str) if version == "v1" else isinstance(chunk, Chunk)
    output = events[-1]["data"]["output"]
    assert (output["text"] if version == "v1" else output.text) == "".join(WORDS)


def test_the_pages_event_snippet_can_stop_early() -> None:
    assert len(_events(SyncOnly(), "v1", limit=4)) == 4


def test_astream_events_reports_errors_then_raises() -> None:
    events: list[dict] = []

    async def collect() -> None:
        async for event in Breaks().astream_events("hi", version="v2"):
            events.append(event)

    with pytest.raises(InterruptedStreamError):
        asyncio.run(collect())
    assert events[-1]["event"] == "on_llm_error"
    assert isinstance(events[-1]["data"]["error"], InterruptedStreamError)


def test_unknown_option_names_the_known_ones() -> None:
    with pytest.raises(ConfigurationError, match="Did you mean 'temperature'"):
        SyncOnly(temprature=0.2)
    with pytest.raises(ConfigurationError, match="unknown option 'colour'"):
        SyncOnly().invoke("hi", colour="red")


def test_unknown_provider_is_one_clear_line() -> None:
    with pytest.raises(ConfigurationError) as info:
        get_model("opneai:gpt-4o")
    message = str(info.value)
    assert "Did you mean 'openai'" in message and "demo" in message and "\n" not in message


def test_default_model_is_demo_and_env_selects_another(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLMSTREAM_MODEL", raising=False)
    assert get_model().provider == "demo"
    monkeypatch.setenv("LLMSTREAM_MODEL", "openai:some-model")
    assert get_model().name == "openai:some-model"


def test_messages_accept_dicts_and_pairs_and_reject_nonsense() -> None:
    model = WholeOnly()
    assert model.invoke([("system", "be brief"), ("human", "hi")]).text == "whole answer to hi"
    assert model.invoke([{"role": "user", "content": "yo"}]).text == "whole answer to yo"
    with pytest.raises(ConfigurationError, match="cannot use a int"):
        model.invoke(42)  # type: ignore[arg-type]


def test_breaking_out_of_a_stream_is_not_an_error() -> None:
    stream = SyncOnly().stream("hi")
    for chunk in stream:
        if chunk.text == "ling":
            break
    del chunk
    stream.close()
    assert stream.error is None and stream.done
    assert stream.text == "Spark" + "ling"


def test_an_outer_generator_leaves_an_inner_one_that_is_closing_to_finish() -> None:
    """The order the event loop may close an abandoned chain in: the inner generator's own close task
    first (waiting in its clean-up), then the outer one's clean-up, which must not close it a second time."""
    closed: list[str] = []

    async def inner() -> AsyncIterator[str]:
        try:
            yield "token"
        finally:
            await asyncio.sleep(0.01)  # a socket's close
            closed.append("inner")

    async def scenario() -> None:
        source = inner()
        await source.__anext__()
        closing = asyncio.ensure_future(source.aclose())
        await asyncio.sleep(0)  # the inner close is under way
        with pytest.raises(RuntimeError, match="already running"):
            await source.aclose()  # what a plain second close does
        await aclose_source(source)  # returns at once
        await closing
        await aclose_source(source)  # a closed generator: nothing to do
        closed.append("outer")

    asyncio.run(scenario())
    assert closed == ["inner", "outer"]


class Thinks(Model):
    provider = "thinks"
    default_model = "m"

    def _stream_chunks(self, request: Request) -> Iterator[Chunk]:
        yield Chunk("Hm, ", kind="reasoning")
        yield Chunk("Sparkling")
        yield Chunk("water? ", kind="reasoning")
        yield Chunk(" water")
        yield Chunk("", finish_reason="stop")


def test_text_and_reasoning_read_while_streaming_are_the_answer_so_far() -> None:
    stream = Thinks().stream("hi")
    seen = [(stream.text, stream.reasoning) for _ in stream]
    assert seen == [
        ("", "Hm, "),
        ("Sparkling", "Hm, "),
        ("Sparkling", "Hm, water? "),
        ("Sparkling water", "Hm, water? "),
        ("Sparkling water", "Hm, water? "),
    ]
    assert stream.completion.text == "Sparkling water" and stream.completion.reasoning == "Hm, water? "
