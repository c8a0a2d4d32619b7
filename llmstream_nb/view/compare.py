"""Side by side: the same prompt streamed from several models at once, in columns.

`compare(["demo", "openai:gpt-4o-mini"], prompt)` makes one `StreamView` per model (each
keeps its own stats), shows them in an ipywidgets `HBox`, runs them concurrently, and puts
a small summary table under the columns once all have ended: model, first token, finish
time, tokens/s, chunks. The same numbers are data: `comparison.summary()`.

- async (`async_=True`, or a cell on a running loop that asks for it): each view is a task
  on the kernel's loop (`view.start()`); the cell returns at once and `await comparison`
  waits for all of them.
- blocking: each view runs (`view.run()`) on its own worker thread and the cell waits for
  all of them; the kernel's interrupt stops every column and keeps what arrived.
- outside a notebook: the columns run quietly at once, then each model's answer is printed
  under its name, then the summary.

The summary HTML is built from escaped text only (`html.escape`): a model name is data, never markup.
"""

from __future__ import annotations

import asyncio
import html
import io
import sys
import threading
from typing import Any, Callable, Generator, Mapping, Sequence, TextIO

from .. import runtime
from ..chunks import Completion
from .display import fallback_text
from .interrupt import stream_interrupted
from .stats import FALLBACK_NOTE
from .stream_view import StreamView

COLUMNS = ("model", "first token", "finish", "tokens/s", "chunks", "status")


class Comparison:
    """Several views of one prompt. `views` in column order; `summary()` once they have ended."""

    def __init__(self, views: list[StreamView], prompt: Any, *, file: TextIO | None = None) -> None:
        self.views = views
        self.prompt = prompt
        self._file = file
        self._summary_widget: Any = None
        self.widget: Any = None
        self._displayed = False
        self._task: asyncio.Future[None] | None = None

    # -- data ---------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        return not any(view.active for view in self.views)

    @property
    def texts(self) -> list[str]:
        return [view.text for view in self.views]

    def summary(self) -> list[dict[str, Any]]:
        """One dict per column: model, ttft, elapsed (finish time), tokens_per_second, chunks, status, streamed."""
        rows = []
        for view in self.views:
            stats = view.stats
            rows.append(
                {
                    "model": view.model_name,
                    "ttft": stats["ttft"],
                    "elapsed": stats["elapsed"],
                    "tokens_per_second": stats["tokens_per_second"],
                    "chunks": stats["chunks"],
                    "status": stats["status"],
                    "streamed": view.streamed,
                }
            )
        return rows

    def summary_text(self) -> str:
        """The summary as an aligned plain-text table."""
        table = [list(COLUMNS)] + [_cells(row) for row in self.summary()]
        widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
        return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in table)

    def summary_html(self) -> str:
        """The summary as an HTML table; every cell is escaped text."""
        head = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in _cells(row)) + "</tr>"
            for row in self.summary()
        )
        # JupyterLab's class for rendered HTML styles it as it styles a DataFrame; ours spans the columns.
        table = f'<table class="llmstream-compare-summary"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
        return f'<div class="jp-RenderedHTMLCommon llmstream-compare-table">{table}</div>'

    def results(self) -> list[Completion]:
        """Each column's finished answer (raises the first column's error, like `view.result()`)."""
        return [view.result() for view in self.views]

    def __await__(self) -> Generator[Any, None, Comparison]:
        return self._wait().__await__()

    async def _wait(self) -> Comparison:
        for view in self.views:
            try:
                await view
            except BaseException:  # the column shows its own error or "stopped"
                pass
        if self._task is not None:
            await self._task
        return self

    def __repr__(self) -> str:
        names = ", ".join(view.model_name for view in self.views)
        return f"<Comparison of {len(self.views)}: {names}>"

    def _ipython_display_(self) -> None:
        """Shown once: a comparison returned as a cell's last value is not drawn a second time."""
        if self.widget is not None:
            if not self._displayed:
                from IPython.display import display

                self._displayed = True
                display(self.widget)
        else:
            print(repr(self), file=self._file or sys.stdout)

    # -- the end ------------------------------------------------------------------------

    def _finish(self) -> None:
        """All columns ended: the summary under them, or every answer and the table in a terminal."""
        if self._summary_widget is not None:
            self._summary_widget.value = self.summary_html()
            return
        out = self._file or sys.stdout
        for view in self.views:
            line = view.stats_line
            print(f"== {view.model_name} ({line})", file=out)
            print(fallback_text(view.text, view.status, view.error_line), file=out)
            print(file=out)
        print(self.summary_text(), file=out)


def compare(
    models: Sequence[Any],
    prompt: Any,
    *,
    async_: bool | None = None,
    options: Mapping[str, Any] | None = None,
    file: TextIO | None = None,
    on_start: Callable[[Comparison], Any] | None = None,
    **view_options: Any,
) -> Comparison:
    """Stream `prompt` from every model at once, side by side; returns the `Comparison`.

    `models` are names for `get_model` ("demo", "openai:gpt-4o-mini") or model objects (ours,
    LangChain's, anything `sources.as_model` takes). `options` go to every model's `stream()`;
    `view_options` (sep, tint, markdown, speed...) to every column's `StreamView`. It runs as
    tasks on the running loop when `async_=True` (the cell returns at once; `await` the
    comparison), else blocks until every column has ended. `file` forces terminal output;
    `on_start(comparison)` is called before the columns run (the magic stores it then).
    """
    if isinstance(models, (str, bytes)) or len(models) < 1:
        raise TypeError('compare() takes a list of models, e.g. compare(["demo", "openai:gpt-4o-mini"], prompt)')
    resolved = [_model(m) for m in models]
    use_async = bool(async_) and runtime.loop_is_running()
    call = dict(options or {})
    in_kernel = file is None and runtime.in_kernel()
    quiet = None if in_kernel else io.StringIO()
    views = []
    for model in resolved:
        source = model.astream(prompt, **call) if use_async else model.stream(prompt, **call)
        views.append(StreamView(source, model=model.name, file=quiet, embedded=in_kernel, **view_options))
    comparison = Comparison(views, prompt, file=file)
    if in_kernel:
        _layout(comparison)
    if on_start is not None:
        on_start(comparison)
    return _run_async(comparison) if use_async else _run_blocking(comparison)


def _model(spec: Any) -> Any:
    from ..registry import get_model
    from ..sources import as_model

    return get_model(spec) if isinstance(spec, str) else as_model(spec)


def _layout(comparison: Comparison) -> None:
    """The columns in an HBox, the summary under them (each column's view is `embedded`: it never displays itself)."""
    import ipywidgets  # type: ignore[import-untyped]
    from IPython.display import display

    columns = [view.widget for view in comparison.views]
    for column in columns:
        column.layout = ipywidgets.Layout(flex="1 1 0", min_width="0")
    comparison._summary_widget = ipywidgets.HTML("")
    comparison.widget = ipywidgets.VBox([ipywidgets.HBox(columns), comparison._summary_widget])
    comparison._displayed = True
    display(comparison.widget)


def _run_async(comparison: Comparison) -> Comparison:
    for view in comparison.views:
        view.start()

    async def summarise() -> None:
        for view in comparison.views:
            try:
                await view
            except BaseException:
                pass
        comparison._finish()

    comparison._task = runtime.keep_alive(asyncio.ensure_future(summarise()))
    return comparison


def _run_blocking(comparison: Comparison) -> Comparison:
    """Each column on its own thread; Ctrl-C stops them all (each keeps its text), then re-raises."""
    finished = [threading.Event() for _ in comparison.views]

    def work(view: StreamView, done: threading.Event) -> None:
        try:
            view.run()
        except BaseException:  # the view shows its own error or "stopped"
            pass
        finally:
            done.set()

    for view, done in zip(comparison.views, finished):
        threading.Thread(target=work, args=(view, done), name="llmstream-compare", daemon=True).start()
    interrupted = False
    try:
        for done in finished:
            while not done.wait(0.1):
                pass
    except KeyboardInterrupt:
        interrupted = True
        for view in comparison.views:
            view.stop()
        for done in finished:
            done.wait()
    comparison._finish()
    if interrupted:
        raise stream_interrupted(" ".join(comparison.texts))
    return comparison


def _cells(row: Mapping[str, Any]) -> list[str]:
    ttft, elapsed, rate = row["ttft"], row["elapsed"], row["tokens_per_second"]
    chunks = str(row["chunks"]) if row["streamed"] else FALLBACK_NOTE
    return [
        str(row["model"]),
        "-" if ttft is None else f"{ttft * 1000:.0f} ms",
        "-" if elapsed is None else f"{elapsed:.2f} s",
        "-" if rate is None else f"{rate:.1f}",
        chunks,
        str(row["status"]),
    ]
