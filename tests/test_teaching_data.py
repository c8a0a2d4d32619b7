"""Teaching tools as data: timings rows, side-by-side summaries, slow motion's schedule, the fallback label.

No widgets and no kernel; nothing asserts on wall-clock time (slow motion is checked with a
fake clock, and its wrappers only for order and content).
"""

from __future__ import annotations

import asyncio
import builtins
import io
from typing import Any

import pytest

from llmstream_nb import Chunk, Completion, ConfigurationError, compare, get_model, timeline
from llmstream_nb.magic.arguments import MagicUsageError, parse_cell_line
from llmstream_nb.sources.slow_motion import Pacer, check_speed, slow_motion
from llmstream_nb.timeline import NO_PANDAS
from llmstream_nb.view import StreamView
from llmstream_nb.view.stats import FALLBACK_NOTE, format_stats

PROMPT = "Tell me about trains."


def instant(seed: int) -> Any:
    return get_model("demo", ttft=0, tokens_per_second=0, seed=seed)


# -- timings as data ---------------------------------------------------------------------


def chunks() -> list[Chunk]:
    return [
        Chunk("", index=0, t=0.1),  # a role chunk: no text, no row
        Chunk("think", kind="reasoning", index=1, t=0.2),  # reasoning: no row
        Chunk("Spark", index=2, t=0.5, logprob=-0.25),
        Chunk("ling", index=3, t=0.75, logprob=-1.5),
        Chunk(" water", index=4, t=1.5),
    ]


def test_timeline_rows_gaps_and_ttft() -> None:
    rows = timeline(chunks())
    assert [r.text for r in rows] == ["Spark", "ling", " water"]
    assert [r.index for r in rows] == [2, 3, 4]
    assert [r.t for r in rows] == [0.5, 0.75, 1.5]
    assert [r.gap for r in rows] == [0.5, 0.25, 0.75]  # the first gap is the time to first token
    assert [r.tokens for r in rows] == [1, 2, 3]
    assert [r.logprob for r in rows] == [-0.25, -1.5, None]
    assert rows.ttft == 0.5 and rows.gaps == [0.25, 0.75]
    assert rows.to_dicts()[0] == {"index": 2, "text": "Spark", "t": 0.5, "gap": 0.5, "tokens": 1, "logprob": -0.25}
    assert timeline([]).ttft is None and len(timeline([])) == 0


def test_a_views_timings_match_its_chunks() -> None:
    view = StreamView(instant(3).stream(PROMPT, max_tokens=6, logprobs=True), file=io.StringIO())
    view.run()
    rows = view.timings
    assert len(rows) == view.stats["chunks"] == 6
    assert "".join(r.text for r in rows) == view.text
    assert rows.ttft == view.stats["ttft"]
    assert all(r.logprob is not None for r in rows)
    assert all(r.gap >= 0 for r in rows)
    assert sum(r.gap for r in rows) == pytest.approx(rows[-1].t)


def test_to_pandas() -> None:
    pandas = pytest.importorskip("pandas")
    frame = timeline(chunks()).to_pandas()
    assert isinstance(frame, pandas.DataFrame)
    assert list(frame.columns) == ["index", "text", "t", "gap", "tokens", "logprob"]
    assert frame["gap"].tolist() == [0.5, 0.25, 0.75] and frame.attrs["ttft"] == 0.5


def test_to_pandas_without_pandas_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_pandas(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "pandas":
            raise ImportError("No module named 'pandas'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pandas)
    with pytest.raises(ImportError) as info:
        timeline(chunks()).to_pandas()
    assert str(info.value) == NO_PANDAS and "\n" not in NO_PANDAS


# -- side by side ------------------------------------------------------------------------


def test_compare_two_seeds_summary_numbers() -> None:
    out = io.StringIO()
    comparison = compare([instant(1), instant(2)], PROMPT, options={"max_tokens": 10}, file=out)
    assert comparison.done and len(comparison.views) == 2
    summary = comparison.summary()
    assert [row["model"] for row in summary] == ["demo:ngram", "demo:ngram"]
    for row, view in zip(summary, comparison.views):
        assert row["chunks"] == view.stats["chunks"] == 10
        assert row["status"] == "done" and row["streamed"] is True
        assert row["ttft"] is not None and row["elapsed"] >= row["ttft"]
        assert row["tokens_per_second"] == view.stats["tokens_per_second"]
    assert comparison.texts[0] != comparison.texts[1]  # different seeds, different answers
    assert [c.text for c in comparison.results()] == comparison.texts
    printed = out.getvalue()
    assert comparison.texts[0] in printed and comparison.texts[1] in printed
    assert "first token" in printed and "tokens/s" in printed  # the summary table


def test_compare_takes_names_and_foreign_objects() -> None:
    class Words:
        def stream(self, prompt: str) -> Any:
            yield from ["one ", "two"]

    comparison = compare(["demo", Words()], PROMPT, file=io.StringIO(), options=None)
    assert comparison.views[1].text == "one two"
    assert comparison.summary()[1]["model"] == "object:Words"


def test_compare_summary_html_escapes_names() -> None:
    comparison = compare([instant(1)], PROMPT, options={"max_tokens": 3}, file=io.StringIO())
    comparison.views[0].model_name = "<img src=x onerror=alert(1)>"
    page = comparison.summary_html()
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_compare_needs_a_list() -> None:
    with pytest.raises(TypeError):
        compare("demo", PROMPT)


@pytest.mark.asyncio
async def test_compare_async_runs_as_tasks() -> None:
    out = io.StringIO()
    comparison = compare([instant(1), instant(2)], PROMPT, async_=True, options={"max_tokens": 5}, file=out)
    assert all(view.mode == "async" for view in comparison.views)
    await comparison
    assert comparison.done and [row["chunks"] for row in comparison.summary()] == [5, 5]
    assert "tokens/s" in out.getvalue()


def test_magic_repeatable_model_and_speed() -> None:
    args = parse_cell_line("-m demo -m openai:gpt-4o-mini --speed 0.25")
    assert args.models == ["demo", "openai:gpt-4o-mini"] and args.model == "demo" and args.speed == 0.25
    assert parse_cell_line("-m demo").models == ["demo"]
    for line in (
        "-m a -m b --events",
        "-m a -m b --record x.jsonl",
        "-m a -m b --no-stream",
        "--speed -1",
        "--speed inf",
    ):
        with pytest.raises(MagicUsageError):
            parse_cell_line(line)
    assert parse_cell_line("--speed 0").speed == 0  # 0: no waiting, as for a replay (pacing.py)


# -- slow motion -------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_pacer_divides_arrival_times_by_speed_from_the_start() -> None:
    clock = FakeClock()
    pacer = Pacer(0.25, clock)
    arrivals = []
    for gap in (0.1, 0.1, 0.3):  # the source delivers at 0.1, 0.2, 0.5 s
        clock.now += gap
        arrivals.append(pacer.arrived())
    assert arrivals == pytest.approx([0.1, 0.2, 0.5])
    clock.now = pacer.start + 0.5  # the consumer starts releasing once all have arrived
    shown = []
    for arrival in arrivals:
        clock.sleep(pacer.wait(arrival))
        shown.append(clock.now - pacer.start)
    assert shown == pytest.approx([0.5, 0.8, 2.0])  # 0.1 / 0.25 is past already: at once


def test_pacer_does_not_drift_when_a_sleep_overshoots() -> None:
    clock = FakeClock()
    pacer = Pacer(0.5, clock)
    clock.sleep(pacer.wait(1.0) + 0.3)  # due at 2.0, the sleep overshot to 2.3
    assert clock.now - pacer.start == pytest.approx(2.3)
    assert pacer.wait(2.0) == pytest.approx(1.7)  # still due at 4.0 from the start, not 2.3 + 2.0
    assert pacer.wait(0.5) == 0.0  # late: at once, never a negative sleep


@pytest.mark.parametrize("speed", [-1, float("inf"), float("nan"), True, "2"])
def test_speed_must_be_a_number_0_or_more(speed: Any) -> None:
    with pytest.raises(ConfigurationError, match="speed must be a number, 0 or more"):  # a ValueError too
        check_speed(speed)


def test_speed_0_means_no_waiting_for_slow_motion_as_for_a_replay() -> None:
    clock = FakeClock()
    pacer = Pacer(0, clock)
    assert [pacer.wait(arrival) for arrival in (0.0, 1.0, 60.0)] == [0.0, 0.0, 0.0]


def test_slow_motion_keeps_order_content_and_closes() -> None:
    closed = []

    class Source:
        def __iter__(self) -> Any:
            return iter(["a", "b", "c"])

        def close(self) -> None:
            closed.append(True)

    wrapped = slow_motion(Source(), 4.0)
    assert list(wrapped) == ["a", "b", "c"]
    unread = slow_motion(Source(), 4.0)
    unread.close()
    assert closed == [True]


@pytest.mark.asyncio
async def test_async_slow_motion_uses_the_async_sleep_and_keeps_order() -> None:
    clock, waits = FakeClock(), []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.now += seconds
        await asyncio.sleep(0)

    async def source() -> Any:
        for word in ("a", "b", "c"):
            clock.now += 0.01  # arrives 10 ms after the one before
            yield word

    wrapped = slow_motion(source(), 0.5, clock=clock, sleep=fake_sleep)
    start = clock.now
    shown = [(item, round(clock.now - start, 6)) async for item in wrapped]
    assert shown == [("a", 0.03), ("b", 0.04), ("c", 0.06)]  # due at 0.02 (read ahead: past), 0.04, 0.06
    assert waits  # it waited, through the async sleep


def test_a_slowed_view_keeps_the_answer_and_the_usage() -> None:
    stream = instant(5).stream(PROMPT, max_tokens=5)
    view = StreamView(stream, speed=0.5, file=io.StringIO())
    view.run()
    assert view.text == stream.text and view.stats["chunks"] == 5
    assert view.completion.usage.completion_tokens == 5  # read from the stream behind the slowing
    assert view.model_name == "demo:ngram"
    times = [c.t for c in view.chunks]
    assert times == sorted(times)


# -- the fallback, made visible ----------------------------------------------------------


def test_a_whole_answer_says_it_does_not_stream() -> None:
    from llmstream_nb.models import one_chunk_pieces

    whole = Completion("The whole answer at once.")
    view = StreamView(iter(list(one_chunk_pieces(whole))[:1]), file=io.StringIO())
    view.run()
    assert view.streamed is False
    assert view.stats["note"] == FALLBACK_NOTE == "1 chunk: this model does not stream"
    assert view.stats_line.startswith("1 chunk: this model does not stream")
    assert "tokens/s" not in view.stats_line


def test_a_real_stream_has_no_note() -> None:
    view = StreamView(instant(1).stream(PROMPT, max_tokens=3), file=io.StringIO())
    view.run()
    assert view.streamed and "note" not in view.stats
    assert view.stats_line.startswith("3 chunks")
    assert format_stats({"chunks": 1, "ttft": 0.5, "tokens_per_second": None, "elapsed": 0.5}).startswith("1 chunk ")


def test_magic_streams_side_by_side_and_stores_the_comparison(capsys: pytest.CaptureFixture[str]) -> None:
    from IPython import get_ipython
    from IPython.testing.globalipapp import start_ipython

    shell = start_ipython() or get_ipython()
    shell.run_line_magic("load_ext", "llmstream_nb")
    shell.run_line_magic("llmstream", "config reset")
    try:
        flags = "-m demo -m demo --opt ttft=0 --opt tokens_per_second=0 --max-tokens 4 --seed 2 -o duel --speed 2"
        shell.run_cell_magic("llmstream", flags, "Tell me about tea")
        comparison = shell.user_ns["duel"]
        assert shell.user_ns["_llmstream"] is comparison
        assert [row["chunks"] for row in comparison.summary()] == [4, 4]
        assert all(view.speed == 2 for view in comparison.views)
        out = capsys.readouterr().out
        assert comparison.texts[0] in out and "tokens/s" in out
    finally:
        shell.run_line_magic("llmstream", "config reset")
        for name in ("_llmstream", "duel"):
            shell.user_ns.pop(name, None)
