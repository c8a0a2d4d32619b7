"""Record and replay: a recorded stream replays with the same chunks and, on the replay's clock,
the same timing, through every interface (stream, astream, invoke, events, views, the CLI, the magic).

A replay's pace is checked on a fake clock (`FakeTime`: the replay's clock and sleeps, injected as
in `SlowMotion`), never by timing a real one. The recording is the demo at a steady, known pace.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any, Iterator

import pytest
from test_magic import ip, run  # noqa: F401  (the in-process IPython shell fixture)

from llmstream_nb import (
    Chunk,
    Completion,
    ConfigurationError,
    InterruptedStreamError,
    Model,
    ProviderTimings,
    StreamError,
    TokenStream,
    Usage,
    get_model,
)
from llmstream_nb.cli import main as cli_main
from llmstream_nb.options import Request
from llmstream_nb.recording import load, options_in_force, save
from llmstream_nb.view import StreamView

PROMPT = "Tell me about tea."
TTFT, TPS, TOKENS = 0.05, 100.0, 60
FAKE_KEY = "sk-test-SECRET-0123456789abcdef"


def looks(chunks: list[Chunk]) -> list[tuple[Any, ...]]:
    """Everything a replay must keep exactly (not index and t, which the replaying stream stamps)."""
    return [(c.text, c.kind, c.logprob, c.top_logprobs, c.finish_reason, c.fallback) for c in chunks]


class FakeTime:
    """The replay's clock and sleeps: time moves only when the replay sleeps (`late` seconds too long each time)."""

    def __init__(self, late: float = 0.0) -> None:
        self.now = 1000.0
        self.late = late
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds + self.late

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)
        await asyncio.sleep(0)  # a real await: the loop runs its other tasks meanwhile


def paced(path: Path, fake: FakeTime, **options: Any) -> Any:
    """A replay model of `path` on `fake`'s clock."""
    model = get_model(f"replay:{path}", **options)
    model.clock, model.sleep, model.asleep = fake.clock, fake.sleep, fake.asleep
    return model


def release_times(stream: TokenStream, fake: FakeTime) -> list[float]:
    """When (on the fake clock, from the start) each chunk was handed over."""
    start = fake.now
    return [fake.now - start for _ in stream]


def drain(stream: TokenStream) -> TokenStream:
    for _ in stream:
        pass
    return stream


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TokenStream]:
    """The demo's answer at a steady pace (50 ms to the first token, then 100 tokens/s), recorded once."""
    get_model("demo", ttft=0, tokens_per_second=0).invoke("warm up")  # training must not land in a chunk's time
    demo = get_model("demo", ttft=TTFT, tokens_per_second=TPS, jitter=0)
    stream = drain(demo.stream(PROMPT, seed=1, max_tokens=TOKENS, logprobs=True, top_logprobs=2))
    path = tmp_path_factory.mktemp("recording") / "run.jsonl"
    save(stream, path, prompt=PROMPT, options={"seed": 1, "max_tokens": TOKENS, "logprobs": True})
    return path, stream


# -- the file ----------------------------------------------------------------------------


def test_the_file_is_a_header_a_line_per_chunk_and_an_end(recorded: tuple[Path, TokenStream]) -> None:
    path, stream = recorded
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    header, chunks, end = lines[0], lines[1:-1], lines[-1]
    assert header["llmstream"] == 1 and header["model"] == "demo:ngram" and header["prompt"] == PROMPT
    assert header["options"] == {"seed": 1, "max_tokens": TOKENS, "logprobs": True} and header["recorded_at"]
    assert [c["text"] for c in chunks] == [c.text for c in stream.chunks]
    assert all(None not in c.values() and "kind" not in c and "fallback" not in c for c in chunks)
    assert chunks[1]["top_logprobs"][0] == [stream.chunks[1].text, stream.chunks[1].logprob]
    assert end["usage"] == {
        "prompt_tokens": stream.usage.prompt_tokens,
        "completion_tokens": stream.usage.completion_tokens,
    }
    assert "error" not in end and end["end"] >= chunks[-1]["t"]


def test_load_reads_back_what_was_saved(recorded: tuple[Path, TokenStream]) -> None:
    path, stream = recorded
    recording = load(path)
    assert looks(recording.chunks) == looks(stream.chunks)
    assert [c.t for c in recording.chunks] == pytest.approx([c.t for c in stream.chunks], abs=1e-6)
    assert recording.text == stream.text and recording.prompt_text == PROMPT and recording.error is None


# -- replaying: same chunks, same timing -------------------------------------------------


def test_stream_replays_the_same_chunks_and_usage(recorded: tuple[Path, TokenStream]) -> None:
    path, stream = recorded
    replayed = drain(get_model(f"replay:{path}", speed=0).stream(PROMPT))
    assert looks(replayed.chunks) == looks(stream.chunks)
    assert [c.index for c in replayed.chunks] == list(range(len(stream.chunks)))
    assert (replayed.text, replayed.usage, replayed.finish_reason) == (stream.text, stream.usage, stream.finish_reason)


@pytest.mark.parametrize("speed", [1.0, 2.0])
def test_replay_keeps_the_recorded_pace_divided_by_speed(recorded: tuple[Path, TokenStream], speed: float) -> None:
    path, stream = recorded
    fake = FakeTime()
    replayed = paced(path, fake, speed=speed).stream(PROMPT)
    times = release_times(replayed, fake)
    assert looks(replayed.chunks) == looks(stream.chunks)
    assert times == pytest.approx([c.t / speed for c in load(path).chunks], abs=1e-9)
    assert sum(fake.sleeps) == pytest.approx(load(path).end / speed)  # then it waits for the recorded end


def test_speed_zero_is_instant(recorded: tuple[Path, TokenStream]) -> None:
    path, stream = recorded
    fake = FakeTime()
    replayed = drain(paced(path, fake).stream(PROMPT, speed=0))  # per call, over the model's 1.0
    assert fake.sleeps == [] and looks(replayed.chunks) == looks(stream.chunks)


def test_late_wakeups_do_not_add_up(recorded: tuple[Path, TokenStream]) -> None:
    """Every sleep oversleeps by 5 ms: chunks are due at start + t, so each is at most 5 ms late, not 5 ms x 60."""
    path, _ = recorded
    fake = FakeTime(late=0.005)
    times = release_times(paced(path, fake).stream(PROMPT), fake)
    lateness = [at - chunk.t for at, chunk in zip(times, load(path).chunks)]
    assert max(lateness) <= 0.005 + 1e-9 and len(fake.sleeps) > 20


def test_astream_replays_on_the_loop_without_blocking_it(recorded: tuple[Path, TokenStream]) -> None:
    path, stream = recorded
    fake = FakeTime()

    async def main() -> tuple[list[Chunk], int]:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0)
                ticks += 1

        ticker = asyncio.ensure_future(tick())
        chunks = [chunk async for chunk in paced(path, fake).astream(PROMPT)]
        ticker.cancel()
        return chunks, ticks

    chunks, ticks = asyncio.run(main())
    assert looks(chunks) == looks(stream.chunks)
    assert (
        fake.sleeps and ticks >= len(fake.sleeps) - 1
    )  # the loop ran other work at every wait (the last one: maybe after)


def test_invoke_and_ainvoke(recorded: tuple[Path, TokenStream]) -> None:
    path, stream = recorded
    model = get_model(f"replay:{path}", speed=0)
    for completion in (model.invoke(PROMPT), asyncio.run(model.ainvoke(PROMPT))):
        assert (completion.text, completion.usage, completion.finish_reason) == (
            stream.text,
            stream.usage,
            stream.finish_reason,
        )
        assert looks(completion.chunks) == looks(stream.chunks)


def test_astream_events(recorded: tuple[Path, TokenStream]) -> None:
    path, stream = recorded

    async def main() -> list[dict[str, Any]]:
        return [e async for e in get_model(f"replay:{path}", speed=0).astream_events(PROMPT, version="v2")]

    events = asyncio.run(main())
    streamed = [e["data"]["chunk"] for e in events if e["event"] == "on_llm_stream"]
    assert looks(streamed) == looks(stream.chunks)
    assert events[-1]["event"] == "on_llm_end" and events[-1]["data"]["output"].text == stream.text


def test_a_view_records_and_a_view_replays(recorded: tuple[Path, TokenStream], tmp_path: Path) -> None:
    path, _ = recorded
    first = StreamView(get_model(f"replay:{path}", speed=0).stream(PROMPT), sep="|", file=io.StringIO()).run()
    saved = first.save(tmp_path / "view.jsonl", prompt=PROMPT)
    out = io.StringIO()
    again = StreamView(get_model(f"replay:{saved}", speed=0).stream(PROMPT), sep="|", file=out).run()
    assert (again.text, again.text_pieces(), again.status) == (first.text, first.text_pieces(), "done")
    assert looks(again.chunks) == looks(first.chunks)
    pieces = first.text_pieces()  # the terminal's separators: between tokens, none after a line break
    shown = "".join(("" if i == 0 or pieces[i - 1].endswith("\n") else "|") + p for i, p in enumerate(pieces))
    assert out.getvalue().startswith(shown)


class Thinks(Model):
    """Reasoning chunks, then the answer: kinds must survive the round trip."""

    provider = "thinks"
    default_model = "m"

    def _stream_chunks(self, request: Request) -> Iterator[Chunk | Usage]:
        yield Chunk("Let me see.", kind="reasoning")
        yield Chunk("Tea is", logprob=-0.25)
        yield Chunk(" calm.", finish_reason="stop")
        yield Usage(prompt_tokens=4, completion_tokens=3)


class Whole(Model):
    """Answers whole: its one chunk is a fallback, and must replay as one."""

    provider = "whole"
    default_model = "m"

    def _complete(self, request: Request) -> Completion:
        return Completion(text="All at once.", finish_reason="stop", usage=Usage(2, 3))


@pytest.mark.parametrize("model", [Thinks(), Whole()], ids=["reasoning", "fallback"])
def test_kinds_and_fallback_marks_survive_a_saved_completion(model: Model, tmp_path: Path) -> None:
    completion = model.invoke(PROMPT)
    replayed = get_model(f"replay:{save(completion, tmp_path / 'c.jsonl')}").invoke(PROMPT)
    assert looks(replayed.chunks) == looks(completion.chunks)
    assert (replayed.text, replayed.reasoning, replayed.usage) == (
        completion.text,
        completion.reasoning,
        completion.usage,
    )
    assert replayed.streamed == completion.streamed


# -- failures ----------------------------------------------------------------------------


class Breaks(Model):
    provider = "breaks"
    default_model = "m"

    def _stream_chunks(self, request: Request) -> Iterator[Chunk]:
        yield Chunk("Hello")
        yield Chunk(" wor")
        raise InterruptedStreamError("connection closed before the end of the stream", provider="breaks")


def failure_of(stream: TokenStream) -> BaseException:
    with pytest.raises(Exception) as info:
        drain(stream)
    return info.value


def test_a_failed_stream_replays_the_same_failure_after_the_same_text(tmp_path: Path) -> None:
    original = Breaks().stream(PROMPT)
    error = failure_of(original)
    path = save(original, tmp_path / "broken.jsonl", prompt=PROMPT)
    fake = FakeTime()
    model = paced(path, fake)
    replayed = model.stream(PROMPT)
    again = failure_of(replayed)
    assert type(again) is InterruptedStreamError and str(again) == str(error)
    assert again.partial_text == "Hello wor" == replayed.text  # type: ignore[attr-defined]
    assert looks(replayed.chunks) == looks(original.chunks)
    assert sum(fake.sleeps) == pytest.approx(load(path).end)  # it fails when the original failed

    async def main() -> BaseException:
        with pytest.raises(InterruptedStreamError) as info:
            async for _ in model.astream(PROMPT, speed=0):
                pass
        return info.value

    assert str(asyncio.run(main())) == str(error)
    view = StreamView(model.stream(PROMPT, speed=0), file=io.StringIO()).run()
    assert (view.status, type(view.error), view.text) == ("error", InterruptedStreamError, "Hello wor")


def test_a_foreign_error_type_replays_as_itself_or_as_a_stream_error(tmp_path: Path) -> None:
    def fails(error: Exception) -> Iterator[str]:
        yield "Half"
        raise error

    class LibraryError(Exception):
        pass

    for error, kind in ((ValueError("bad token"), ValueError), (LibraryError("lost"), StreamError)):
        view = StreamView(fails(error), file=io.StringIO()).run()
        path = view.save(tmp_path / "foreign.jsonl")
        again = StreamView(get_model(f"replay:{path}", speed=0).stream("x"), file=io.StringIO()).run()
        assert type(again.error) is kind and again.text == "Half"
        assert str(error) in str(again.error) and (kind is not StreamError or "LibraryError" in str(again.error))


def test_recording_from_an_http_server_keeps_no_key(llm_server: Any, tmp_path: Path) -> None:
    """An OpenAI-compatible server, a key, a stream the server drops after 5 tokens: the file has no key."""
    llm = get_model("openai:ngram+drop_after=5", base_url=llm_server.base_url, api_key=FAKE_KEY, temperature=0.5)
    original = llm.stream(PROMPT, seed=3)
    error = failure_of(original)
    options = {**options_in_force(llm, {"seed": 3}), "api_key": FAKE_KEY, "headers": {"Authorization": FAKE_KEY}}
    path = save(original, tmp_path / "http.jsonl", prompt=PROMPT, options=options)
    text = path.read_text(encoding="utf-8")
    assert "SECRET" not in text and "Bearer" not in text and "api_key" not in text
    assert json.loads(text.splitlines()[0])["options"] == {"temperature": 0.5, "seed": 3}
    replayed = get_model(f"replay:{path}", speed=0).stream(PROMPT)
    again = failure_of(replayed)
    assert type(again) is type(error) and str(again) == str(error) and replayed.text == original.text != ""


# -- the prompt, the file, the options ---------------------------------------------------


def test_another_prompt_gets_the_recorded_answer_and_a_warning(recorded: tuple[Path, TokenStream]) -> None:
    path, stream = recorded
    model = get_model(f"replay:{path}", speed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert model.invoke(PROMPT).text == stream.text  # the recorded prompt: no warning
    with pytest.warns(UserWarning, match="replays its answer to 'Tell me about tea.', not to 'Tell me about coffee.'"):
        assert model.invoke("Tell me about coffee.").text == stream.text


def test_a_changed_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "live.jsonl"
    save(Whole().invoke("q"), path)
    model = get_model(f"replay:{path}")
    assert model.invoke("q").text == "All at once."
    save(Thinks().invoke("q"), path)
    assert model.invoke("q").text == "Tea is calm."


def test_a_relative_path_and_a_home_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    save(Whole().invoke("q"), "rel.jsonl")
    assert get_model("replay:rel.jsonl").invoke("q").text == get_model("replay:~/rel.jsonl").invoke("q").text


HEADER = '{"llmstream": 1, "model": "demo:ngram", "prompt": "hi"}'
END = '{"end": 0.5, "usage": {"completion_tokens": 1}}'


@pytest.mark.parametrize(
    ("content", "line", "says"),
    [
        ("", None, "is empty, not a recording"),
        ('{"model": "x"}\n' + END, 1, 'no "llmstream" format version'),
        ('{"llmstream": 2}\n' + END, 1, "format 2; this llmstream_nb reads format 1"),
        (HEADER + '\n{"t": 0.1, "text": "a"}\n{"t": 0.2, "text": "b"', 3, "not JSON"),
        (HEADER + '\n{"t": 0.1, "text": "a"}\n[1, 2]\n' + END, 3, "expected a JSON object"),
        (HEADER + '\n{"t": "soon", "text": "a"}\n' + END, 2, '"t" must be a number'),
        (HEADER + '\n{"t": -1, "text": "a"}\n' + END, 2, '"t" must be a time in seconds'),
        (HEADER + '\n{"text": "a"}\n' + END, 2, 'a chunk needs "t"'),
        (HEADER + '\n{"t": 0.1}\n' + END, 2, 'a chunk needs "text"'),
        (HEADER + '\n{"t": 0.1, "text": "a", "top_logprobs": [["a"]]}\n' + END, 2, "[token, logprob] pairs"),
        (HEADER + '\n{"t": 0.1, "text": "a"}\n', 2, "no end line (is the file cut short?)"),
        (HEADER + "\n" + END + '\n{"t": 0.1, "text": "a"}\n' + END, 2, "an end line before the last line"),
        (HEADER + '\n{"end": 1, "error": {"type": "os.system", "message": "x"}}', 2, '"error" needs "type"'),
        (HEADER + '\n{"end": 1, "usage": {"completion_tokens": "many"}}', 2, '"usage"."completion_tokens" must be'),
    ],
)
def test_a_malformed_file_is_one_line_naming_the_file_and_line(
    tmp_path: Path, content: str, line: int | None, says: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigurationError) as info:
        get_model(f"replay:{path}")
    message = str(info.value)
    assert str(path) in message and says in message and "\n" not in message
    if line is not None:
        assert f", line {line}: " in message


def test_missing_file_no_path_and_bad_speed_are_one_line(recorded: tuple[Path, TokenStream], tmp_path: Path) -> None:
    path, _ = recorded
    with pytest.raises(ConfigurationError, match=r"no recording at .*nothing\.jsonl \(make one with view\.save"):
        get_model(f"replay:{tmp_path / 'nothing.jsonl'}")
    with pytest.raises(ConfigurationError, match="needs a recording: get_model"):
        get_model("replay")
    for speed in (-1, "fast", float("inf")):
        with pytest.raises(ConfigurationError, match="replay speed must be a number, 0 or more"):
            get_model(f"replay:{path}", speed=speed)
    with pytest.raises(ConfigurationError, match="unknown option 'sped'"):
        get_model(f"replay:{path}", sped=2)


def test_only_an_ended_stream_can_be_saved(tmp_path: Path) -> None:
    stream = Thinks().stream(PROMPT)
    chunks = iter(stream)  # kept: a dropped iterator is closed, which ends the stream
    next(chunks)
    with pytest.raises(RuntimeError, match="has not ended yet"):
        save(stream, tmp_path / "early.jsonl")
    with pytest.raises(TypeError, match="cannot record a Thinks"):
        save(Thinks(), tmp_path / "model.jsonl")


def test_a_stopped_async_stream_saves_what_arrived(tmp_path: Path) -> None:
    """A stop is no error: the replay just ends where the recording did."""

    async def main() -> Any:
        stream = get_model("demo", ttft=0, tokens_per_second=0).astream(PROMPT, seed=2, max_tokens=40)
        async for chunk in stream:
            if chunk.index == 5:
                break
        await stream.aclose()
        return stream

    stream = asyncio.run(main())
    replayed = drain(get_model(f"replay:{save(stream, tmp_path / 'stopped.jsonl')}", speed=0).stream(PROMPT))
    assert replayed.error is None and replayed.text == stream.text and len(replayed.chunks) == 6


# -- the terminal and the notebook -------------------------------------------------------


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("LLMSTREAM_MODEL", "OPENAI_API_KEY", "OPENAI_BASE_URL")}
    command = [sys.executable, "-m", "llmstream_nb.cli", "run", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)


def test_cli_records_and_replays_answers_and_failures(llm_server: Any, tmp_path: Path) -> None:
    server = ["--opt", f"base_url={llm_server.base_url}", "--opt", f"api_key={FAKE_KEY}", "--seed", "4"]
    for name, model, code in (("ok", "openai:ngram", 0), ("drop", "openai:ngram+drop_after=4", 1)):
        path = tmp_path / f"{name}.jsonl"
        first = cli("-m", model, *server, "--max-tokens", "20", "--sep", "|", "--record", str(path), PROMPT)
        assert first.returncode == code, first.stderr
        assert FAKE_KEY not in path.read_text(encoding="utf-8")
        again = cli("-m", f"replay:{path}", "--sep", "|", PROMPT)
        assert (again.returncode, again.stdout, again.stderr) == (code, first.stdout, first.stderr)
    assert "InterruptedStreamError" in first.stderr


def test_cli_record_to_a_missing_directory_fails_before_asking(tmp_path: Path) -> None:
    result = cli("--record", str(tmp_path / "no" / "run.jsonl"), PROMPT)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().endswith("does not exist") and result.stderr.count("\n") == 1


def test_models_lists_the_replay_provider(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["models", "--offline"]) == 0
    assert "plays recordings: replay:PATH" in capsys.readouterr().out


def test_magic_records_and_replays(ip: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    path = tmp_path / "magic.jsonl"
    run(ip, f"%%llmstream --record {path} --seed 5 --max-tokens 20 --opt ttft=0 --opt tokens_per_second=0\n{PROMPT}")
    recorded = ip.user_ns["_llmstream"]
    header = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert (header["prompt"], header["options"]) == (PROMPT, {"max_tokens": 20, "seed": 5})
    capsys.readouterr()
    run(ip, f"%%llmstream -m replay:{path} --opt speed=0\n{PROMPT}")
    replayed = ip.user_ns["_llmstream"]
    assert replayed.text == recorded.text and looks(replayed.chunks) == looks(recorded.chunks)
    assert capsys.readouterr().err == ""
    run(ip, f"%%llmstream --record {tmp_path / 'no' / 'x.jsonl'}\n{PROMPT}")
    assert capsys.readouterr().err.startswith("llmstream: cannot record to ")


@pytest.mark.kernel
def test_magic_replays_in_a_kernel_widget(recorded: tuple[Path, TokenStream]) -> None:
    from kernel_harness import KernelHarness
    from test_magic_kernel import STREAM_WIDGET, final_state, opened_widget

    path, stream = recorded
    with KernelHarness.start() as kernel:
        kernel.run("%load_ext llmstream_nb")
        since = len(kernel.iopub)
        kernel.run(f"%%llmstream -m replay:{path} --opt speed=4\n{PROMPT}")
        state = final_state(kernel, opened_widget(kernel, STREAM_WIDGET, since), "done")
        assert state["text"] == stream.text == kernel.value("_llmstream.text")
        assert kernel.value("[c.logprob for c in _llmstream.chunks]") == [c.logprob for c in stream.chunks]


def test_a_stream_remembers_its_prompt_so_saving_needs_none(tmp_path) -> None:
    from llmstream_nb import get_model
    from llmstream_nb.recording import load, save

    stream = get_model("demo", ttft=0, tokens_per_second=0).stream("Tell me about trains.", seed=7, max_tokens=12)
    for _ in stream:
        pass
    recording = load(save(stream, tmp_path / "run.jsonl"))
    assert recording.prompt == "Tell me about trains."
    assert recording.options == {"seed": 7, "max_tokens": 12}


# -- one record: what the provider measured survives a view, a file and a replay -------------

PROVIDER_TIMINGS = ProviderTimings(total=1.5, load=0.25, prompt=0.125, generation=1.0, tokens_per_second=42.0)


class ProviderTimedModel(Model):
    """Reports its own timings at the end, as Ollama and llama.cpp do."""

    provider = "timed"

    def _stream_chunks(self, request: Request) -> Iterator[Any]:
        yield Chunk("Measured ")
        yield Chunk("answer.", finish_reason="stop")
        yield Usage(4, 2)
        yield PROVIDER_TIMINGS


@pytest.mark.parametrize("speed", [None, 0.5], ids=["as-it-comes", "slowed"])
def test_provider_timings_survive_show_save_and_replay(tmp_path: Path, speed: float | None) -> None:
    """The view reads the stream's own record (slowed: takes its reports), so `save` writes them and a replay gives them back."""
    from llmstream_nb import show

    view = show(ProviderTimedModel(), "How long did it take?", file=io.StringIO(), speed=speed)
    assert view.completion.provider_timings == PROVIDER_TIMINGS
    path = view.save(tmp_path / "timed.jsonl")
    assert load(path).provider_timings == PROVIDER_TIMINGS
    replayed = get_model(f"replay:{path}", speed=0).invoke("How long did it take?")
    assert replayed.text == "Measured answer." and replayed.usage.prompt_tokens == 4
    assert replayed.provider_timings == PROVIDER_TIMINGS
