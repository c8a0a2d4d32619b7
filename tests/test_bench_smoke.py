"""The benchmark still runs: `python -m bench --smoke` (tiny sizes, a few tens of seconds) writes its table.

Only that it runs and writes a table is checked, never a timing: benchmarks are not pass/fail, and this
machine's speed is nobody's business here. It starts the local server, a replay server and a kernel;
section 7 (the page: JupyterLab and Chromium) runs in a test of its own, with the browser tests.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SECTIONS = (
    "1. Client throughput",
    "2. Time to first token",
    "3. Widget transport",
    "4. Concurrency",
    "5. Memory",
    "6. Start-up",
    "8. Local model",
)

pytestmark = pytest.mark.kernel


def run_smoke(tmp_path: Path, sections: str, timeout: float) -> str:
    """`python -m bench --smoke --only SECTIONS`; returns the table it wrote."""
    out = tmp_path / "results.md"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--only", sections, "--out", str(out)],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out.read_text()


def test_the_bench_runs_in_smoke_mode_and_writes_a_table(tmp_path: Path) -> None:
    for module in ("openai", "httpx_sse", "jupyter_client", "ipykernel", "starlette"):
        pytest.importorskip(module, reason="the bench needs the test (or bench) extra")
    text = run_smoke(tmp_path, "1,2,3,4,5,6,8", timeout=280)
    assert "| section | target | measured | verdict |" in text
    for title in SECTIONS:
        assert f"## {title}" in text
    assert "This section failed" not in text
    assert text.count("|---") >= len(SECTIONS) + 1  # a table per section, and the targets


@pytest.mark.browser
def test_the_page_section_runs_in_smoke_mode(tmp_path: Path) -> None:
    """Section 7 apart: it starts JupyterLab and Chromium, so it runs with the browser tests (last)."""
    sys.path.insert(0, str(REPO / "tests"))
    from browser_harness import require_browser

    require_browser()
    text = run_smoke(tmp_path, "7", timeout=400)
    assert "## 7. The page" in text and "This section failed" not in text
    for mode in ("print", "plain", "sep"):
        assert f"| {mode} |" in text, text
    assert "last token shown within 100 ms" in text
    assert "per flush, start" in text  # the Markdown row (bench/page_markdown.py)
