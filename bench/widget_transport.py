"""Section 3: what a StreamView sends to the page, read off iopub from a real kernel (jupyter_client).

Tokens are the demo model's own (a recorded 100,000-token answer, ~4.5 bytes each), fed to the view in
the kernel by a paced generator at 100, 1,000 or 20,000 tokens per second (tokens due are yielded in a
burst, as a network read would bring them). The kernel notes each token's arrival (time.time()); the iopub
message carrying it is stamped by the kernel's session (`header.date`, the same clock), so "the last token
shown within 100 ms of its arrival" is measured kernel side, as the time from its arrival to the message
that carries it, not in a browser.

Counted: every comm message of the view's widget (its comm_open, which carries the widget's JS and CSS,
the coalesced deltas, the state updates), in bytes as sent (`KernelHarness.wire_bytes`: the four JSON
frames plus binary buffers). The view's text fallback (`update_display_data`, for viewers without widgets)
is not comm traffic and has its own column. The baselines, `Output.append_stdout(token)` and
`HTML.value += token`, send one message per token and resend everything so far each time: they are
measured at a few small sizes, fitted to a quadratic and extrapolated (marked).
"""

from __future__ import annotations

import textwrap
from itertools import pairwise
from pathlib import Path
from typing import Any

from ._common import (
    PACE_SOURCE,
    Section,
    Sizes,
    fmt,
    fmt_bytes,
    fmt_x,
    median,
    percentile,
)
from ._kernel import KernelHarness, Message, kernel_value, run_cell

KB = 1024
WIDGET = "AnyModel"

KERNEL_SETUP = """
import gc, json, time
from llmstream_nb import StreamView

TOKENS = json.load(open({path!r}))

def paced(tokens, rate, arrivals):
    '''Yield tokens at `rate` per second (see _pace), noting when each arrives.'''
    for i in _pace(len(tokens), rate):
        arrivals.append(time.time())
        yield tokens[i]

def run_view(n, rate):
    '''One view over n paced tokens, blocking mode; returns what the bench needs from the kernel side.'''
    global view
    arrivals = []
    gc.collect()
    cpu = time.process_time()
    view = StreamView(paced(TOKENS[:n], rate, arrivals))
    view.run()
    cpu = time.process_time() - cpu
    result = {{"arrivals": arrivals, "lengths": [len(t) for t in TOKENS[:n]], "cpu": cpu,
              "text_bytes": len(view.text.encode()), "chars": len(view.text), "status": view.status,
              "comm_id": view.widget.model_id}}
    view.widget.close()
    return result

def run_naive(kind, n):
    import ipywidgets
    widget = ipywidgets.Output() if kind == "output" else ipywidgets.HTML()
    display(widget)
    for token in TOKENS[:n]:
        if kind == "output":
            widget.append_stdout(token)
        else:
            widget.value += token
    model_id = widget.model_id
    widget.close()
    return {{"comm_id": model_id, "text_bytes": len("".join(TOKENS[:n]).encode())}}
"""


def _comm_traffic(kernel: KernelHarness, comm_id: str) -> dict[str, Any]:
    messages = kernel.comm_messages(comm_id)
    opened = [m for m in messages if m["msg_type"] == "comm_open"]
    rest = [m for m in messages if m["msg_type"] == "comm_msg"]
    deltas = [m for m in rest if m["content"]["data"].get("method") == "custom"]
    return {
        "open_bytes": sum(kernel.wire_bytes(m) for m in opened),
        "stream_bytes": sum(kernel.wire_bytes(m) for m in rest),
        "messages": len(rest),
        "deltas": deltas,
        "updates": [m for m in rest if m["content"]["data"].get("method") == "update"],
        "update_bytes": sum(kernel.wire_bytes(m) for m in rest if m["content"]["data"].get("method") == "update"),
    }


def _final_text(update: Message) -> str | None:
    """The final text an update carries: in `text`, or zlib-compressed in the `text_z` buffer."""
    data = update["content"]["data"]
    paths = [tuple(p) for p in data.get("buffer_paths") or []]
    if ("text_z",) in paths:
        import zlib

        return zlib.decompress(bytes(update["buffers"][paths.index(("text_z",))])).decode()
    return data.get("state", {}).get("text")


def _max_per_second(times: list[float]) -> int:
    """The most messages in any one-second window."""
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] < t - 1.0:
            j += 1
        best = max(best, i - j + 1)
    return best


def _latencies(deltas: list[Message], arrivals: list[float], lengths: list[int]) -> list[float]:
    """For each token, seconds from its arrival to the header date of the delta message that carried it.

    Plain-mode deltas carry text, so tokens are matched by where they end in the text (in characters)."""
    ends: list[tuple[int, float]] = []
    total = 0
    for m in deltas:
        content = m["content"]["data"]["content"]
        piece = content.get("d", "") if isinstance(content, dict) else ""
        total = len(piece) if content.get("reset") else total + len(piece)
        ends.append((total, m["header"]["date"].timestamp()))
    out: list[float] = []
    position, k = 0, 0
    for arrival, length in zip(arrivals, lengths):
        position += length
        while k < len(ends) and ends[k][0] < position:
            k += 1
        if k == len(ends):
            break
        out.append(ends[k][1] - arrival)
    return out


def measure_view(kernel: KernelHarness, n: int, rate: int) -> dict[str, Any]:
    start = len(kernel.iopub)
    result = kernel_value(kernel, f"run_view({n}, {rate})")
    kernel.pump(0.2)
    traffic = _comm_traffic(kernel, result["comm_id"])
    cell = kernel.iopub[start:]
    fallback = sum(kernel.wire_bytes(m) for m in cell if m["msg_type"] in ("display_data", "update_display_data"))
    dates = sorted(m["header"]["date"].timestamp() for m in traffic["deltas"] + traffic["updates"])
    latencies = _latencies(traffic["deltas"], result["arrivals"], result["lengths"])
    arrivals = result["arrivals"]
    duration = arrivals[-1] - arrivals[0] if len(arrivals) > 1 else 0.0
    worst = max(range(len(latencies)), key=latencies.__getitem__) if latencies else 0
    final = [u for u in traffic["updates"] if _final_text(u) is not None]
    delta_wire = sum(kernel.wire_bytes(m) for m in traffic["deltas"])
    delta_text = sum(len(str(m["content"]["data"]["content"].get("d", "")).encode()) for m in traffic["deltas"])
    out = {
        "tokens": n,
        "rate": rate,
        "envelope": (delta_wire - delta_text) / max(1, len(traffic["deltas"])),
        "text_bytes": result["text_bytes"],
        "messages": traffic["messages"],
        "deltas": len(traffic["deltas"]),
        "bytes": traffic["open_bytes"] + traffic["stream_bytes"],
        "open_bytes": traffic["open_bytes"],
        "stream_bytes": traffic["stream_bytes"],
        "update_bytes": traffic["update_bytes"],
        "fallback_bytes": fallback,
        "max_per_second": _max_per_second(dates),
        "duration": duration,
        "last_latency": latencies[-1] if len(latencies) == n else float("nan"),
        "p50_latency": percentile(latencies, 50),
        "p99_latency": percentile(latencies, 99),
        "max_latency": max(latencies) if latencies else float("nan"),
        "cpu_per_token": result["cpu"] / n,
        "worst_at": (arrivals[worst] - arrivals[0]) if latencies else float("nan"),
        "complete": len(latencies) == n
        and result["status"] == "done"
        and len(final) == 1
        and len(_final_text(final[0]) or "") == result["chars"],
    }
    del kernel.iopub[start:]  # keep the harness's memory bounded on 100,000-token runs
    return out


def measure_naive(kernel: KernelHarness, kind: str, n: int) -> dict[str, Any]:
    start = len(kernel.iopub)
    result = kernel_value(kernel, f"run_naive({kind!r}, {n})")
    kernel.pump(0.2)
    traffic = _comm_traffic(kernel, result["comm_id"])
    out = {
        "tokens": n,
        "bytes": traffic["open_bytes"] + traffic["stream_bytes"],
        "messages": traffic["messages"],
        "text_bytes": result["text_bytes"],
    }
    del kernel.iopub[start:]
    return out


def _fit_quadratic(points: list[tuple[int, float]]) -> tuple[float, float, float]:
    """Least squares y = a n^2 + b n + c (exact for three points; c = 0 with two)."""
    columns = 3 if len(points) >= 3 else 2
    rows = [[float(n) ** 2, float(n), 1.0][:columns] for n, _ in points]
    ys = [float(y) for _, y in points]
    # Normal equations (A^T A) x = A^T y, solved by Gaussian elimination.
    m = [
        [sum(r[i] * r[j] for r in rows) for j in range(columns)] + [sum(r[i] * y for r, y in zip(rows, ys))]
        for i in range(columns)
    ]
    for i in range(columns):
        pivot = max(range(i, columns), key=lambda k: abs(m[k][i]))
        m[i], m[pivot] = m[pivot], m[i]
        for k in range(columns):
            if k != i:
                f = m[k][i] / m[i][i]
                m[k] = [a - f * b for a, b in zip(m[k], m[i])]
    x = [m[i][columns] / m[i][i] for i in range(columns)]
    return (x[0], x[1], x[2] if columns == 3 else 0.0)


def widget_transport(section: Section, tokens_file: Path, text_bytes_per_token: float, sizes: Sizes) -> dict[str, Any]:
    """The grid (tokens x rate) for our view, then the naive baselines; returns figures for the verdicts."""
    results: dict[tuple[int, int], dict[str, Any]] = {}
    measured: dict[tuple[int, int], list[dict[str, Any]]] = {}
    with KernelHarness.start() as kernel:
        run_cell(kernel, textwrap.dedent(KERNEL_SETUP.format(path=str(tokens_file)) + PACE_SOURCE), timeout=600)
        kernel_value(kernel, "run_view(200, 20000)['status']")  # warm up: widget classes, first comm
        for rate in sorted(sizes.widget_rates, reverse=True):
            for n in sizes.widget_tokens:
                seconds = n / rate
                run_n = n if seconds <= sizes.widget_max_seconds else max(100, int(rate * sizes.widget_max_seconds))
                key = (run_n, rate)
                if key not in measured:
                    rounds = sizes.widget_repeats if run_n / rate <= sizes.widget_repeat_seconds else 1
                    measured[key] = [measure_view(kernel, run_n, rate) for _ in range(rounds)]
                results[(n, rate)] = _scaled(measured[key], n)
        naive: dict[str, list[dict[str, Any]]] = {"output": [], "html": []}
        for kind in naive:
            for n in sizes.naive_tokens:
                naive[kind].append(measure_naive(kernel, kind, n))
    return _report(section, results, naive, text_bytes_per_token, sizes)


def _scaled(runs: list[dict[str, Any]], n: int) -> dict[str, Any]:
    """Medians over runs; a shorter stream stands for a longer one at the same rate by scaling what grows
    with the stream (messages, streamed bytes) by n / measured tokens. Rates and latencies carry over."""
    keys = [k for k, v in runs[0].items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    out: dict[str, Any] = {k: median(r[k] for r in runs) for k in keys}
    out["runs"] = len(runs)
    out["complete"] = all(r["complete"] for r in runs)
    out["worst_at"] = max(runs, key=lambda r: r["max_latency"])["worst_at"]
    measured_n = runs[0]["tokens"]
    out["measured_tokens"] = measured_n
    if measured_n != n:
        scale = n / measured_n
        for k in ("messages", "deltas", "stream_bytes", "update_bytes", "fallback_bytes", "text_bytes", "duration"):
            out[k] = out[k] * scale
        out["bytes"] = out["open_bytes"] + out["stream_bytes"]
        out["last_latency"] = float("nan")  # a scaled run's last token is not this stream's last token
        out["tokens"] = n
    return out


def _report(
    section: Section,
    results: dict[tuple[int, int], dict[str, Any]],
    naive: dict[str, list[dict[str, Any]]],
    text_bytes_per_token: float,
    sizes: Sizes,
) -> dict[str, Any]:
    rows = []
    misses: dict[str, list[str]] = {"bytes": [], "rate": [], "latency": []}
    for (n, rate), r in sorted(results.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        text = r["text_bytes"]
        limit = 1.5 * text + 50 * KB
        per_s = r["max_per_second"]
        scaled = r["measured_tokens"] != n
        rows.append(
            [
                f"{n:,}",
                f"{rate:,}/s",
                fmt_bytes(text),
                f"{fmt(r['messages'])}" + (" *" if scaled else ""),
                fmt(per_s),
                fmt_bytes(r["bytes"]) + (" *" if scaled else ""),
                fmt_bytes(r["open_bytes"]),
                fmt_x(r["bytes"] / text),
                fmt_bytes(limit),
                "yes" if r["bytes"] <= limit else "**no**",
                fmt_bytes(r["update_bytes"]),
                fmt_bytes(r["fallback_bytes"]),
                fmt(r["last_latency"] * 1e3, 1),
                fmt(r["p99_latency"] * 1e3, 1),
                f"{fmt(r['max_latency'] * 1e3, 1)} (at {r['worst_at']:.2f} s)",
                fmt(r["cpu_per_token"] * 1e6, 1),
                f"{r['runs']}" + (f" ({r['measured_tokens']:,} tokens)" if scaled else ""),
            ]
        )
        if r["bytes"] > limit:
            misses["bytes"].append(f"{n:,} at {rate:,}/s: {fmt_x(r['bytes'] / limit)} the limit")
        if per_s > 33:
            misses["rate"].append(f"{n:,} at {rate:,}/s: {per_s}/s")
        if r["max_latency"] > 0.1:
            misses["latency"].append(f"{n:,} at {rate:,}/s: max {r['max_latency'] * 1e3:.0f} ms")
    incomplete = [f"{n:,} at {rate:,}/s" for (n, rate), r in results.items() if not r["complete"]]
    if incomplete:
        section.note(
            "Warning: the deltas did not add up to the text, or the final state was missing, for "
            + ", ".join(incomplete)
            + " (iopub messages lost?)."
        )
    section.table(
        [
            "tokens",
            "rate",
            "text",
            "comm messages",
            "max msgs in 1 s",
            "comm bytes",
            "of which comm_open",
            "÷ text",
            "limit 1.5x text + 50 KB",
            "within",
            "of which final state",
            "text fallback (not comm)",
            "last token ms",
            "p99 token ms",
            "max token ms (when)",
            "kernel CPU µs/token",
            "runs",
        ],
        rows,
    )
    section.note(
        "Our `StreamView` (blocking mode, plain text), one row per stream. *comm bytes* include the widget's "
        "comm_open (its JS and CSS, sent once per view, plus its layout model's). *of which final state*: the "
        "update that ends the stream (status, stats, and the text that saved widget state keeps). *last token / p99 / max token ms*: from a token's "
        "arrival in the kernel to the `header.date` of the iopub message carrying it. *kernel CPU*: the "
        "kernel process's CPU per token, all threads (the paced source's sleeps are not CPU). Rows marked * "
        "would take longer than the run's budget: they were measured on the shorter stream named in *runs* at "
        "the same rate and scaled linearly (messages and bytes grow with the stream's length at a fixed rate; "
        "rates and latencies carry over, the last-token figure does not)."
    )

    envelope = median(r["envelope"] for r in results.values())
    opened = median(r["open_bytes"] for r in results.values())
    lines = []
    for (n, rate), r in sorted(results.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        limit = 1.5 * r["text_bytes"] + 50 * KB
        if r["bytes"] <= limit or not r["duration"]:
            continue
        room = limit - r["open_bytes"] - r["update_bytes"] - r["text_bytes"]
        allowed = max(0.0, room / envelope)
        lines.append(
            f"{n:,} at {rate:,}/s ({r['duration']:,.0f} s): the limit leaves room for {allowed:,.0f} messages, "
            + (f"one every {r['duration'] / allowed:.1f} s" if allowed >= 1 else "none at all")
        )
    if lines:
        section.note(
            f"Why rows miss the byte limit: every delta message costs ~{envelope:,.0f} B of envelope besides its text "
            f"(header, parent header, signature, comm id, live stats), and the widget's comm_open ~{fmt_bytes(opened)}. "
            f"At ~30 messages a second that is ~{fmt_bytes(30 * envelope)} a second, while the text itself comes at "
            f"{text_bytes_per_token:.1f} B per token: {fmt_bytes(100 * text_bytes_per_token)}/s at 100 tokens/s, "
            f"{fmt_bytes(1000 * text_bytes_per_token)}/s at 1,000/s. Meeting the limit would mean updating the page "
            "this rarely: " + "; ".join(lines) + ". That is not a live view, so the coalescing interval stays at "
            "1/30 s and these rows miss; where tokens come fast (20,000/s) the text outweighs the envelopes."
        )

    # The baselines: measured small, fitted, extrapolated.
    naive_rows = []
    fits = {}
    for kind, label in (("output", "`Output.append_stdout(token)`"), ("html", "`HTML.value += token`")):
        points = [(r["tokens"], r["bytes"]) for r in naive[kind]]
        a, b, c = fits[kind] = _fit_quadratic(points)
        for r in naive[kind]:
            naive_rows.append([label, f"{r['tokens']:,}", fmt(r["messages"]), fmt_bytes(r["bytes"]), "measured"])
        for n in sizes.widget_tokens:
            if n in {r["tokens"] for r in naive[kind]}:
                continue
            estimate = a * n * n + b * n + c
            naive_rows.append([label, f"{n:,}", fmt(n), fmt_bytes(estimate), "extrapolated (quadratic fit)"])
    section.table(["baseline", "tokens", "comm messages", "comm bytes", ""], naive_rows, align="lrrrl")
    ours_vs = []
    for n in sizes.widget_tokens:
        fast = [r for (m, rate), r in results.items() if m == n]
        if not fast:
            continue
        best = min(fast, key=lambda r: r["bytes"])
        worst = max(fast, key=lambda r: r["bytes"])
        row = [f"{n:,}", f"{fmt_bytes(best['bytes'])}-{fmt_bytes(worst['bytes'])}"]
        for kind in ("output", "html"):
            a, b, c = fits[kind]
            estimate = a * n * n + b * n + c
            row.append(
                f"{fmt_bytes(estimate)} ({estimate / worst['bytes']:,.0f}-{estimate / best['bytes']:,.0f}x ours)"
            )
        ours_vs.append(row)
    section.table(["tokens", "ours (any rate)", "Output.append_stdout", "HTML.value +="], ours_vs, align="lrrr")
    section.note(
        "Baselines send one message per token whatever the rate, each resending everything so far "
        f"(quadratic). Measured at {', '.join(f'{n:,}' for n in sizes.naive_tokens)} tokens, fitted to "
        "a·n² + b·n + c and extrapolated beyond that (the 100,000-token `append_stdout` stream would be "
        "~ hundreds of GB, and would take hours)."
    )

    # Verdicts.
    per_token = _bytes_per_extra_token(results, sizes)
    within = [k for k, r in results.items() if r["bytes"] <= 1.5 * r["text_bytes"] + 50 * KB]
    section.verdict(
        "bytes at most 1.5x the text + 50 KB",
        f"{len(within)} of {len(results)} rows; misses: " + ("; ".join(misses["bytes"]) or "none"),
        not misses["bytes"],
    )
    section.verdict(
        "at most ~30 messages per second whatever the token rate",
        "max in any 1-s window: "
        + ", ".join(
            f"{fmt(r['max_per_second'])} ({n:,} at {rate:,}/s)"
            for (n, rate), r in sorted(results.items())
            if r["measured_tokens"] == n
        ),
        not misses["rate"],
    )
    lasts = [r["last_latency"] for r in results.values() if r["last_latency"] == r["last_latency"]]
    section.verdict(
        "last token shown within 100 ms of its arrival",
        f"last token: max {max(lasts) * 1e3:.1f} ms over the measured streams; every token: max "
        f"{max(r['max_latency'] for r in results.values()) * 1e3:.1f} ms",
        max(lasts) <= 0.1 if lasts else None,
    )
    slopes = [v for by_size in per_token.values() for v in by_size.values()]
    if slopes:
        section.verdict(
            "growth linear in the text",
            "comm bytes added per extra token, from one stream length to the next (constant when linear; "
            "fixed costs such as the comm_open cancel out; quadratic resending would make it grow): "
            + "; ".join(
                f"{rate:,}/s: " + ", ".join(f"{v:.1f} B ({m:,}→{n:,})" for (m, n), v in by_size.items())
                for rate, by_size in per_token.items()
            )
            + f"; the text is {text_bytes_per_token:.1f} B/token",
            all(max(b.values()) / min(b.values()) < 1.2 for b in per_token.values() if len(b) > 1),
        )
    return {"results": results, "naive": naive, "fits": fits}


def _bytes_per_extra_token(
    results: dict[tuple[int, int], dict[str, Any]], sizes: Any
) -> dict[int, dict[tuple[int, int], float]]:
    """Per rate, the comm bytes each extra token adds from one measured stream length to the next.

    Linear growth keeps this constant; quadratic resending (the naive baselines) makes it grow with
    the length. Rows scaled from a shorter stream are left out, since scaling is linear by construction."""
    out: dict[int, dict[tuple[int, int], float]] = {}
    for rate in sizes.widget_rates:
        measured = sorted(
            n for n in sizes.widget_tokens if (n, rate) in results and results[(n, rate)]["measured_tokens"] == n
        )
        if len(measured) > 1:
            out[rate] = {
                (m, n): (results[(n, rate)]["bytes"] - results[(m, rate)]["bytes"]) / (n - m)
                for m, n in pairwise(measured)
            }
    return out
