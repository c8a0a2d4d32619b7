"""A real Jupyter kernel for tests: run code, read its iopub traffic, talk to its widgets.

The kernel runs this interpreter (a kernelspec written to a temp dir points at
sys.executable), so it sees the venv and the editable package whatever kernelspecs the
machine has. Every iopub message is kept in arrival order; waits have generous timeouts
and nothing here asserts on durations, so a loaded 2-core CI machine only makes it slower.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager

Message = dict[str, Any]

DEFAULT_TIMEOUT = 120.0


class KernelError(AssertionError):
    """A cell failed, or something the test waited for never came."""


class KernelHarness:
    """One kernel and its client. Use `with KernelHarness.start() as kernel: ...`."""

    def __init__(self, manager: KernelManager, spec_dir: tempfile.TemporaryDirectory[str]) -> None:
        self.manager = manager
        self.client = manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=DEFAULT_TIMEOUT)
        self._spec_dir = spec_dir
        #: Every iopub message received so far, in arrival order.
        self.iopub: list[Message] = []

    @classmethod
    def start(cls) -> KernelHarness:
        spec_dir = tempfile.TemporaryDirectory(prefix="llmstream-kernelspec-")
        kernel_dir = Path(spec_dir.name) / "python3"
        kernel_dir.mkdir()
        spec = {
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "llmstream test kernel",
            "language": "python",
        }
        (kernel_dir / "kernel.json").write_text(json.dumps(spec))
        specs = KernelSpecManager(kernel_dirs=[spec_dir.name], ensure_native_kernel=False)
        manager = KernelManager(kernel_name="python3", kernel_spec_manager=specs)
        # Cells run as a person runs them (async views return at once), though this client sends no cell ids.
        manager.start_kernel(env={**os.environ, "LLMSTREAM_HEADLESS": "0"})
        return cls(manager, spec_dir)

    def shutdown(self) -> None:
        try:
            self.client.stop_channels()
        finally:
            self.manager.shutdown_kernel(now=True)
            self._spec_dir.cleanup()

    def __enter__(self) -> KernelHarness:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()

    # -- running code -------------------------------------------------------------------

    def submit(self, code: str, cell_id: str | None = None) -> str:
        """Send an execute request; returns its msg_id. `cell_id` goes in the request's metadata
        (`cellId`), as JupyterLab sends it, so the kernel can tell which cell runs."""
        if cell_id is None:
            return self.client.execute(code, store_history=False)
        content = {
            "code": code,
            "silent": False,
            "store_history": False,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        }
        msg = self.client.session.msg("execute_request", content, metadata={"cellId": cell_id})
        self.client.shell_channel.send(msg)
        return str(msg["header"]["msg_id"])

    def reply(self, msg_id: str, timeout: float = DEFAULT_TIMEOUT) -> Message:
        """The execute_reply of `msg_id` (other shell replies are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise KernelError(f"no execute_reply for {msg_id} within {timeout} s")
            try:
                msg = self.client.get_shell_msg(timeout=min(remaining, 1.0))
            except queue.Empty:
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg

    def run(self, code: str, timeout: float = DEFAULT_TIMEOUT, cell_id: str | None = None) -> list[Message]:
        """Execute `code`, wait until the kernel is idle after it, and return that cell's iopub messages.

        Raises KernelError with the traceback if the cell fails.
        """
        msg_id = self.submit(code, cell_id)
        reply = self.reply(msg_id, timeout)
        self.wait_for(lambda m: _is_idle_after(m, msg_id), timeout)
        if reply["content"]["status"] == "aborted":
            # Sent just after a cell that failed, it can arrive while ipykernel still drops the requests
            # queued behind that cell (stop_on_error): the kernel never ran it, so ask once more.
            msg_id = self.submit(code, cell_id)
            reply = self.reply(msg_id, timeout)
            self.wait_for(lambda m: _is_idle_after(m, msg_id), timeout)
        if reply["content"]["status"] != "ok":
            raise KernelError(_format_error(reply["content"]))
        return self.messages_of(msg_id)

    def messages_of(self, msg_id: str) -> list[Message]:
        """The iopub messages received so far whose parent is the request `msg_id`."""
        return [m for m in self.iopub if m["parent_header"].get("msg_id") == msg_id]

    def value(self, expression: str, timeout: float = DEFAULT_TIMEOUT) -> Any:
        """Evaluate a JSON-serialisable expression in the kernel and return its value."""
        messages = self.run(f"import json as _json; print(_json.dumps({expression}))", timeout)
        out = "".join(
            m["content"]["text"] for m in messages if m["msg_type"] == "stream" and m["content"]["name"] == "stdout"
        )
        return json.loads(out)

    def interrupt(self) -> None:
        self.manager.interrupt_kernel()

    # -- iopub --------------------------------------------------------------------------

    def pump(self, timeout: float = 0.2) -> None:
        """Move waiting iopub messages into `self.iopub` (waits up to `timeout` for the first)."""
        wait = timeout
        while True:
            try:
                msg = self.client.get_iopub_msg(timeout=wait)
            except queue.Empty:
                return
            self.iopub.append(msg)
            wait = 0.0

    def wait_for(
        self, predicate: Callable[[Message], bool], timeout: float = DEFAULT_TIMEOUT, since: int = 0
    ) -> Message:
        """The first iopub message (from index `since`) matching `predicate`, waiting for it if needed."""
        deadline = time.monotonic() + timeout
        checked = since
        while True:
            for index in range(checked, len(self.iopub)):
                if predicate(self.iopub[index]):
                    return self.iopub[index]
            checked = max(checked, len(self.iopub))
            if time.monotonic() > deadline:
                raise KernelError(f"no matching iopub message within {timeout} s")
            self.pump(timeout=0.5)

    # -- widgets ------------------------------------------------------------------------

    def comm_ids(self, model_name: str, count: int = 1, since: int = 0, timeout: float = DEFAULT_TIMEOUT) -> list[str]:
        """The comms of the first `count` widgets opened (from iopub index `since`) whose `_model_name`
        is `model_name` (e.g. "AnyModel"), in order, waiting for them if needed."""
        deadline = time.monotonic() + timeout
        while True:
            ids = [
                m["content"]["comm_id"]
                for m in self.iopub[since:]
                if m["msg_type"] == "comm_open" and m["content"]["data"]["state"].get("_model_name") == model_name
            ]
            if len(ids) >= count:
                return ids[:count]
            if time.monotonic() > deadline:
                raise KernelError(f"{len(ids)} of {count} {model_name} widgets opened within {timeout} s")
            self.pump(timeout=0.5)

    def comm_messages(self, comm_id: str) -> list[Message]:
        return [m for m in self.iopub if m["msg_type"].startswith("comm_") and m["content"].get("comm_id") == comm_id]

    def custom_messages(self, comm_id: str) -> list[Any]:
        """The `content` of each custom message the kernel sent on this comm, in order."""
        return [
            m["content"]["data"]["content"]
            for m in self.comm_messages(comm_id)
            if m["msg_type"] == "comm_msg" and m["content"]["data"].get("method") == "custom"
        ]

    def state_updates(self, comm_id: str) -> list[dict[str, Any]]:
        """The state of each "update" message the kernel sent on this comm, in order."""
        return [
            m["content"]["data"]["state"]
            for m in self.comm_messages(comm_id)
            if m["msg_type"] == "comm_msg" and m["content"]["data"].get("method") == "update"
        ]

    def send_custom(self, comm_id: str, content: Any) -> None:
        """What a browser does on `model.send(content)`: a comm_msg on the shell channel."""
        data = {"method": "custom", "content": content}
        msg = self.client.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
        self.client.shell_channel.send(msg)

    def wire_bytes(self, msg: Message) -> int:
        """The size of a message as sent: its four JSON frames (header, parent, metadata, content) and buffers."""
        pack = self.client.session.pack
        frames = [pack(msg[part]) for part in ("header", "parent_header", "metadata", "content")]
        return sum(len(f) for f in frames) + sum(len(b) for b in msg.get("buffers") or [])


def _is_idle_after(msg: Message, msg_id: str) -> bool:
    return (
        msg["msg_type"] == "status"
        and msg["content"]["execution_state"] == "idle"
        and msg["parent_header"].get("msg_id") == msg_id
    )


def _format_error(content: dict[str, Any]) -> str:
    trace = "\n".join(content.get("traceback") or [])
    return f"{content.get('ename')}: {content.get('evalue')}\n{trace}"
