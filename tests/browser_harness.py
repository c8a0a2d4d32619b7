"""JupyterLab + headless Chromium, for tests that check what a person sees in the notebook.

A session starts one JupyterLab from the venv on a temporary copy of `notebooks/` (so tests never
write into the repository), kept offline and quiet, and one Chromium through Playwright's sync API.
Each test gets a fresh page and a fresh kernel; when a test fails, the page is saved as a PNG
and the failure report gives its path, with the tail of JupyterLab's log.

Load it from a test module with `pytest_plugins = ["browser_harness"]`: that registers the
fixtures and the hook that adds the screenshot to a failed test's report.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
MISSING_BROWSER = "browser tests need Debian's chromium: apt-get install chromium"
#: A folder to keep a screenshot of every test in, passed or not (for looking at the widget).
SCREENSHOTS_ENV = "LLMSTREAM_BROWSER_SCREENSHOTS"
START_TIMEOUT = 120.0  # seconds for JupyterLab to answer; two slow cores take a while on first start
UI_TIMEOUT_MS = 90_000  # the longest a page waits for JupyterLab or a kernel
# JupyterLab front-end plugins that only fetch things from the internet.
OFFLINE_DISABLED_PLUGINS = ["@jupyterlab/apputils-extension:announcements"]


# -- skip rules ----------------------------------------------------------------------------


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not CHROMIUM.exists():
        return f"{MISSING_BROWSER} ({CHROMIUM} not found)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return f"{MISSING_BROWSER}; and the playwright package: pip install -e '.[test]'"
    return None


def require_browser() -> None:
    """Skip when the browser is missing, except in CI, where a missing browser is a failure."""
    reason = browser_missing()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI is set and the browser is missing: {reason}", pytrace=False)
    pytest.skip(reason)


# -- JupyterLab ----------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LabServer:
    """A running JupyterLab: where it listens, its token, and the folder it serves."""

    process: subprocess.Popen[bytes]
    base_url: str
    token: str
    root: Path
    log: Path

    def url(self, path: str) -> str:
        """A browser URL under the server that carries the token (the first visit sets the cookie)."""
        sep = "&" if "?" in path else "?"
        return f"{self.base_url}/{path.lstrip('/')}{sep}token={self.token}"

    def api(self, path: str, method: str = "GET") -> Any:
        """Call the REST API at `path` (e.g. "api/status"); JSON in and out."""
        request = urllib.request.Request(self.url(path), method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def forget_sessions(self) -> None:
        """Shut down every kernel and forget the saved layout, so the next test starts fresh.

        Without this, opening the same notebook again reconnects to the old kernel (sessions
        are keyed by path) and JupyterLab reopens every tab of the previous test.
        """
        for session in self.api("api/sessions"):
            self.api(f"api/sessions/{session['id']}", method="DELETE")
        for workspace in self.api("lab/api/workspaces")["workspaces"]["ids"]:
            self.api(f"lab/api/workspaces/{workspace}", method="DELETE")

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _isolated_jupyter_dirs(home: Path) -> dict[str, str]:
    """Config, data, runtime and settings dirs of our own, so no personal setting leaks in or out.

    The page config disables the announcements plugin, and the user settings turn off news and
    update checks and the notebook's windowing (every cell stays in the DOM, so tests can find
    cells anywhere in a notebook).
    """
    dirs = {name: home / name for name in ("config", "data", "runtime", "settings", "workspaces", "ipython")}
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    labconfig = dirs["config"] / "labconfig"
    labconfig.mkdir(exist_ok=True)
    disabled = {name: True for name in OFFLINE_DISABLED_PLUGINS}
    (labconfig / "page_config.json").write_text(json.dumps({"disabledExtensions": disabled}))
    user_settings = {
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
        "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    }
    for name, values in user_settings.items():
        target = dirs["settings"] / f"{name}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))
    return {
        "JUPYTER_CONFIG_DIR": str(dirs["config"]),
        "JUPYTER_DATA_DIR": str(dirs["data"]),
        "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
        "JUPYTERLAB_SETTINGS_DIR": str(dirs["settings"]),
        "JUPYTERLAB_WORKSPACES_DIR": str(dirs["workspaces"]),
        "IPYTHONDIR": str(dirs["ipython"]),
    }


def lab_command(root: Path, port: int, token: str) -> list[str]:
    """The JupyterLab command line: the venv's Python, local only, no browser, nothing fetched."""
    command = [
        sys.executable, "-m", "jupyter", "lab",
        "--no-browser",
        "--ServerApp.open_browser=False",
        f"--IdentityProvider.token={token}",
        "--ServerApp.ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.terminals_enabled=False",
        "--LabApp.news_url=None",  # None (not "") turns the news fetch off
        "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",  # no PyPI listing
        "--LabApp.expose_app_in_browser=True",  # window.jupyterapp, to add scratch cells in tests
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # CI containers often run as root
    return command


def start_lab(root: Path, home: Path) -> LabServer:
    """Start JupyterLab on `root` and wait until its REST API answers."""
    port, token = free_port(), secrets.token_hex(16)
    env = {**os.environ, **_isolated_jupyter_dirs(home), "PYTHONUNBUFFERED": "1"}
    env.pop("JUPYTER_TOKEN", None)
    log = home / "jupyterlab.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            lab_command(root, port, token), cwd=root, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    server = LabServer(process, f"http://127.0.0.1:{port}", token, root, log)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with code {process.returncode}:\n{server.log_tail()}")
        try:
            server.api("api/status")
            return server
        except (urllib.error.URLError, ConnectionError, OSError):
            if time.monotonic() > deadline:
                stop_lab(server)
                raise RuntimeError(f"JupyterLab did not answer in {START_TIMEOUT:.0f}s:\n{server.log_tail()}")
            time.sleep(0.25)


def stop_lab(server: LabServer, timeout: float = 30.0) -> None:
    """Ask the server to shut down (it stops its kernels), then make sure the process is gone."""
    if server.process.poll() is None:
        try:
            server.api("api/shutdown", method="POST")
        except (urllib.error.URLError, ConnectionError, OSError):
            server.process.terminate()
        try:
            server.process.wait(timeout)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(10)


# -- pytest plumbing -----------------------------------------------------------------------


@dataclass
class PageWatch:
    """What the page did that a test may assert on: dialogs opened, console errors, uncaught page errors."""

    dialogs: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)


def watch_page(page: Any, watch: PageWatch) -> None:
    """Record into `watch` every dialog (then dismiss it), console error and uncaught page error."""

    def on_dialog(dialog: Any) -> None:
        watch.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def on_console(message: Any) -> None:
        if message.type == "error":
            watch.console_errors.append(message.text)

    page.on("dialog", on_dialog)
    page.on("console", on_console)
    page.on("pageerror", lambda error: watch.page_errors.append(str(error)))


@dataclass
class _OpenPage:
    """What the failure hook needs to describe a failed browser test."""

    page: Any
    lab: LabServer
    screenshot_dir: Path
    watch: PageWatch


_OPEN_PAGE = pytest.StashKey[_OpenPage]()


def _failure_notes(name: str, open_page: _OpenPage) -> str:
    """Save a screenshot of the page and gather what helps to read a failure: its path and the logs."""
    path = open_page.screenshot_dir / f"{name}.png"
    try:
        open_page.page.screenshot(path=str(path), full_page=True)
        notes = [f"screenshot: {path}"]
    except Exception as exc:  # noqa: BLE001  (a crashed page must not hide the test's own error)
        notes = [f"no screenshot ({exc})"]
    if open_page.watch.console_errors:
        notes.append("browser console errors:\n  " + "\n  ".join(open_page.watch.console_errors[-20:]))
    if open_page.watch.page_errors:
        notes.append("uncaught page errors:\n  " + "\n  ".join(open_page.watch.page_errors[-20:]))
    notes.append(f"JupyterLab log ({open_page.lab.log}), last lines:\n{open_page.lab.log_tail()}")
    return "\n".join(notes)


def report_failures_with(
    request: pytest.FixtureRequest, page: Any, lab: LabServer, screenshot_dir: Path, watch: PageWatch
) -> None:
    """If the requesting test fails, its report gets this page's screenshot and the logs (see below).

    The `page` fixture does this for its own page; a module that shares one page between its
    tests calls it from a function-scoped fixture.
    """
    request.node.stash[_OPEN_PAGE] = _OpenPage(page, lab, screenshot_dir, watch)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    """When a browser test fails, its report gets a "browser" section: screenshot path and logs.

    Done here rather than in the page fixture's teardown, because what a teardown prints is not
    shown with the failure.
    """
    report = yield
    open_page = item.stash.get(_OPEN_PAGE, None)
    if report.when == "call" and report.failed and open_page is not None:
        notes = _failure_notes(item.name, open_page)
        report.sections.append(("browser", notes))
    return report


@pytest.fixture(scope="session")
def lab_home() -> Iterator[Path]:
    """A temporary folder for everything the session writes: served notebooks, settings, log, PNGs.

    It is kept when a failed test left a screenshot there (its report gives the path), removed otherwise.
    """
    home = Path(tempfile.mkdtemp(prefix="llmstream-browser-"))
    yield home
    if not any(home.glob("screenshots/*.png")):
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def screenshot_dir(lab_home: Path) -> Path:
    path = lab_home / "screenshots"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def lab(lab_home: Path) -> Iterator[LabServer]:
    """JupyterLab for the whole session, serving a temporary copy of notebooks/."""
    require_browser()
    root = lab_home / "root"
    shutil.copytree(NOTEBOOKS, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    write_scratch_notebook(root)
    server = start_lab(root, lab_home)
    yield server
    stop_lab(server)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright (its own browser download does not work here)."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page_watch() -> PageWatch:
    return PageWatch()


@pytest.fixture
def page(
    request: pytest.FixtureRequest, lab: LabServer, browser: Any, screenshot_dir: Path, page_watch: PageWatch
) -> Iterator[Any]:
    """A fresh browser page that records dialogs and console errors.

    Afterwards every kernel is shut down, so each test starts with a fresh one. With
    LLMSTREAM_BROWSER_SCREENSHOTS=<folder>, the page is also saved there after every test.
    """
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = context.new_page()
    watch_page(page, page_watch)
    report_failures_with(request, page, lab, screenshot_dir, page_watch)
    yield page
    if os.environ.get(SCREENSHOTS_ENV):
        keep = Path(os.environ[SCREENSHOTS_ENV])
        keep.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(keep / f"{request.node.name}.png"), full_page=True)
    del request.node.stash[_OPEN_PAGE]
    context.close()
    lab.forget_sessions()
    # A widget that throws in the page may still draw: any uncaught page error fails the test.
    assert not page_watch.page_errors, f"uncaught errors in the page: {page_watch.page_errors}"


# -- driving JupyterLab like a person ------------------------------------------------------

SCRATCH = "_scratch.ipynb"


def write_scratch_notebook(root: Path) -> str:
    """An empty notebook on the venv's kernel, for tests that need cells of their own."""
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("")])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(notebook, root / SCRATCH)
    return SCRATCH


def notebook_panel(page: Any) -> Any:
    """The notebook on screen (JupyterLab keeps hidden panels of other tabs in the DOM)."""
    return page.locator(".jp-NotebookPanel:visible")


def wait_kernel_idle(page: Any, timeout_ms: int = UI_TIMEOUT_MS) -> None:
    """Wait until the notebook's kernel has started and is idle, as the toolbar indicator shows."""
    indicator = notebook_panel(page).locator(".jp-Notebook-ExecutionIndicator")
    indicator.and_(page.locator('[data-status="idle"]')).wait_for(timeout=timeout_ms)


def open_notebook(page: Any, lab: LabServer, name: str) -> Any:
    """Open `name` in JupyterLab and wait for its cells and an idle kernel; returns the panel."""
    page.goto(lab.url(f"lab/tree/{name}"))
    panel = notebook_panel(page)
    panel.locator(".jp-Cell").first.wait_for()
    # Cells appear before the file has loaded into them; wait for the document and kernel session.
    page.wait_for_function("() => window.jupyterapp?.shell.currentWidget?.context !== undefined")
    page.evaluate(
        """async () => {
            const panel = window.jupyterapp.shell.currentWidget;
            await panel.context.ready;
            await panel.sessionContext.ready;
        }"""
    )
    panel.locator(".jp-Spinner").wait_for(state="hidden")
    wait_kernel_idle(page)
    return panel


# Runs code in the notebook's kernel without a cell: a new cell would scroll the notebook meanwhile.
_EXECUTE_SILENTLY = """async (code) => {
    const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
    const reply = await kernel.requestExecute({ code, silent: true }).done;
    return reply.content.status;
}"""


def run_silently(page: Any, code: str) -> None:
    """Run `code` in the open notebook's kernel, with no cell and no output; it must succeed."""
    assert page.evaluate(_EXECUTE_SILENTLY, code) == "ok", f"the kernel did not run {code!r}"


def cell_starting_with(page: Any, prefix: str) -> Any:
    """The first cell of the open notebook whose source starts with `prefix`.

    Matched on the notebook's model, not the editor's DOM: CodeMirror draws each line as its
    own element, so its text has no newlines to match against.
    """
    index = page.evaluate(
        """(prefix) => window.jupyterapp.shell.currentWidget.content.widgets
            .findIndex((cell) => cell.model.sharedModel.getSource().startsWith(prefix))""",
        prefix,
    )
    if index < 0:
        raise LookupError(f"no cell starts with {prefix!r}")
    return notebook_panel(page).locator(".jp-Notebook .jp-Cell").nth(index)


def run_cell(page: Any, cell: Any) -> None:
    """Run a cell as a person does: click into its editor, then press Shift+Enter."""
    cell.locator(".cm-content").click()
    page.keyboard.press("Shift+Enter")


def run_and_wait(page: Any, cell: Any, timeout_ms: int = UI_TIMEOUT_MS) -> None:
    """Run a cell and wait until it has finished (an --async cell: until it has returned).

    Finished means the prompt shows a new execution count: `[ ]:` or `[3]:` before, then `[*]:`
    while it runs, then `[4]:`.
    """
    from playwright.sync_api import expect

    prompt = cell.locator(".jp-InputPrompt")
    before = prompt.inner_text()
    run_cell(page, cell)
    expect(prompt).not_to_have_text(before, timeout=timeout_ms)
    expect(prompt).to_have_text(re.compile(r"\[\d+\]"), timeout=timeout_ms)


def add_cell(page: Any, source: str) -> Any:
    """Append a code cell holding `source` to the open notebook and return its locator.

    The source goes straight into the cell's model: typing it would fight the editor's
    auto-closing brackets and indentation.
    """
    index = page.evaluate(
        """async (source) => {
            const app = window.jupyterapp;
            const notebook = app.shell.currentWidget.content;
            notebook.activeCellIndex = notebook.widgets.length - 1;
            await app.commands.execute("notebook:insert-cell-below");
            notebook.activeCell.model.sharedModel.setSource(source);
            return notebook.activeCellIndex;
        }""",
        source,
    )
    return notebook_panel(page).locator(".jp-Notebook .jp-Cell").nth(index)


def run_code(page: Any, source: str) -> Any:
    """Add a cell with `source` at the end of the notebook, run it, wait for it; returns the cell."""
    cell = add_cell(page, source)
    run_and_wait(page, cell)
    return cell


def cell_stdout(cell: Any) -> str:
    """What the cell printed, exactly (textContent keeps whitespace as the kernel sent it)."""
    outputs = cell.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stdout"]')
    return "".join(outputs.evaluate_all("nodes => nodes.map(n => n.textContent)"))


def kernel_value(page: Any, expression: str) -> Any:
    """Evaluate a JSON-able Python expression in the open notebook's kernel, through a new cell."""
    cell = run_code(page, f"import json as _json\nprint(_json.dumps({expression}))")
    printed = cell_stdout(cell)
    if not printed:
        raise AssertionError(f"{expression!r} printed nothing; the cell shows: {cell.inner_text()!r}")
    return json.loads(printed)
