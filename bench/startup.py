"""Section 6: start-up cost in a fresh process: `import llmstream_nb`, `%load_ext llmstream_nb`, and
`import openai` / `import langchain_openai` for scale.

Each figure is timed inside a fresh interpreter (so the interpreter's own start is not counted), with the
contenders interleaved round by round; the first round warms the disk cache and is dropped. `%load_ext`
is timed in a fresh IPython shell (IPython imported first, as it is in a kernel) and, with fewer rounds,
in a fresh Jupyter kernel. `python -X importtime` names what our import spends its time on
(bench/profiles/import_llmstream_nb.txt).
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from ._common import FULL, ROOT, Section, Sizes, _child_env, fmt, interleave, median, ratio
from .profiling import save

SNIPPETS = {
    "`import llmstream_nb`": "import llmstream_nb",
    "`%load_ext llmstream_nb` (fresh IPython shell)": None,
    "`import openai`": "import openai",
    "`import langchain_openai`": "import langchain_openai",
}
TIMER = "import time; _t = time.perf_counter(); {stmt}; print(time.perf_counter() - _t)"
LOAD_EXT = (
    "from IPython.core.interactiveshell import InteractiveShell; import time; ip = InteractiveShell.instance(); "
    "_t = time.perf_counter(); ip.run_line_magic('load_ext', 'llmstream_nb'); print(time.perf_counter() - _t)"
)


def _fresh(code: str) -> float:
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=_child_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if proc.returncode:
        raise RuntimeError(proc.stderr.strip()[-1000:])
    return float(proc.stdout.strip().splitlines()[-1])


def _code(name: str) -> str:
    stmt = SNIPPETS[name]
    return LOAD_EXT if stmt is None else TIMER.format(stmt=stmt)


def _stdlib_of_ours() -> list[str]:
    """The top-level modules `import llmstream_nb` loads besides itself (all stdlib, plus httpx if eager)."""
    code = (
        "import sys; before = set(sys.modules); import llmstream_nb; "
        "print(' '.join(sorted({m.split('.')[0] for m in set(sys.modules) - before})))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=_child_env(), capture_output=True, text=True, check=False
    )
    names = proc.stdout.split()
    return [n for n in names if n != "llmstream_nb" and not n.startswith(("__editable", "_")) and n.isidentifier()]


def _available(module: str) -> bool:
    return (
        subprocess.run(
            [sys.executable, "-c", f"import {module}"], cwd=ROOT, env=_child_env(), capture_output=True, check=False
        ).returncode
        == 0
    )


def _in_kernel(rounds: int) -> list[float]:
    from ._kernel import KernelHarness, kernel_value, run_cell

    times = []
    for _ in range(rounds):
        with KernelHarness.start() as kernel:
            run_cell(
                kernel,
                "import time as _time\n_t = _time.perf_counter()\nget_ipython().run_line_magic('load_ext', 'llmstream_nb')\n"
                "_load_ext_seconds = _time.perf_counter() - _t",
            )
            times.append(kernel_value(kernel, "_load_ext_seconds"))
    return times


def importtime_profile(keep: bool) -> list[tuple[int, int, str]]:
    """(cumulative µs, self µs, module) for `import llmstream_nb`, slowest first; with `keep`, saved as
    bench/profiles/import_llmstream_nb.txt (the full run only, so a smoke or quick run leaves the
    committed profile alone)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import llmstream_nb"],
        cwd=ROOT,
        env=_child_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    rows = []
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        if not line.startswith("import time:") or len(parts) != 3 or "self [us]" in line:
            continue
        rows.append((int(parts[1]), int(parts[0].split(":")[1]), parts[2].rstrip()))
    rows.sort(reverse=True)
    if keep:
        save(
            "import_llmstream_nb",
            "cumulative µs | self µs | module (python -X importtime -c 'import llmstream_nb')\n"
            + "\n".join(f"{c:>10} | {s:>8} | {n}" for c, s, n in rows),
        )
    return rows


def startup(section: Section, sizes: Sizes) -> dict[str, Any]:
    deps = _stdlib_of_ours()
    floor = f"(reference) the {len(deps)} other modules `import llmstream_nb` loads, alone"
    SNIPPETS[floor] = f"import {', '.join(deps)}"
    names = [n for n in SNIPPETS if SNIPPETS[n] is None or n == floor or _available(SNIPPETS[n].split()[-1])]
    missing = [n for n in SNIPPETS if n not in names]
    warm = 1 if sizes.startup_repeats > 1 else 0  # a first round warms the disk cache, and is dropped
    rounds = sizes.startup_repeats + warm
    runs = interleave({n: (lambda n=n: _fresh(_code(n))) for n in names}, {n: rounds for n in names})
    runs = {n: v[warm:] for n, v in runs.items()}
    kernel_rounds = max(1, sizes.startup_repeats // 3)
    runs["`%load_ext llmstream_nb` (fresh kernel)"] = _in_kernel(kernel_rounds)
    ours = median(runs["`import llmstream_nb`"])
    rows = [
        [n, fmt(median(v) * 1e3, 1), f"{min(v) * 1e3:.1f}-{max(v) * 1e3:.1f}", f"{ratio(median(v), ours):.2f}x", len(v)]
        for n, v in runs.items()
    ]
    section.table(["what", "median ms", "min-max ms", "÷ import llmstream_nb", "fresh processes"], rows)
    profile = importtime_profile(keep=sizes is FULL)
    top = [
        r
        for r in profile
        if r[2]
        .strip()
        .startswith(("llmstream_nb", "asyncio", "httpx", "json", "dataclasses", "typing", "inspect", "ssl"))
    ][:8]
    section.note(
        "Timed inside each fresh interpreter, so interpreter start-up itself (~20 ms) is not counted. "
        + (f"Not installed, so not timed: {', '.join(missing)}. " if missing else "")
        + f"The reference row imports what `import llmstream_nb` loads besides itself ({', '.join(deps)}): "
        "the part of our import that is the standard library's. "
        + "Largest cumulative entries of `python -X importtime -c 'import llmstream_nb'` (one run"
        + ("; bench/profiles/import_llmstream_nb.txt has them all" if sizes is FULL else "")
        + "): "
        + ", ".join(f"{name.strip()} {c / 1e3:.1f} ms" for c, _, name in top)
        + "."
    )
    load_ext = median(runs["`%load_ext llmstream_nb` (fresh IPython shell)"])
    section.verdict("`import llmstream_nb` under 150 ms", f"{ours * 1e3:.1f} ms (median)", ours < 0.150)
    section.verdict(
        "`%load_ext llmstream_nb` under 150 ms",
        f"{load_ext * 1e3:.1f} ms in a fresh IPython shell, "
        f"{median(runs['`%load_ext llmstream_nb` (fresh kernel)']) * 1e3:.1f} ms in a fresh kernel",
        load_ext < 0.150,
    )
    return {"runs": runs, "profile": profile}
