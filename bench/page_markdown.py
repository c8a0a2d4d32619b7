"""Section 7, Markdown row: what a flush costs the page in Markdown mode, at the start and at the end of
a long answer. Rendering only the open block (stream_markdown.js) keeps it flat; rendering the whole
answer at each flush, the obvious way, grows with the answer.

A paced generator in the kernel streams a Markdown answer (sections with a heading, a paragraph with
inline code and a formula, a code fence and a list) into `show(gen(), markdown=True)`. The page's
MarkdownFlow reports, through a hook the bench sets (`__llmstreamMarkdownTiming`), how long each of its
passes took (parse, sanitise, draw the complete blocks and the open one) and how long the answer was
then. A pass is one flush. Reported: the median pass over the first and the last tenth of the answer.
"""

from __future__ import annotations

import time
from typing import Any

from ._common import PACE_SOURCE, Section, Sizes, fmt, percentile

#: Tokens and tokens a second per run size.
SIZES = {"full": (20_000, 500), "quick": (20_000, 500), "smoke": (2_000, 2_000)}

KERNEL_SETUP = """
import re, time
from llmstream_nb import show

_SECTION = (
    "## Section {i}\\n\\nSome text with **bold**, `code` and $x_{i}^2$ inline, and more words to read.\\n\\n"
    "```python\\ndef f{i}(x):\\n    return x * {i}\\n```\\n\\n- one point\\n- another point\\n\\n"
)
_MD_TOKENS = []
_i = 0
while len(_MD_TOKENS) < {n}:
    _MD_TOKENS += re.findall(r"\\S+\\s*|\\s+", _SECTION.format(i=_i))
    _i += 1
_MD_TOKENS = _MD_TOKENS[:{n}]

def _md(n, rate):
    for i in _pace(n, rate):
        yield _MD_TOKENS[i]
"""


def markdown_row(page: Any, lab: Any, sizes: Sizes) -> dict[str, Any]:
    """One Markdown stream in a fresh page and kernel; the page's per-pass times, start and end."""
    from browser_harness import SCRATCH, open_notebook, run_code

    n, rate = SIZES[sizes.name]
    open_notebook(page, lab, SCRATCH)
    run_code(page, KERNEL_SETUP.replace("{n}", str(n)) + PACE_SOURCE)
    page.evaluate("() => { globalThis.__llmstreamMarkdownTiming = []; }")
    started = time.monotonic()
    cell = run_code(page, f"show(_md({n}, {rate}), markdown=True);")
    cell.locator(".llmstream-view[data-status=done]").wait_for(timeout=120_000 + 3_000 * n // rate)
    page.wait_for_timeout(1000)  # the last pass (typesetting included) lands
    passes = page.evaluate("() => globalThis.__llmstreamMarkdownTiming")
    total = max((length for length, _ in passes), default=0)
    tenths = [[ms for length, ms in passes if k * total / 10 < length <= (k + 1) * total / 10] for k in range(10)]
    start, end = tenths[0], tenths[-1]
    return {
        "tokens": n,
        "rate": rate,
        "chars": total,
        "passes": len(passes),
        "start_ms": percentile(start, 50),
        "end_ms": percentile(end, 50),
        "end_p95_ms": percentile(end, 95),
        "tenths_ms": [percentile(tenth, 50) for tenth in tenths],
        "seconds": time.monotonic() - started,
    }


def report_markdown(s: Section, row: dict[str, Any]) -> None:
    ratio = row["end_ms"] / row["start_ms"] if row["start_ms"] else float("nan")
    s.note(
        "Markdown while streaming (`show(gen(), markdown=True)`): the page's time per flush (one MarkdownFlow "
        "pass: JupyterLab's Markdown parser, its sanitiser, our fetch filter, the DOM update), median over the "
        "first and the last tenth of the answer. Flat means a flush costs what the open block holds, not what "
        "the answer holds."
    )
    s.table(
        ["tokens", "rate (tok/s)", "characters", "flushes", "per flush, start", "per flush, end (p95)", "end / start"],
        [
            [
                f"{row['tokens']:,}",
                f"{row['rate']:,}",
                f"{row['chars']:,}",
                f"{row['passes']:,}",
                f"{fmt(row['start_ms'], 1)} ms",
                f"{fmt(row['end_ms'], 1)} ms ({fmt(row['end_p95_ms'], 1)} ms)",
                f"{ratio:.2f}",
            ]
        ],
        align="rrrrrrr",
    )
    s.verdict("Markdown: a flush at the end costs no more than 2x one at the start", f"{ratio:.2f}x", ratio <= 2)


if __name__ == "__main__":  # python -m bench.page_markdown [runs]: the row alone, a few times, and its table
    import json
    import sys
    import tempfile
    from pathlib import Path

    from ._common import ROOT
    from ._common import SIZES as RUN_SIZES

    sys.path.insert(0, str(ROOT / "tests"))
    from browser_harness import CHROMIUM, CHROMIUM_ARGS, start_lab, stop_lab, write_scratch_notebook
    from playwright.sync_api import sync_playwright

    rows = []
    with tempfile.TemporaryDirectory(prefix="llmstream-bench-markdown-") as tmp:
        home = Path(tmp)
        (home / "root").mkdir()
        write_scratch_notebook(home / "root")
        lab = start_lab(home / "root", home)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
                for _ in range(int(sys.argv[1]) if len(sys.argv) > 1 else 1):
                    context = browser.new_context(viewport={"width": 1280, "height": 900})
                    context.set_default_timeout(120_000)
                    rows.append(markdown_row(context.new_page(), lab, RUN_SIZES["quick"]))
                    context.close()
                    lab.forget_sessions()
                    print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
                browser.close()
        finally:
            stop_lab(lab)
    middle = sorted(rows, key=lambda r: r["end_ms"] / r["start_ms"])[len(rows) // 2]  # the median run
    section = Section("7. The page: Markdown while streaming")
    report_markdown(section, middle)
    print(section.markdown())
