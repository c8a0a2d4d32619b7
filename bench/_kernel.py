"""tests/kernel_harness.py for benchmarks: the same real kernel, with cells that never lose iopub messages.

`KernelHarness.run` waits for the execute_reply on the shell channel before it reads iopub, and ZMQ
queues at most ~1,000 messages at each end of the iopub socket: a long stream sends more than that
while the cell runs, and the overflow is dropped, the cell's "idle" status among it. `run_cell` reads
iopub the whole time the cell runs instead, and the sections check that the deltas add up to the text.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from ._common import ROOT

sys.path.insert(0, str(ROOT / "tests"))

from kernel_harness import KernelError, KernelHarness, Message

__all__ = ["KernelError", "KernelHarness", "Message", "kernel_value", "run_cell"]


def run_cell(kernel: KernelHarness, code: str, timeout: float = 3600) -> list[Message]:
    """Execute `code`, reading iopub until the kernel is idle after it; raise KernelError if it fails."""
    since = len(kernel.iopub)
    msg_id = kernel.submit(code)
    kernel.wait_for(
        lambda m: (
            m["msg_type"] == "status"
            and m["content"]["execution_state"] == "idle"
            and m["parent_header"].get("msg_id") == msg_id
        ),
        timeout,
        since=since,
    )
    reply = kernel.reply(msg_id, 120)
    if reply["content"]["status"] != "ok":
        content = reply["content"]
        raise KernelError(
            f"{content.get('ename')}: {content.get('evalue')}\n" + "\n".join(content.get("traceback") or [])
        )
    return kernel.messages_of(msg_id)


def kernel_value(kernel: KernelHarness, expression: str, timeout: float = 3600) -> Any:
    """Evaluate a JSON-serialisable expression in the kernel (iopub read throughout)."""
    messages = run_cell(kernel, f"import json as _json; print(_json.dumps({expression}))", timeout)
    out = "".join(
        m["content"]["text"] for m in messages if m["msg_type"] == "stream" and m["content"]["name"] == "stdout"
    )
    return json.loads(out)
