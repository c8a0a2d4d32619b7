"""Section 5: the memory a view holding a long stream takes, per chunk, in a fresh process each time.

The child process (`python -m bench.memory URL TOKENS VARIANT`) warms up (imports, one short stream),
then streams TOKENS chunks from the demo server through `StreamView(model.stream(...)).run()` (terminal
sink, writing to /dev/null) and keeps the view. It reports:

- the peak RSS growth over the warm baseline (Linux: VmHWM after resetting it through /proc/self/clear_refs),
  and the RSS still held after a garbage collection;
- in a second child, with tracemalloc on, the Python memory still allocated once the view holds the
  stream: exact, and free of allocator noise;
- CPU time per chunk, which stays flat when nothing is quadratic.

Variants: `plain` (every chunk has index, arrival time, kind, finish reason), `logprobs` (plus one float
per chunk) and `top5` (plus five alternatives per chunk: informational, not part of the target).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from ._common import PROMPT, ROOT, Section, Sizes, _child_env, fmt, median

VARIANTS = {"plain": {}, "logprobs": {"logprobs": True}, "top5": {"logprobs": True, "top_logprobs": 5}}


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _hwm() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def child(base_url: str, tokens: int, variant: str, trace: bool) -> dict[str, Any]:
    import gc
    import time
    import tracemalloc

    from llmstream_nb import StreamView, get_model

    options = VARIANTS[variant]
    model = get_model("openai:ngram", base_url=base_url, api_key="x", max_retries=0)
    sink = open(os.devnull, "w")  # noqa: SIM115  (the view writes to it until the process ends)
    StreamView(model.stream(PROMPT, max_tokens=50, min_tokens=50, **options), file=sink).run()  # warm up
    gc.collect()
    if trace:
        tracemalloc.start()
    base = _rss()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current RSS
        peak_reset = True
    except OSError:
        peak_reset = False
    cpu = time.process_time()
    view = StreamView(model.stream(PROMPT, max_tokens=tokens, min_tokens=tokens, seed=2, **options), file=sink).run()
    cpu = time.process_time() - cpu
    peak = _hwm()
    traced = tracemalloc.get_traced_memory()[0] if trace else 0
    gc.collect()
    held = _rss()
    traced_held = tracemalloc.get_traced_memory()[0] if trace else 0
    chunks = len(view.chunks)
    assert chunks >= tokens and view.status == "done", (chunks, view.status)
    breakdown = _breakdown(view)
    return {
        "chunks": chunks,
        "peak_growth": (peak - base) if peak_reset else float("nan"),
        "held": held - base,
        "traced": traced,
        "traced_held": traced_held,
        "cpu_per_chunk": cpu / chunks,
        "text_bytes": len(view.text.encode()),
        "breakdown": breakdown,
    }


def _breakdown(view: Any) -> dict[str, float]:
    """Bytes per chunk by what holds them (sys.getsizeof, GC headers included; objects shared between
    chunks, such as cached small ints and one-character strings, counted once)."""
    chunks = view.chunks
    n = len(chunks)
    seen: set[int] = set()

    def size(obj: Any) -> int:
        if obj is None or isinstance(obj, bool) or id(obj) in seen:
            return 0
        seen.add(id(obj))
        return sys.getsizeof(obj)

    out = {"Chunk object": sum(sys.getsizeof(c) for c in chunks) / n}
    for name in ("text", "t", "index", "logprob", "top_logprobs"):
        out[name] = sum(size(getattr(c, name)) for c in chunks) / n
    lists = {id(x): x for x in (chunks, view.record.chunks)}  # one list: the view reads the stream's record
    out["list slots"] = sum(sys.getsizeof(x) for x in lists.values()) / n
    if out["top_logprobs"]:  # the tuples of (token, logprob) pairs inside
        inner = 0
        for c in chunks:
            for pair in c.top_logprobs or ():
                inner += size(pair) + size(pair[0]) + size(pair[1])
        out["top_logprobs"] += inner / n
    return {k: round(v, 1) for k, v in out.items() if v}


def run_child(base_url: str, tokens: int, variant: str, trace: bool) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.memory", base_url, str(tokens), variant, "trace" if trace else "rss"],
        cwd=ROOT,
        env=_child_env(),
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if proc.returncode:
        raise RuntimeError(f"memory child failed: {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def memory(section: Section, base_url: str, sizes: Sizes) -> dict[str, Any]:
    results: dict[tuple[str, int], dict[str, Any]] = {}
    variants = ("plain", "logprobs", "top5") if sizes.name != "smoke" else ("plain",)
    for variant in variants:
        for tokens in sizes.memory_tokens:
            if variant == "top5" and tokens != max(sizes.memory_tokens):
                continue
            rss = [run_child(base_url, tokens, variant, False) for _ in range(1 if sizes.name == "smoke" else 2)]
            traced = run_child(base_url, tokens, variant, True)
            breakdown = rss[0]["breakdown"]
            results[(variant, tokens)] = {
                "breakdown": breakdown,
                "peak": median(r["peak_growth"] for r in rss) / tokens,
                "held": median(r["held"] for r in rss) / tokens,
                "traced": traced["traced_held"] / tokens,
                "cpu": median(r["cpu_per_chunk"] for r in rss) * 1e6,
                "text": rss[0]["text_bytes"] / tokens,
            }
    rows = [
        [
            variant,
            f"{tokens:,}",
            fmt(r["peak"]),
            fmt(r["held"]),
            fmt(r["traced"]),
            fmt(r["text"], 1),
            fmt(r["cpu"], 1),
        ]
        for (variant, tokens), r in results.items()
    ]
    section.table(
        [
            "chunk metadata",
            "tokens",
            "peak RSS growth, B/chunk",
            "RSS held after, B/chunk",
            "Python memory held (tracemalloc), B/chunk",
            "text B/chunk",
            "CPU µs/chunk",
        ],
        rows,
        align="lrrrrrr",
    )
    section.note(
        "A fresh process per row (RSS rows: median of 2). The view reads the record of the stream it consumed "
        "(one list of chunks); what a chunk costs is the `Chunk` (slots: text, kind, index, t, finish_reason, logprob, "
        "top_logprobs, fallback), its text, its `t` float and `index` int, and one pointer in that list "
        "(the text is joined from it when it is read). *peak* also counts "
        "what is transient while streaming (SSE reads, JSON dicts), *held* what stays. RSS per chunk of the "
        "shorter streams carries the allocator's arena granularity (a few hundred KB over 10,000 chunks); "
        "tracemalloc counts only objects. CPU per chunk flat from the smallest to the largest stream: nothing "
        "grows quadratically."
    )
    top = max(t for (_, t) in results)
    section.note(
        "Where the bytes of a chunk go (the largest stream, `sys.getsizeof`, shared objects counted once): "
        + "; ".join(
            f"{variant}: "
            + ", ".join(f"{k} {v:.0f}" for k, v in r["breakdown"].items())
            + f" = {sum(r['breakdown'].values()):.0f} B"
            for (variant, tokens), r in results.items()
            if tokens == top
        )
        + ". The rest of the RSS figure is the allocator's own overhead (pymalloc pools and arenas)."
    )
    plain = {t: r for (v, t), r in results.items() if v == "plain"}
    at_top = {v: r for (v, t), r in results.items() if t == top and v in ("plain", "logprobs")}
    worst_peak = max(r["peak"] for r in at_top.values())
    worst_python = max(r["traced"] for (v, _), r in results.items() if v in ("plain", "logprobs"))
    section.verdict(
        f"peak RSS of a view holding a {top:,}-token stream: under 300 bytes per chunk",
        ", ".join(f"{v}: {r['peak']:.0f} B/chunk peak RSS growth" for v, r in at_top.items())
        + f"; Python memory held {worst_python:.0f} B/chunk at most, at every size",
        worst_peak < 300 and worst_python < 300,
    )
    if len(plain) > 1:
        smallest, largest = plain[min(plain)], plain[top]
        section.verdict(
            "linear, no quadratic string building",
            f"Python memory {smallest['traced']:.0f} -> {largest['traced']:.0f} B/chunk and CPU "
            f"{smallest['cpu']:.1f} -> {largest['cpu']:.1f} µs/chunk from {min(plain):,} to {top:,} tokens",
            largest["traced"] < 1.2 * smallest["traced"] + 20 and largest["cpu"] < 1.5 * smallest["cpu"],
        )
    return {"results": results}


if __name__ == "__main__":
    url, n, kind, mode = sys.argv[1:5]
    print(json.dumps(child(url, int(n), kind, mode == "trace")))
