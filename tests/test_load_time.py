"""Time to first token leaves out loading the model (issue 17, item 4): the demo model's first-use
training and Ollama's `load_duration` are shown apart, "loaded in 0.8 s". Clocks are injected."""

from __future__ import annotations

import pytest

from llmstream_nb import get_model
from llmstream_nb.chunks import Chunk, ProviderTimings, Timings
from llmstream_nb.demo import DemoLM
from llmstream_nb.models.streams import StreamRecord
from llmstream_nb.view.stats import StatsTracker, format_stats


def chunk(text: str, t: float) -> Chunk:
    piece = Chunk(text)
    piece.t = t
    return piece


def test_timings_leave_the_load_out_of_the_first_token() -> None:
    timings = Timings.from_chunks([chunk("Hi", 1.15), chunk(" there", 1.25)], elapsed=1.3, load=0.8)
    assert timings.ttft == pytest.approx(0.35) and timings.load == 0.8
    assert Timings.from_chunks([chunk("Hi", 1.15)], elapsed=1.2).ttft == 1.15  # nothing reported: as measured


def test_a_stream_record_takes_the_load_its_provider_reported() -> None:
    """Ollama reports `load_duration` in its last line, after the tokens; the totals still leave it out."""
    record = StreamRecord("ollama:llama3")
    record.add(chunk("Hi", 2.4))
    record.add(ProviderTimings(load=2.0, generation=0.3))
    assert record.timings.ttft == pytest.approx(0.4)
    assert record.completion.timings.load == 2.0


def test_the_live_tracker_and_the_stats_line_say_it_apart() -> None:
    tracker = StatsTracker()
    tracker.add(chunk("Hi", 1.15))
    timings = tracker.timings(1.3, load=0.8)
    assert timings.ttft == pytest.approx(0.35)
    line = format_stats({"chunks": 1, "ttft": timings.ttft, "load": timings.load, "elapsed": 1.3})
    assert line == "1 chunk \u00b7 first token 350 ms \u00b7 loaded in 0.8 s \u00b7 1.30 s"
    assert "loaded" not in format_stats({"chunks": 1, "ttft": 0.35, "elapsed": 0.4})


class SteppingClock:
    """A clock that moves only when told: `advance` stands for time spent training."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_demo_model_reports_its_training_as_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = SteppingClock()
    trained = DemoLM.shared()

    def shared_after_training() -> DemoLM:
        clock.now += 0.8  # the first stream of a kernel waited this long for the model to train
        return trained

    model = get_model("demo", ttft=0, tokens_per_second=0)
    monkeypatch.setattr(model, "clock", clock)
    monkeypatch.setattr(DemoLM, "shared", staticmethod(shared_after_training))
    stream = model.stream("Tell me about trains", max_tokens=5, seed=1)
    text = "".join(str(c) for c in stream)
    completion = stream.completion
    assert text and completion.provider_timings is not None
    assert completion.provider_timings.load == pytest.approx(0.8) and completion.timings.load == pytest.approx(0.8)
    first = next(c.t for c in completion.chunks if c.text)
    assert completion.timings.ttft == pytest.approx(max(0.0, first - 0.8))


def test_a_ready_demo_model_reports_no_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    model = get_model("demo", ttft=0, tokens_per_second=0)
    monkeypatch.setattr(model, "clock", SteppingClock())
    DemoLM.shared()
    stream = model.stream("Tell me about trains", max_tokens=5, seed=1)
    list(stream)
    assert stream.completion.provider_timings is None and stream.completion.timings.load is None
