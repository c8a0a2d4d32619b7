"""Section 7: the page. What JupyterLab in headless Chromium does with a stream, per view mode.

A paced generator in the kernel (`show(gen())`, a blocking cell, as a person writes it) yields the demo
model's own tokens at a set rate; the last token is a marker. The page, instrumented before the cell runs,
reports:

- last token shown: from the kernel's `time.time()` as it yields the marker to the page's
  `performance.timeOrigin + performance.now()` once a frame has been produced with the marker in the DOM
  (a MutationObserver sees it, then requestAnimationFrame, then a task after that frame). One machine, one
  clock;
- long tasks (PerformanceObserver "longtask": main-thread tasks over 50 ms), total and max, from the cell's
  start until the view has settled after the end, and the total as a share of the stream's duration;
- key to frame: while the answer streams, Playwright types into another cell (about 8 keys a second); for
  each keydown, the time from the event's timestamp to a task after the next frame;
- DOM nodes: every node (elements and text) inside the cell's output once it has settled;
- JS heap: the page's used heap after a forced GC (CDP), minus the same before the cell ran.

Rows run each in a fresh page and kernel. `print()` to stdout is the baseline. Compare runs two columns,
each streaming the whole count at the rate. The default run is a subset (see ROWS); `--page-full` runs the
whole matrix (1,000 / 20,000 / 100,000 tokens at 100 and 20,000 tokens/s in every mode: about 4 hours).
Then one Markdown row (bench/page_markdown.py): the page's time per flush at the start and at the end
of a long Markdown answer.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ._common import PACE_SOURCE, ROOT, Section, Sizes, fmt, percentile
from .page_markdown import markdown_row, report_markdown

sys.path.insert(0, str(ROOT / "tests"))

#: Where the view's answer ends: the generator's last token.
MARK = " \u27e6end\u27e7"
#: Seconds past its stream's end a print() row is waited for.
PRINT_PATIENCE = 60
#: mode -> the cell's code, with {n}, {rate} filled in; `_out["last"]` is the marker's time.time().
MODES: dict[str, str] = {
    "print": "for _t in _paced({n}, {rate}, _out): print(_t, end='', flush=True)",
    "plain": "show(_paced({n}, {rate}, _out))",
    "sep": "show(_paced({n}, {rate}, _out), sep='|')",
    "tint": "show(_paced({n}, {rate}, _out), tint=True)",
    "inspect": "show(_paced({n}, {rate}, _out, logprobs=True), inspect=True)",
    "prob": "show(_paced({n}, {rate}, _out, logprobs=True), color='prob')",
    "timeline": "show(_paced({n}, {rate}, _out), timeline=True)",
    "reasoning": "show(_paced({n}, {rate}, _out, thinking={n} // 2))",
    "compare": "compare([_Paced({n}, {rate}, _out, 'a'), _Paced({n}, {rate}, _out, 'b')], 'prompt')",
}
ALL_MODES = tuple(MODES)
TOKEN_MODES = ("sep", "tint", "inspect", "prob", "timeline")

#: (tokens, rate, modes) per run size. The full run is a subset of the matrix that fits in ~15 min (a row
#: costs ~50 s of set-up on a busy 2-core machine besides its stream): every mode at 20,000 tokens/s for
#: 20,000 tokens; the realistic 100 tokens/s for 1,000 tokens (typing measured) in the modes that differ
#: most; 100,000 tokens where the old page fell furthest behind; one 200 s stream at 100 tokens/s.
ROWS: dict[str, list[tuple[int, int, tuple[str, ...]]]] = {
    "full": [
        (20_000, 20_000, ALL_MODES),
        (1_000, 100, ("print", "plain", "sep", "inspect", "compare")),
        (100_000, 20_000, ("plain", "sep", "inspect")),
        (20_000, 100, ("sep",)),
    ],
    "quick": [(1_000, 100, ("plain", "sep")), (20_000, 20_000, ("print", "plain", "sep", "inspect"))],
    "smoke": [(200, 20_000, ("print", "plain", "sep"))],
}
MATRIX = [(n, rate, ALL_MODES) for n in (1_000, 20_000, 100_000) for rate in (100, 20_000)]

KERNEL_SETUP = """
import json, time
from llmstream_nb import compare, get_model, show
from llmstream_nb.chunks import Chunk

_demo = get_model("demo", ttft=0, tokens_per_second=0)
_TOKENS = [str(c) for c in _demo.stream("Tell me about trains", max_tokens=3000, min_tokens=3000, seed=2)]
_MARK = {mark!r}

def _paced(n, rate, out, logprobs=False, thinking=0):
    '''n tokens at `rate` a second (see _pace); the last is the marker.'''
    for i in _pace(n, rate):
        text = _MARK if i == n - 1 else _TOKENS[i % len(_TOKENS)]
        if i == n - 1:
            out["last"] = max(out.get("last", 0.0), time.time())
        if thinking and i < thinking:
            yield Chunk(text, kind="reasoning")
        elif logprobs:
            yield Chunk(text, logprob=-((i * 7919) % 40) / 10, top_logprobs=((text, -0.1), ("x", -2.5)))
        else:
            yield text

class _Paced:
    '''A "model" for compare: its stream is a paced generator.'''
    def __init__(self, n, rate, out, name):
        self.n, self.rate, self.out, self.model_name = n, rate, out, name
    def stream(self, prompt, **options):
        return _paced(self.n, self.rate, self.out)
"""

# Installed on the page before the cell runs. `window.__page7` gathers what the row reports.
INSTRUMENT = """([cell, mark, print]) => {
    const m = { long: [], keys: [], shown: null, roots: [] };
    const now = () => performance.timeOrigin + performance.now();
    m.observer = new PerformanceObserver((list) => {
        for (const e of list.getEntries()) m.long.push(e.duration);
    });
    m.observer.observe({ type: "longtask" });
    m.onKey = (event) => {
        const t0 = event.timeStamp;
        requestAnimationFrame(() => setTimeout(() => m.keys.push(performance.now() - t0), 0));
    };
    window.addEventListener("keydown", m.onKey, true);
    // The text roots to watch: every view's text (compare has two), or the cell's last output (print).
    const rootsNow = () => {
        if (print) return [...cell.querySelectorAll(".jp-OutputArea-output")].slice(-1);
        if (m.roots.length && m.roots.every((r) => r.isConnected)) return m.roots;
        m.roots = [...cell.querySelectorAll(".llmstream-text")];
        return m.roots;
    };
    // The last few text nodes of `root`, their tails only: O(1) whatever the length shown.
    const ends = (root) => {
        const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
        let node = walker.lastChild();
        let tail = "";
        for (let k = 0; node && k < 6 && tail.length < 64; k++) {
            tail = node.data.slice(-64) + tail;
            node = walker.previousNode();
        }
        return tail.includes(mark.trim());
    };
    m.check = () => {
        if (m.shown !== null || m.seen) return;
        const roots = rootsNow();
        if (roots.length === 0 || !roots.every(ends)) return;
        m.seen = true;
        requestAnimationFrame(() => setTimeout(() => { m.shown = now(); }, 0));
    };
    m.mutations = new MutationObserver(m.check);
    m.mutations.observe(cell, { childList: true, subtree: true, characterData: true });
    window.__page7 = m;
}"""

STATE = """([cell, print]) => {
    const m = window.__page7;
    m.check();  // (a last look, should a mutation have been missed)
    const views = [...cell.querySelectorAll(".llmstream-view")];
    return {
        shown: m.shown,
        prompt: cell.querySelector(".jp-InputPrompt").textContent,
        statuses: views.map((v) => v.dataset.status),
    };
}"""

FINISH = """([cell]) => {
    const m = window.__page7;
    m.observer.disconnect();
    m.mutations.disconnect();
    window.removeEventListener("keydown", m.onKey, true);
    const output = cell.querySelector(".jp-Cell-outputArea");
    let nodes = 0;
    const walker = document.createTreeWalker(output, NodeFilter.SHOW_ALL);
    while (walker.nextNode()) nodes++;
    return { long: m.long, keys: m.keys, shown: m.shown, nodes };
}"""


TRACE_CATEGORIES = ["devtools.timeline", "disabled-by-default-devtools.timeline", "v8.execute", "blink.user_timing"]
#: Trace events worth summing (they nest: a forced Layout sits inside a FunctionCall).
TRACE_EVENTS = (
    "RunTask",
    "FunctionCall",
    "EventDispatch",
    "FireAnimationFrame",
    "TimerFire",
    "UpdateLayoutTree",
    "Layout",
    "PrePaint",
    "Paint",
    "Layerize",
    "HitTest",
    "MinorGC",
    "MajorGC",
    "V8.GC_SCAVENGER",
    "ParseHTML",
    "IntersectionObserverController::computeIntersections",
    "MutationObserver",
)


def trace_summary(path: Path) -> str:
    """Where the renderer's main thread spent its time in a Chrome trace (PAGE_TRACE=file): ms per event name."""
    events = json.loads(path.read_text())
    events = events.get("traceEvents", events) if isinstance(events, dict) else events
    main = {
        (e["pid"], e["tid"])
        for e in events
        if e.get("name") == "thread_name" and e.get("args", {}).get("name") == "CrRendererMain"
    }
    totals: dict[str, float] = {}
    for e in events:
        if e.get("ph") == "X" and (e.get("pid"), e.get("tid")) in main and e.get("name") in TRACE_EVENTS:
            totals[e["name"]] = totals.get(e["name"], 0.0) + e.get("dur", 0) / 1e3
    summary = "trace (ms on the renderer's main threads): " + ", ".join(
        f"{name} {ms:,.0f}" for name, ms in sorted(totals.items(), key=lambda kv: -kv[1])
    )
    # The longest tasks, and what they held.
    mine = sorted(
        (
            e
            for e in events
            if e.get("ph") == "X" and (e.get("pid"), e.get("tid")) in main and e.get("name") in TRACE_EVENTS
        ),
        key=lambda e: e["ts"],
    )
    tasks = sorted((e for e in mine if e["name"] == "RunTask" and e.get("dur", 0) > 50_000), key=lambda e: -e["dur"])
    for task in tasks[:5]:
        inside: dict[str, float] = {}
        for e in mine:
            if e is not task and task["ts"] <= e["ts"] < task["ts"] + task["dur"]:
                label = e["name"]
                if label == "FunctionCall":
                    data = e.get("args", {}).get("data", {})
                    label = f"FunctionCall {data.get('functionName', '')}@{str(data.get('url', ''))[-40:]}"
                inside[label] = inside.get(label, 0.0) + e.get("dur", 0) / 1e3
        top = sorted(inside.items(), key=lambda kv: -kv[1])[:6]
        summary += f"\n  task {task['dur'] / 1e3:,.0f} ms: " + ", ".join(f"{k} {v:,.0f}" for k, v in top)
    return summary


def _heap(cdp: Any) -> float:
    cdp.send("HeapProfiler.collectGarbage")
    return float(cdp.send("Runtime.getHeapUsage")["usedSize"])


def _measure_row(page: Any, lab: Any, mode: str, n: int, rate: int, typing: bool) -> dict[str, Any]:
    from browser_harness import SCRATCH, add_cell, kernel_value, open_notebook, run_cell, run_code

    open_notebook(page, lab, SCRATCH)
    run_code(page, KERNEL_SETUP.format(mark=MARK) + PACE_SOURCE)
    typist = add_cell(page, "# typing here: ")
    cell = add_cell(page, "_out = {}\n" + MODES[mode].format(n=n, rate=rate))
    cdp = page.context.new_cdp_session(page)
    heap_before = _heap(cdp)
    printing = mode == "print"
    page.evaluate(INSTRUMENT, [cell.element_handle(), MARK, printing])
    trace = os.environ.get("PAGE_TRACE")
    if trace:
        page.context.browser.start_tracing(page=page, path=trace, categories=TRACE_CATEGORIES)
    run_cell(page, cell)
    started = time.monotonic()
    if typing:
        typist.locator(".cm-content").click()
        page.keyboard.press("End")
    page.evaluate("() => { window.__page7.keys.length = 0; }")  # only the keys typed while it streams
    handle = cell.element_handle()
    # print() at 20,000 tokens/s sends a message per token and JupyterLab redraws the whole output for
    # each: it takes minutes; the baseline row reports "> PRINT_PATIENCE s" instead of waiting that out.
    timeout = (PRINT_PATIENCE if printing else 120) + 3 * n / rate
    timed_out = False
    while True:
        state = page.evaluate(STATE, [handle, printing])
        ended = "*" not in state["prompt"] and any(ch.isdigit() for ch in state["prompt"])
        settled = printing or (state["statuses"] and all(s in ("done", "error") for s in state["statuses"]))
        if ended and settled and state["shown"] is not None:
            break
        if time.monotonic() - started > timeout and printing:
            timed_out = True
            break
        if time.monotonic() - started > timeout:
            tail = page.evaluate("(cell) => cell.querySelector('.jp-Cell-outputArea').textContent.slice(-200)", handle)
            raise RuntimeError(f"section 7: {mode} {n}@{rate} did not finish in {timeout:.0f} s: {state}; {tail!r}")
        if typing:
            page.keyboard.press("x")
        page.wait_for_timeout(120)
    page.wait_for_timeout(500)  # the end's redraw (JupyterLab draws the output anew) lands in the long tasks
    if trace:
        page.context.browser.stop_tracing()
        print(trace_summary(Path(trace)), file=sys.stderr)
    result = page.evaluate(FINISH, [handle])
    keys = result["keys"]
    heap_after = _heap(cdp)
    cdp.detach()
    # A timed-out print() row: the kernel is still busy printing, and nothing shows the last token yet.
    last = None if timed_out else kernel_value(page, "_out['last']")
    return {
        "mode": mode,
        "tokens": n,
        "rate": rate,
        "duration": n / rate,
        "shown_ms": float("inf") if last is None else result["shown"] - last * 1e3,
        "timed_out": timeout if timed_out else None,
        "long_total_ms": sum(result["long"]),
        "long_max_ms": max(result["long"], default=0.0),
        "long_count": len(result["long"]),
        "key_p50_ms": percentile(keys, 50),
        "key_p95_ms": percentile(keys, 95),
        "keys": len(keys),
        "nodes": result["nodes"],
        "heap_mb": (heap_after - heap_before) / 1e6,
    }


def page_rows(sizes: Sizes, full_matrix: bool) -> list[tuple[int, int, tuple[str, ...]]]:
    return MATRIX if full_matrix else ROWS[sizes.name]


def page(s: Section, sizes: Sizes, full_matrix: bool = False, dump: Path | None = None) -> list[dict[str, Any]]:
    """Run the rows in JupyterLab + headless Chromium and write the section's tables and verdicts."""
    from browser_harness import CHROMIUM, CHROMIUM_ARGS, browser_missing, start_lab, stop_lab, write_scratch_notebook

    missing = browser_missing()
    if missing:
        s.note(f"Not run: {missing}.")
        return []
    from playwright.sync_api import sync_playwright

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="llmstream-bench-page-") as tmp:
        home = Path(tmp)
        root = home / "root"
        root.mkdir()
        write_scratch_notebook(root)
        lab = start_lab(root, home)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
                try:
                    for n, rate, modes in page_rows(sizes, full_matrix):
                        for mode in modes:
                            context = browser.new_context(viewport={"width": 1280, "height": 900})
                            context.set_default_timeout(120_000)
                            try:
                                row = _measure_row(context.new_page(), lab, mode, n, rate, typing=n / rate >= 5)
                            finally:
                                context.close()
                                lab.forget_sessions()
                            rows.append(row)
                            print(f"   7: {json.dumps(row)}", file=sys.stderr, flush=True)
                            if dump:
                                dump.write_text(json.dumps(rows, indent=1))
                    context = browser.new_context(viewport={"width": 1280, "height": 900})
                    context.set_default_timeout(120_000)
                    try:
                        markdown = markdown_row(context.new_page(), lab, sizes)
                    finally:
                        context.close()
                        lab.forget_sessions()
                    print(f"   7: {json.dumps(markdown)}", file=sys.stderr, flush=True)
                finally:
                    browser.close()
        finally:
            stop_lab(lab)
    _report(s, rows)
    report_markdown(s, markdown)
    return rows


TARGETS = {
    "shown": 100.0,  # ms after the last token's arrival
    "long_max": 50.0,  # no main-thread task over 50 ms
    "long_share": 0.02,  # long tasks under 2% of the stream's duration
    "key": 50.0,  # ms per key while typing in another cell
}


def _report(s: Section, rows: list[dict[str, Any]]) -> None:
    s.note(
        "JupyterLab 4 in headless Chromium (Playwright), `show(gen())` in a blocking cell with a paced generator "
        "of the demo model's tokens; the notebook's windowing is off (as in the browser tests). Each row is one "
        "stream in a fresh page and kernel. Key-to-frame is measured while typing in another cell, on rows of "
        "at least 5 s. Targets: the last token shown within 100 ms, no task over 50 ms, long tasks under 2% of "
        "the stream, DOM nodes bounded by what is visible, typing under 50 ms a key."
    )
    s.table(
        [
            "tokens",
            "rate (tok/s)",
            "mode",
            "last token shown after",
            "long tasks total (max)",
            "share of stream",
            "key-to-frame p50 / p95",
            "DOM nodes",
            "JS heap added",
        ],
        [
            [
                f"{r['tokens']:,}",
                f"{r['rate']:,}",
                r["mode"],
                f"> {r['timed_out']:.0f} s (not shown)" if r.get("timed_out") else f"{fmt(r['shown_ms'])} ms",
                f"{r['long_total_ms'] / 1e3:.2f} s ({fmt(r['long_max_ms'])} ms)",
                f"{100 * r['long_total_ms'] / 1e3 / r['duration']:.1f}%",
                f"{fmt(r['key_p50_ms'])} / {fmt(r['key_p95_ms'])} ms" if r["keys"] else "-",
                f"{r['nodes']:,}",
                f"{r['heap_mb']:.1f} MB",
            ]
            for r in rows
        ],
        align="rrlrrrrrr",
    )
    views = [r for r in rows if r["mode"] != "print"]
    if not views:
        return
    worst_shown = max(views, key=lambda r: r["shown_ms"])
    s.verdict(
        "last token shown within 100 ms (every view row)",
        f"worst {fmt(worst_shown['shown_ms'])} ms ({worst_shown['mode']}, {worst_shown['tokens']:,} at "
        f"{worst_shown['rate']:,}/s)",
        worst_shown["shown_ms"] <= TARGETS["shown"],
    )
    worst_task = max(views, key=lambda r: r["long_max_ms"])
    s.verdict(
        "no main-thread task over 50 ms",
        f"worst {fmt(worst_task['long_max_ms'])} ms ({worst_task['mode']}, {worst_task['tokens']:,} at "
        f"{worst_task['rate']:,}/s)",
        worst_task["long_max_ms"] <= TARGETS["long_max"],
    )
    share = max(views, key=lambda r: r["long_total_ms"] / 1e3 / r["duration"])
    s.verdict(
        "long tasks under 2% of the stream's duration",
        f"worst {100 * share['long_total_ms'] / 1e3 / share['duration']:.1f}% ({share['mode']}, "
        f"{share['tokens']:,} at {share['rate']:,}/s)",
        share["long_total_ms"] / 1e3 / share["duration"] <= TARGETS["long_share"],
    )
    token_rows = [r for r in views if r["mode"] in TOKEN_MODES]
    if token_rows:
        biggest = max(token_rows, key=lambda r: (r["tokens"], r["nodes"]))
        small = [r for r in token_rows if r["tokens"] == min(t["tokens"] for t in token_rows)]
        s.verdict(
            "DOM nodes bounded by what is visible, not by tokens",
            f"{max(r['nodes'] for r in small):,} at {small[0]['tokens']:,} tokens, "
            f"{biggest['nodes']:,} at {biggest['tokens']:,} ({biggest['mode']})",
            biggest["nodes"] <= 5 * max(r["nodes"] for r in small) + 2_000,
        )
    typed = [r for r in views if r["keys"]]
    if typed:
        worst_key = max(typed, key=lambda r: r["key_p95_ms"])
        s.verdict(
            "typing in another cell under 50 ms a key (p95)",
            f"worst p95 {fmt(worst_key['key_p95_ms'])} ms ({worst_key['mode']}, {worst_key['tokens']:,} at "
            f"{worst_key['rate']:,}/s)",
            worst_key["key_p95_ms"] <= TARGETS["key"],
        )
    s.headline["page"] = ", ".join(
        f"{r['mode']} {r['tokens']:,}@{r['rate']:,}/s: shown +{fmt(r['shown_ms'])} ms" for r in views[:3]
    )


if __name__ == "__main__":  # python -m bench.page [mode,mode n rate]: rows, printed (for profiling by hand)
    from ._common import SIZES

    section = Section("7. The page (JupyterLab in headless Chromium)")
    args = sys.argv[1:]
    if args:
        ROWS["smoke"] = [(int(args[1]), int(args[2]), tuple(args[0].split(",")))]
    page(section, SIZES["smoke"], dump=Path(os.environ["PAGE_DUMP"]) if os.environ.get("PAGE_DUMP") else None)
    print(section.markdown())
