"""A real transformer in-process: SmolLM2-135M-Instruct through llama.cpp (`llamacpp:smollm2`).

Its tokens must be its own (the text of a chunk is what its token ids decode to), its probabilities the
ones llama.cpp computes, a character split across tokens must never show as U+FFFD, and closing a stream
must stop the model. Needs the `local` extra (see tests/local_model.py).
"""

from __future__ import annotations

import asyncio
import math
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from local_model import SONG, require_local_extra

from llmstream_nb import ConfigurationError, get_model

REPO = Path(__file__).resolve().parents[1]
#: At temperature 0 SmolLM2 answers this in kana, each character two of its tokens; cut at 25 tokens,
#: the answer ends in the middle of one.
JAPANESE = "Write the word 'coffee' in Japanese."


@pytest.fixture(scope="module")
def smollm2() -> Any:
    require_local_extra()
    return get_model("llamacpp:smollm2")


@pytest.fixture(scope="module")
def engine(smollm2: Any) -> Any:
    """The shared loaded model behind every `llamacpp:smollm2`."""
    return smollm2.load()


def _text_chunks(stream: Any) -> list[Any]:
    return [c for c in stream if c.text]


def test_chunks_are_the_models_own_tokens(smollm2: Any, engine: Any) -> None:
    with smollm2.stream(SONG, temperature=0, max_tokens=40) as stream:
        chunks = _text_chunks(stream)
    assert len(chunks) >= 10 and stream.finish_reason in ("stop", "length")
    ids = [i for c in chunks for i in c.token_ids]
    assert engine.llm.detokenize(ids).decode("utf-8") == stream.text == "".join(c.text for c in chunks)
    for chunk in chunks:  # each chunk is exactly its tokens, as llama.cpp's own detokenizer reads them
        assert engine.llm.detokenize(list(chunk.token_ids)).decode("utf-8") == chunk.text
    assert stream.usage.completion_tokens == len(ids)
    assert stream.usage.prompt_tokens == len(smollm2.prompt_tokens(SONG))
    timings = stream.provider_timings
    assert timings is not None and timings.tokens_per_second and timings.generation > 0


def test_the_same_file_is_loaded_once_and_shared(smollm2: Any, engine: Any) -> None:
    assert get_model("llamacpp:smollm2").load() is engine
    assert get_model(f"llamacpp:{engine.path}").load() is engine  # a path to the same file


def test_greedy_answers_repeat_and_seeds_reproduce(smollm2: Any) -> None:
    assert (
        smollm2.invoke(SONG, temperature=0, max_tokens=12).text
        == smollm2.invoke(SONG, temperature=0, max_tokens=12).text
    )
    one, two = (smollm2.invoke(SONG, temperature=1.0, seed=11, max_tokens=16).text for _ in range(2))
    assert one == two


def _log_softmax(row: Any, temperature: float) -> Any:
    import numpy as np

    scaled = row.astype(np.float64) / temperature
    top = scaled.max()
    return scaled - (top + np.log(np.exp(scaled - top).sum()))


def test_logprobs_match_a_direct_llama_cpp_computation(smollm2: Any, engine: Any) -> None:
    """Against llama-cpp-python's own full logits (`logits_all=True`, every position kept), recomputed here."""
    from llama_cpp import Llama

    temperature = 0.8
    with smollm2.stream(SONG, temperature=temperature, seed=5, max_tokens=8, top_logprobs=3) as stream:
        chunks = _text_chunks(stream)
    prompt = smollm2.prompt_tokens(SONG)
    ids = [i for c in chunks for i in c.token_ids]
    direct = Llama(model_path=str(engine.path), n_ctx=512, logits_all=True, verbose=False)
    direct.eval(prompt[:-1])
    for token in [prompt[-1], *ids]:  # one at a time, as generation goes (a batch rounds differently)
        direct.eval([token])
    rows = direct.scores[len(prompt) - 1 : len(prompt) - 1 + len(ids)].copy()
    direct.close()
    expected = [float(_log_softmax(row, temperature)[i]) for row, i in zip(rows, ids)]
    position = 0
    for chunk in chunks:
        count = len(chunk.token_ids)
        assert chunk.logprob == pytest.approx(sum(expected[position : position + count]), abs=0.02)
        best, best_lp = chunk.top_logprobs[0]
        row = _log_softmax(rows[position], temperature)
        assert best_lp == pytest.approx(float(row.max()), abs=0.02)
        assert best == engine.llm.detokenize([int(row.argmax())]).decode("utf-8", errors="backslashreplace")
        assert len(chunk.top_logprobs) == 3
        position += count
    assert all(lp <= 0 for lp in expected) and not all(math.isclose(lp, 0) for lp in expected)


def test_characters_split_across_tokens_are_never_shown_as_replacement_characters(smollm2: Any, engine: Any) -> None:
    with smollm2.stream(JAPANESE, temperature=0, max_tokens=25) as stream:
        chunks = _text_chunks(stream)
    assert not any("\ufffd" in c.text for c in chunks), [c.text for c in chunks]
    split = [c for c in chunks if len(c.token_ids) > 1 and not c.text.isascii()]
    assert split, stream.text  # it did write characters made of several tokens
    for chunk in split:  # each token alone is not valid UTF-8: decoded apart, they would show U+FFFD
        alone = [engine.token_bytes(i).decode("utf-8", errors="replace") for i in chunk.token_ids]
        assert any("\ufffd" in a for a in alone)
        assert b"".join(engine.token_bytes(i) for i in chunk.token_ids).decode("utf-8") == chunk.text
    assert "".join(c.text for c in chunks) == stream.text


def test_a_stop_sequence_ends_the_answer_before_it(smollm2: Any) -> None:
    whole = smollm2.invoke(SONG, temperature=0, max_tokens=40).text
    stop = whole.split()[3]
    cut = smollm2.invoke(SONG, temperature=0, max_tokens=40, stop=[stop])
    assert cut.text == whole[: whole.index(stop)] and cut.finish_reason == "stop"


def _wait_idle(engine: Any) -> None:
    """Until the generation thread has let go of the model (it holds the lock while it generates)."""
    released = engine.lock.acquire(timeout=60)
    assert released, "the model is still generating a minute after its stream was closed"
    engine.lock.release()


def test_closing_a_stream_stops_the_model(smollm2: Any, engine: Any) -> None:
    _wait_idle(engine)
    before = engine.generated_tokens
    stream = smollm2.stream("Tell me a very long story about a lighthouse.", temperature=1.0, seed=2, max_tokens=500)
    read = 0
    for chunk in stream:
        read += bool(chunk.text)
        if read == 3:
            break
    stream.close()
    _wait_idle(engine)
    assert stream.finish_reason is None  # it did not run to its end
    assert engine.generated_tokens - before <= read + 8  # a few tokens ahead of the reader at most, never 500


def test_cancelling_an_async_stream_stops_the_model(smollm2: Any, engine: Any) -> None:
    _wait_idle(engine)
    before = engine.generated_tokens

    async def read_three() -> int:
        stream = smollm2.astream(
            "Tell me a very long story about a lighthouse.", temperature=1.0, seed=2, max_tokens=500
        )
        read = 0
        async for chunk in stream:
            read += bool(chunk.text)
            if read == 3:
                break
        await stream.aclose()
        return read

    read = asyncio.run(read_three())
    _wait_idle(engine)
    assert engine.generated_tokens - before <= read + 8


def test_astream_leaves_the_event_loop_free(smollm2: Any) -> None:
    """While the model computes, other tasks on the loop run: count their turns between two chunks."""

    async def run() -> list[int]:
        turns = [0]
        stop = asyncio.Event()

        async def ticker() -> None:
            while not stop.is_set():
                turns[0] += 1
                await asyncio.sleep(0)

        task = asyncio.ensure_future(ticker())
        seen = []
        async for chunk in smollm2.astream(SONG, temperature=0, max_tokens=8):
            if chunk.text:
                seen.append(turns[0])
        stop.set()
        await task
        return seen

    seen = asyncio.run(run())
    # A loop blocked by the model would give the ticker a turn or two per chunk; a free one, hundreds
    # (a token takes milliseconds, a turn microseconds).
    assert len(seen) >= 4 and seen[-1] - seen[0] > 50 * len(seen)


def test_two_threads_take_turns_on_one_model(smollm2: Any) -> None:
    expected = smollm2.invoke(SONG, temperature=0, max_tokens=10).text
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(smollm2.invoke(SONG, temperature=0, max_tokens=10).text))
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert results == [expected, expected]


def test_the_cli_streams_real_tokens(smollm2: Any) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "llmstream_nb.cli",
            "run",
            "-m",
            "llamacpp:smollm2",
            "--sep",
            "|",
            "--temperature",
            "0",
            "--max-tokens",
            "24",
            SONG,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    pieces = proc.stdout.rstrip("\n").split("|")
    assert "".join(pieces) == smollm2.invoke(SONG, temperature=0, max_tokens=24).text
    assert len([p for p in pieces if p]) >= 10
    assert proc.stderr == ""  # llama.cpp's own logging stays quiet


def test_without_the_extra_it_is_one_line_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # how Python blocks an import: as if not installed
    with pytest.raises(ConfigurationError) as missing:
        get_model("llamacpp:smollm2")
    message = str(missing.value)
    assert message.startswith("llamacpp: llama-cpp-python is not installed; pip install 'llmstream-nb[local]'")
    assert "\n" not in message


def test_a_missing_file_or_model_package_is_one_line_naming_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    from llmstream_nb.providers._llamacpp_engine import PACKAGED_MODELS, resolve_model_path

    with pytest.raises(ConfigurationError) as missing_file:
        resolve_model_path("/nowhere/model.gguf")
    assert "no GGUF file at '/nowhere/model.gguf'; give 'llamacpp:PATH.gguf' or one of: smollm2" in str(
        missing_file.value
    )
    monkeypatch.setitem(PACKAGED_MODELS, "tiny", ("no_such_package_here", "tiny.gguf"))
    with pytest.raises(ConfigurationError) as missing_package:
        resolve_model_path("tiny")
    message = str(missing_package.value)
    assert "\n" not in message and "no-such-package-here package, which is not installed" in message
    assert "llmstream-nb[local]" in message


def test_importing_the_package_loads_no_llama_cpp() -> None:
    code = "import sys, llmstream_nb; llmstream_nb.get_model; print(sorted(m for m in sys.modules if 'llama' in m))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert proc.stdout.strip() == "[]"


# -- served over HTTP, to the official SDK ----------------------------------------------------------


@pytest.fixture(scope="module")
def served(smollm2: Any) -> Iterator[Any]:
    pytest.importorskip("starlette")
    from llmstream_nb.server import BackgroundServer

    with BackgroundServer(model="llamacpp:smollm2") as server:
        yield server


def test_the_server_serves_it_to_the_openai_sdk(served: Any, smollm2: Any) -> None:
    import openai

    client = openai.OpenAI(base_url=served.base_url, api_key="unused", max_retries=0)
    assert [m.id for m in client.models.list()] == ["smollm2"]
    parts = list(
        client.chat.completions.create(
            model="smollm2",
            messages=[{"role": "user", "content": SONG}],
            stream=True,
            temperature=0,
            max_tokens=16,
            logprobs=True,
            top_logprobs=2,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(p.choices[0].delta.content or "" for p in parts if p.choices)
    assert text == smollm2.invoke(SONG, temperature=0, max_tokens=16).text
    logprobs = [lp for p in parts if p.choices and p.choices[0].logprobs for lp in p.choices[0].logprobs.content]
    assert logprobs and all(lp.logprob <= 0 and len(lp.top_logprobs) == 2 for lp in logprobs)
    assert parts[-1].usage is not None and parts[-1].usage.completion_tokens >= len(logprobs)


def test_the_servers_faults_apply_to_it(served: Any) -> None:
    import openai

    client = openai.OpenAI(base_url=served.base_url, api_key="unused", max_retries=0)
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="smollm2+status=429", messages=[{"role": "user", "content": SONG}])
    with pytest.raises(openai.BadRequestError):  # latency profiles shape the demo model only
        client.chat.completions.create(model="smollm2+tps=5", messages=[{"role": "user", "content": SONG}])
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="ngram", messages=[{"role": "user", "content": SONG}])
