"""The benchmark: `python -m bench [--quick | --smoke] [--only 1,3] [--page-full] [--out PATH]`, from the repository root.

Starts the local server in zero-latency mode (`python -m llmstream_nb.server --fast`, its own process),
records its answers for the replay server (bench/replay_server.py, its own process), runs the eight
sections (the seventh, the page, in JupyterLab and headless Chromium: bench/page.py; the eighth, a real
transformer in-process: bench/local_model.py), prints the results as Markdown and writes them to
bench/results.md (the full run) or
bench/results-<mode>.md. Every figure is a median over repeated, interleaved runs, beside its comparison
and the ratio to it. `--quick` (~2 min) and `--smoke` (~20 s, what tests/test_bench_smoke.py runs) keep
every section's shape with smaller sizes; a section that fails is reported and the exit code is 1.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ._common import BENCH, FULL, SIZES, Section, Sizes, demo_server, host_state, mark, replay_server

TITLES = {
    1: "1. Client throughput",
    2: "2. Time to first token",
    3: "3. Widget transport (real kernel)",
    4: "4. Concurrency",
    5: "5. Memory",
    6: "6. Start-up",
    7: "7. The page (JupyterLab in headless Chromium)",
    8: "8. Local model (llama.cpp)",
}


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    parts = [f"Python {platform.python_version()}"]
    names = ("httpx", "openai", "httpx-sse", "orjson", "ipykernel", "ipywidgets", "anywidget", "langchain-openai")
    for name in (*names, "llama-cpp-python"):
        try:
            parts.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            parts.append(f"{name} (not installed)")
    return ", ".join(parts)


def _cpu() -> str:
    import os

    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs{f' ({model})' if model else ''}"


def run(sizes: Sizes, only: set[int], out: Path, page_full: bool = False) -> int:
    # Measure what an installed package costs: pip writes .pyc files, so compiling our modules afresh in
    # every process (as PYTHONDONTWRITEBYTECODE, set on some machines, makes it) is not a user's start-up.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    started = time.monotonic()
    started_at = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    loads = [host_state()]
    sections: dict[int, Section] = {}
    headline: dict[str, str] = {}
    failed = []
    timings: dict[int, float] = {}

    def section(number: int, body: Callable[[Section], Any]) -> None:
        if number not in only:
            return
        s = sections[number] = Section(TITLES[number])
        t = time.monotonic()
        print(f"-- {TITLES[number]} ...", file=sys.stderr, flush=True)
        try:
            body(s)
        except Exception:
            failed.append(number)
            s.note("**This section failed:**\n\n```\n" + traceback.format_exc()[-4000:] + "```")
        timings[number] = time.monotonic() - t
        print(f"   done in {timings[number]:.0f} s", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="llmstream-bench-") as tmp, demo_server() as demo:
        recordings = Path(tmp)
        from llmstream_nb.chunks import Chunk
        from llmstream_nb.providers._openai_wire import decode_stream

        from .concurrency import PACED_TPS, WARM_TOKENS
        from .throughput import TTFT_TOKENS, Clients, first_token, judge_throughput, record, throughput

        widget_tokens = max(sizes.widget_tokens)
        paced_tokens = int(PACED_TPS * sizes.paced_seconds)
        zero_delay = {sizes.zero_delay_total // n for n in sizes.streams}
        for tokens in sorted({sizes.chunks, 200, TTFT_TOKENS, WARM_TOKENS, paced_tokens, widget_tokens, *zero_delay}):
            record(demo.base_url, tokens, recordings)
        pieces = decode_stream([(recordings / f"{widget_tokens}.sse").read_bytes()])
        tokens_list = [p.text for p in pieces if isinstance(p, Chunk) and p.text]
        tokens_file = recordings / "tokens.json"
        tokens_file.write_text(json.dumps(tokens_list))
        bytes_per_token = len("".join(tokens_list).encode()) / len(tokens_list)

        with replay_server(recordings) as replay:
            clients: dict[str, Any] = {}

            def clients_for() -> dict[str, Any]:
                if not clients:
                    clients["replay"] = (replay, Clients(replay.base_url))
                    clients["demo --fast"] = (demo, Clients(demo.base_url))
                return clients

            def one(s: Section) -> None:
                summary = throughput(s, clients_for(), sizes, profiles=sizes is FULL)
                headline.update({f"throughput {k}": v for k, v in judge_throughput(s, summary).items()})

            def two(s: Section) -> None:
                summary = first_token(s, clients_for()["replay"][1], sizes)
                headline["ttft"] = (
                    f"{summary['sync'] * 1e3:.2f} ms (sync) / {summary['async'] * 1e3:.2f} ms (async) added over the raw floor"
                )

            def three(s: Section) -> None:
                from .widget_transport import widget_transport

                widget_transport(s, tokens_file, bytes_per_token, sizes)

            def four(s: Section) -> None:
                from .concurrency import in_kernel, judge, one_loop

                loop_out = one_loop(s, demo, replay, sizes, profile=sizes is FULL)
                kernel_out = in_kernel(s, demo, replay, sizes)
                judge(s, loop_out, kernel_out)

            def five(s: Section) -> None:
                from .memory import memory

                memory(s, demo.base_url, sizes)

            def six(s: Section) -> None:
                from .startup import startup

                startup(s, sizes)

            def seven(s: Section) -> None:
                from .page import page

                page(s, sizes, full_matrix=page_full)

            def eight(s: Section) -> None:
                from .local_model import local_model

                local_model(s, sizes)

            try:
                for number, body in (
                    (1, one),
                    (2, two),
                    (3, three),
                    (4, four),
                    (5, five),
                    (6, six),
                    (7, seven),
                    (8, eight),
                ):
                    section(number, body)
                    loads.append(host_state())
            finally:
                for _, c in clients.values():
                    c.close()

    elapsed = time.monotonic() - started
    text = _render(sizes, sections, headline, started_at, elapsed, loads, timings)
    out.write_text(text)
    print(text)
    print(f"\nwritten to {out} in {elapsed:.0f} s", file=sys.stderr)
    return 1 if failed else 0


def _render(
    sizes: Sizes,
    sections: dict[int, Section],
    headline: dict[str, str],
    started_at: str,
    elapsed: float,
    loads: list[str],
    timings: dict[int, float],
) -> str:
    command = "python -m bench" + ("" if sizes is FULL else f" --{sizes.name}")
    lines = [
        "# llmstream_nb benchmark results",
        "",
        f"`{command}` (from the repository root; `bash bench/run.sh` sets up and runs it), {started_at}, "
        f"{elapsed / 60:.1f} min. {_cpu()}; {_versions()}.",
        "",
        "The machine is shared: its load average (1, 5, 15 min), and in brackets the best of 5 timings of a "
        "fixed pure-Python task, were "
        + " → ".join(loads)
        + " over the run (a longer task time is a slow spell of the host), so wall-clock figures are noisy; "
        "every figure is a median over interleaved runs, and CPU-time figures (which other processes barely "
        "move) stand beside them. Python writes and reads bytecode caches (`.pyc`) in every process the bench "
        "starts, as it does for an installed package, even where the environment sets PYTHONDONTWRITEBYTECODE.",
        "",
        "## Targets",
        "",
        "| section | target | measured | verdict |",
        "|---|---|---|---|",
    ]
    for number, s in sections.items():
        for target, measured, met in s.verdicts:
            lines.append(f"| {number} | {target} | {measured} | {mark(met)} |")
    lines.append("")
    lines += [s.markdown() + "\n" for s in sections.values()]
    lines.append("Section times: " + ", ".join(f"{n}: {t:.0f} s" for n, t in timings.items()) + ".")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_const", dest="mode", const="quick", help="smaller sizes, ~2 min")
    mode.add_argument("--smoke", action="store_const", dest="mode", const="smoke", help="tiny sizes, ~20 s (CI)")
    parser.add_argument("--only", default="1,2,3,4,5,6,7,8", help="sections to run, e.g. 1,3 (default: all)")
    parser.add_argument(
        "--page-full",
        action="store_true",
        help="section 7: the whole matrix (1,000/20,000/100,000 tokens at 100 and 20,000 tokens/s, every mode; ~4 h)",
    )
    parser.add_argument("--out", type=Path, help="where to write the Markdown (default bench/results[-MODE].md)")
    args = parser.parse_args(argv)
    sizes = SIZES[args.mode or "full"]
    only = {int(x) for x in args.only.split(",") if x.strip()}
    out = args.out or BENCH / ("results.md" if sizes is FULL else f"results-{sizes.name}.md")
    return run(sizes, only, out, page_full=args.page_full)


if __name__ == "__main__":
    sys.exit(main())
