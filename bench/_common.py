"""What every benchmark section shares: run sizes, statistics, subprocess servers, Markdown tables.

Servers always run in a process of their own, so the benchmark process's CPU time is the client's alone
and a 2-core machine does not make the server and the client take turns on one interpreter lock.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PROMPT = "Tell me about trains"


# -- run sizes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    """How big and how often each section measures. `full` is the published run; `quick` and `smoke`
    keep every section's shape with smaller numbers (smoke only checks that the bench still runs)."""

    name: str
    chunks: int  # 1. chunks per throughput stream
    repeats: int  # 1. interleaved rounds per contender
    sdk_repeats: int  # 1. the official SDK is ~20x slower: fewer rounds keep the run short
    ttft_requests: int  # 2. interleaved requests per contender
    widget_tokens: tuple[int, ...]  # 3.
    widget_rates: tuple[int, ...]  # 3. tokens per second
    widget_max_seconds: float  # 3. a cell that would take longer is measured on a shorter stream and scaled
    widget_repeats: int  # 3. rounds for cells of at most `widget_repeat_seconds`
    widget_repeat_seconds: float
    naive_tokens: tuple[int, ...]  # 3. the quadratic baselines, measured small and fitted
    streams: tuple[int, ...]  # 4. concurrent consumers
    zero_delay_total: int  # 4. tokens a zero-delay run shares among its streams (same work at every count)
    paced_seconds: float  # 4. length of each paced stream
    concurrency_repeats: int
    memory_tokens: tuple[int, ...]  # 5.
    startup_repeats: int  # 6. fresh processes per contender


FULL = Sizes(
    name="full",
    chunks=20_000,
    repeats=9,
    sdk_repeats=3,
    ttft_requests=200,
    widget_tokens=(1_000, 10_000, 100_000),
    widget_rates=(100, 1_000, 20_000),
    widget_max_seconds=100.0,
    widget_repeats=3,
    widget_repeat_seconds=10.0,
    naive_tokens=(250, 500, 1_000),
    streams=(1, 8, 32, 64),
    zero_delay_total=64_000,
    paced_seconds=3.0,
    concurrency_repeats=3,
    memory_tokens=(10_000, 30_000, 100_000),
    startup_repeats=9,
)
QUICK = Sizes(
    name="quick",
    chunks=5_000,
    repeats=3,
    sdk_repeats=1,
    ttft_requests=60,
    widget_tokens=(1_000, 10_000, 100_000),
    widget_rates=(100, 1_000, 20_000),
    widget_max_seconds=5.0,
    widget_repeats=1,
    widget_repeat_seconds=0.0,
    naive_tokens=(200, 400),
    streams=(1, 8, 32, 64),
    zero_delay_total=16_000,
    paced_seconds=2.0,
    concurrency_repeats=1,
    memory_tokens=(10_000, 100_000),
    startup_repeats=3,
)
SMOKE = Sizes(
    name="smoke",
    chunks=1_000,
    repeats=1,
    sdk_repeats=1,
    ttft_requests=5,
    widget_tokens=(300,),
    widget_rates=(1_000, 20_000),
    widget_max_seconds=0.3,
    widget_repeats=1,
    widget_repeat_seconds=0.0,
    naive_tokens=(50, 100),
    streams=(1, 4),
    zero_delay_total=400,
    paced_seconds=0.5,
    concurrency_repeats=1,
    memory_tokens=(1_000, 3_000),
    startup_repeats=1,
)
SIZES = {s.name: s for s in (FULL, QUICK, SMOKE)}


# -- statistics -----------------------------------------------------------------------------------


def median(values: Iterable[float]) -> float:
    values = list(values)
    return statistics.median(values) if values else float("nan")


def spread(values: Sequence[float]) -> str:
    """ "min-max" of a sample, for a table's footnote-sized column."""
    return f"{min(values):,.0f}-{max(values):,.0f}" if values else ""


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[rank]


def ratio(value: float, reference: float) -> float:
    return value / reference if reference else float("nan")


def rotated(items: Sequence[Any], shift: int) -> list[Any]:
    """The items in a rotated order, so that no contender always runs first (or right after a slow one)."""
    shift %= max(1, len(items))
    return list(items[shift:]) + list(items[:shift])


def interleave(contenders: dict[str, Callable[[], Any]], rounds: dict[str, int]) -> dict[str, list[Any]]:
    """Run every contender once per round, in an order rotated each round, until each has had its rounds;
    a busy machine then slows all of them alike. Returns each contender's results in order."""
    results: dict[str, list[Any]] = {name: [] for name in contenders}
    names = list(contenders)
    for r in range(max(rounds.values())):
        for name in rotated(names, r):
            if len(results[name]) < rounds[name]:
                results[name].append(contenders[name]())
    return results


def host_state() -> str:
    """The load average, and how long a fixed CPU task takes right now: on a shared host the second
    shows a slow spell (the host's other tenants) that the load average of this machine does not."""
    try:
        load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover - not on Linux
        load = "n/a"
    return f"{load} ({host_speed_ms():.0f} ms)"


def host_speed_ms() -> float:
    """Best of 5 timings of a fixed pure-Python task (~20 ms on a quiet 2.5 GHz core)."""
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        sum(i * i for i in range(250_000))
        best = min(best, time.perf_counter() - t)
    return best * 1e3


# -- servers in their own process ------------------------------------------------------------------


class ServerProcess:
    """A server started as a subprocess that prints its URL (`http://127.0.0.1:PORT...`) on its first line."""

    def __init__(self, argv: list[str], name: str, timeout: float = 120.0) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_child_env()
        )
        deadline = time.monotonic() + timeout
        line = ""
        while "http://" not in line:
            line = self.proc.stdout.readline() if self.proc.stdout else ""
            if not line and self.proc.poll() is not None:
                err = self.proc.stderr.read() if self.proc.stderr else ""
                raise RuntimeError(f"{name} exited before serving: {err.strip()[-2000:]}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{name} did not start within {timeout} s")
        start = line.index("http://")
        self.url = line[start:].split()[0].rstrip("/")
        self.url = self.url.removesuffix("/v1")
        self.base_url = f"{self.url}/v1"

    def cpu_seconds(self) -> float:
        """The server's user+system CPU so far (Linux /proc), to tell whether it or the client saturates."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return float("nan")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def demo_server() -> ServerProcess:
    """`python -m llmstream_nb.server --fast --port 0`: the demo model with zero latency."""
    return ServerProcess(
        [sys.executable, "-m", "llmstream_nb.server", "--fast", "--port", "0"], "the demo server (--fast)"
    )


def replay_server(recordings: Path) -> ServerProcess:
    """bench/replay_server.py: pre-recorded SSE bodies, written at once (isolates the client)."""
    return ServerProcess(
        [sys.executable, str(BENCH / "replay_server.py"), "--port", "0", str(recordings)], "the replay server"
    )


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def chat_body(tokens: int, *, seed: int = 2, stream: bool = True, **more: Any) -> dict[str, Any]:
    """The request every contender sends (the demo server reads min_tokens, so the answer has `tokens`)."""
    body: dict[str, Any] = {
        "model": "ngram",
        "messages": [{"role": "user", "content": PROMPT}],
        "stream": stream,
        "max_tokens": tokens,
        "min_tokens": tokens,
        "seed": seed,
    }
    if stream:
        body["stream_options"] = {"include_usage": True}
    body.update(more)
    return body


# -- kernel-side code ------------------------------------------------------------------------------

#: Source run in a kernel (it needs `time` imported there): `_pace(n, rate)` yields 0 .. n-1 at `rate` a
#: second, every index due at once (a network read's worth), then sleeps until the next is due.
PACE_SOURCE = """
def _pace(n, rate):
    start = time.perf_counter()
    i = 0
    while i < n:
        due = min(n, int((time.perf_counter() - start) * rate) + 1)
        if due <= i:
            time.sleep(max(0.0, (i + 1) / rate - (time.perf_counter() - start)))
            continue
        while i < due:
            yield i
            i += 1
"""


# -- results --------------------------------------------------------------------------------------


@dataclass
class Section:
    """One numbered part of results.md: a title, Markdown tables and notes, and its targets."""

    title: str
    blocks: list[str] = field(default_factory=list)
    verdicts: list[tuple[str, str, bool | str | None]] = field(default_factory=list)  # (target, measured, met)
    headline: dict[str, str] = field(default_factory=dict)

    def table(self, headers: Sequence[str], rows: Iterable[Sequence[Any]], align: str | None = None) -> None:
        align = align or "l" + "r" * (len(headers) - 1)
        lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
        lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
        self.blocks.append("\n".join(lines))

    def note(self, text: str) -> None:
        self.blocks.append(text.strip())

    def verdict(self, target: str, measured: str, met: bool | str | None) -> None:
        self.verdicts.append((target, measured, met))

    def markdown(self) -> str:
        parts = [f"## {self.title}", *self.blocks]
        return "\n\n".join(parts)


def mark(met: bool | str | None) -> str:
    """A verdict cell: met, missed, n/a, or a qualified verdict given as text."""
    if isinstance(met, str):
        return met
    return {True: "met", False: "**missed**", None: "n/a"}[met]


def fmt(value: float, digits: int = 0) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:,.{digits}f}"


def fmt_x(value: float, digits: int = 2) -> str:
    return "-" if math.isnan(value) else f"{value:.{digits}f}x"


def fmt_bytes(n: float) -> str:
    if math.isnan(n):
        return "-"
    if n >= 10 * 1024 * 1024:
        return f"{n / 1024 / 1024:,.0f} MB"
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.1f} MB"
    if n >= 10 * 1024:
        return f"{n / 1024:,.0f} KB"
    if n >= 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n:.0f} B"


def dump_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=1, default=str))
