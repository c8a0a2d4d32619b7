"""``python -m llmstream_nb.demo [prompt]``: train, time, and show one answer split into its tokens.

A quick look at the engine without a notebook: training time, generation speed at zero latency, and
the tokens of one answer joined with ``|`` (the same pieces a notebook colours one by one).
"""

from __future__ import annotations

import argparse
import time

from .lm import DemoLM


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m llmstream_nb.demo", description=__doc__)
    parser.add_argument("prompt", nargs="?", default="Write me a 1 verse song about sparkling water.")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--bench", type=int, default=20_000, help="tokens to time at zero latency (0: skip)")
    args = parser.parse_args(argv)

    wall, cpu = time.perf_counter(), time.process_time()
    lm = DemoLM.shared()
    size = sum(len(p.text.encode()) for p in lm.passages) / 1000
    print(
        f"trained in {time.perf_counter() - wall:.2f} s wall, {time.process_time() - cpu:.2f} s CPU "
        f"({len(lm.passages)} passages, {size:.0f} KB, {lm.vocab_size} tokens in the vocabulary)"
    )
    if args.bench:
        for run in ("first run", "repeat"):
            wall, cpu = time.perf_counter(), time.process_time()
            n = sum(
                1
                for _ in lm.generate(
                    args.prompt,
                    seed=args.seed or 0,
                    max_tokens=args.bench,
                    min_tokens=args.bench,
                    temperature=args.temperature,
                )
            )
            print(
                f"{run}: {n} tokens at {n / (time.perf_counter() - wall):,.0f} tokens/s wall, "
                f"{n / (time.process_time() - cpu):,.0f} tokens/s CPU"
            )
    generation = lm.generate(args.prompt, seed=args.seed, temperature=args.temperature)
    print("|".join(token.text for token in generation).replace("\n", "\\n"))
    print(f"finish_reason={generation.finish_reason} form={generation.form} sources={list(generation.sources)}")


if __name__ == "__main__":
    main()
