"""`EventsView`: a run's `astream_events` as a live table (time, event, name, run id, chunk/output).

It teaches what LangChain's event stream looks like: one start, one row per chunk, one end,
and for a chain, its nested runs (prompt, chat model, parser) under the chain (v2's
`parent_ids`). The page shows the events in arrival order, where a chain's chunks are seen
rippling up from the model through the parser to the chain, or as a tree of runs, each run's
start, chunks (folded into a count) and end together; either can hide a kind of event, and
the status line adds them up ("4 start · 15 stream · 4 end"). events_rows.py makes the rows.

Rows travel like the StreamView's tokens, through the same `Flusher`: as small custom
messages holding only the new rows, at most ~30 per second, never as a synced list that would be resent whole on every
change (see docs/architecture.md). The browser writes every cell with `textContent`, so model text is
never parsed as HTML. The full list is synced once, at the end, for saved notebooks.

Feed it either way:

- pull: `EventsView(model, "prompt")` (our model, or anything with `astream_events`: a
  LangChain model or Runnable) or `EventsView(async_iterator_of_events)`, then
  `run()` (blocking), `start()` (a task on the kernel's loop) or `await view`, consumed the
  ways a `StreamView` is (consume.py); `run()` and `start()` return the view;
- push: `EventsView()`, then `add(event)` per event and `finish(error)` at the end (the
  `%%llmstream --events` magic does this while the answer streams in a StreamView).

The answer inside the events (the root run's chunks, `sources.EventAnswer`) is kept in `record`,
the same `StreamRecord` a stream keeps, so `view.completion` is the run's answer.

Outside a notebook the table is printed when the run ends (or by `print_table()`), so it
never interleaves with an answer printed live above it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from functools import cache
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Generator, TextIO

from .. import runtime
from ..chunks import Chunk, Completion
from ..models.streams import StreamRecord
from ..sources import EventAnswer
from ..status import Status
from .coalesce import Flusher, Schedule, loop_schedule, thread_schedule
from .consume import consume_on_thread, start_task
from .events_rows import (
    COLUMNS,
    MAX_TEXT,
    Row,
    RowMaker,
    count_kinds,
    describe,
    short_run_id,
    summary_text,
    table_lines,
)

__all__ = ["COLUMNS", "MAX_TEXT", "EventsView", "Row", "describe", "short_run_id"]

#: How the page first lays the events out: in arrival order, or as a tree of runs.
LAYOUTS = ("time", "tree")


def _has_events(source: Any) -> bool:
    """A model (ours, LangChain's) or Runnable to ask for events, rather than a stream of them."""
    return callable(getattr(source, "astream_events", None)) and not hasattr(source, "__aiter__")


@cache
def _widget_class() -> type:
    """The anywidget model, built on first use so a terminal session never imports ipywidgets."""
    import anywidget
    import traitlets

    here = Path(__file__).parent

    class EventsWidget(anywidget.AnyWidget):  # type: ignore[misc]
        _esm = here / "events_widget.js"
        _css = here / "events_widget.css"
        columns = traitlets.List(list(COLUMNS)).tag(sync=True)
        #: The first layout; the page's buttons switch it there (for that page only).
        start_layout = traitlets.Unicode("time").tag(sync=True)
        status = traitlets.Unicode(Status.WAITING.value).tag(sync=True)
        error = traitlets.Unicode("").tag(sync=True)
        #: Synced once, when the run ends; live rows travel as custom messages.
        rows: traitlets.List[Row] = traitlets.List().tag(sync=True)

    return EventsWidget


class EventsView:
    """A live table of `astream_events`; `events` keeps them whole, `rows` as shown (events_rows.py).

    `async_=True` (push mode) says the events come from a task on the kernel's loop, so the
    batching timer runs on that loop; otherwise (a blocking cell) it runs on a thread.
    `layout="tree"` opens the page on the tree of runs rather than the events in arrival order.
    """

    def __init__(
        self,
        source: Any = None,
        prompt: Any = None,
        *,
        version: str = "v2",
        async_: bool = False,
        display: bool = True,
        file: TextIO | None = None,
        layout: str = "time",
        **options: Any,
    ) -> None:
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, not {layout!r}")
        if _has_events(source):
            if prompt is None:
                raise TypeError("EventsView(model, prompt): the prompt is missing")
            model = source
            self._make_source: Callable[[], AsyncIterator[dict[str, Any]]] | None = lambda: model.astream_events(
                prompt, version=version, **options
            )
        elif source is not None:
            events = source
            self._make_source = lambda: aiter(events)
        else:
            self._make_source = None
        self.events: list[dict[str, Any]] = []
        self.rows: list[Row] = []
        #: The answer the events carry, as a stream would record it (chunks stamped on arrival here).
        self.record = StreamRecord()
        self._answer = EventAnswer()
        self._make_row = RowMaker()
        self.status = Status.WAITING
        self.error: BaseException | None = None
        self.stop_requested = False
        self._task: asyncio.Task[None] | None = None
        self._file = file
        self._async = async_
        self._flusher: Flusher | None = None
        self.widget: Any = None
        if file is None and runtime.in_kernel():
            self.widget = _widget_class()(start_layout=layout)
            self.widget.on_msg(self._on_browser_message)
        #: In a terminal, print the table when the run ends (unless the caller prints it).
        self._print_at_end = display and self.widget is None
        if display and self.widget is not None:
            self.display()

    # -- showing ------------------------------------------------------------------------

    def display(self) -> None:
        """Show the table: the live widget in a notebook, the rows so far in a terminal."""
        if self.widget is not None:
            from IPython.display import display

            display(self.widget)
        else:
            self.print_table()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        if self.widget is not None:
            return self.widget._repr_mimebundle_(**kwargs)
        return {"text/plain": repr(self)}

    def __repr__(self) -> str:
        return f"<EventsView {self.status}, {_events(len(self.events))}>"

    @property
    def active(self) -> bool:
        return self.status.active

    @property
    def completion(self) -> Completion:
        """The answer the run's events carried (the root run's chunks, usage and end)."""
        return self.record.completion

    @property
    def summary(self) -> dict[str, int]:
        """How many events of each kind so far: {"start": 4, "stream": 15, "end": 4}."""
        return count_kinds(self.rows)

    # -- push ---------------------------------------------------------------------------

    def add(self, event: dict[str, Any]) -> None:
        """Record one event and show its row (batched to the browser; a terminal prints at the end)."""
        if self.status == Status.WAITING:
            self._set_status(Status.STREAMING)
        if not self.events:
            self.record.begin()
            self.record.model = str(event.get("name") or "")
        for piece in self._answer(event):  # a copy: the event's own chunk keeps its stamps
            self.record.accept(dataclasses.replace(piece) if isinstance(piece, Chunk) else piece)
        row = self._make_row(len(self.rows), event)
        self.events.append(event)
        self.rows.append(row)
        if self.widget is not None:
            self._rows_flusher().add(row)  # type: ignore[arg-type]  # Flusher batches any items

    def finish(self, error: BaseException | None = None) -> None:
        """End the table: done, stopped (cancelled or interrupted) or the error's one line."""
        if isinstance(error, (asyncio.CancelledError, KeyboardInterrupt)):
            self.end(Status.STOPPED)
        elif error is not None:
            self.end(Status.ERROR, error)
        else:
            self.end(Status.DONE)

    def accept(self, event: dict[str, Any]) -> None:
        """What consume.py calls per event: `add`."""
        self.add(event)

    def end(self, status: Status, error: BaseException | None = None) -> None:
        """What consume.py calls once: the table ends with this status."""
        self.error = self.record.error = error
        self.record.finish()
        if self.widget is not None:
            if self._flusher is not None:
                self._flusher.close()
            with self.widget.hold_sync():
                self.widget.rows = list(self.rows)
                self.widget.error = "" if self.error is None else f"{type(self.error).__name__}: {self.error}"
                self.widget.status = status
            self.status = status
        else:
            self.status = status
            if self._print_at_end:
                self.print_table()

    def _set_status(self, status: Status) -> None:
        self.status = status
        if self.widget is not None:
            self.widget.status = status

    # -- pull ---------------------------------------------------------------------------

    def run(self) -> EventsView:
        """Consume the source here, blocking (on a worker thread's loop); Ctrl-C / interrupt stops it
        and keeps the rows so far."""
        make = self._require_source()
        self._set_status(Status.STREAMING)
        consume_on_thread(make(), self)
        return self

    def start(self) -> EventsView:
        """Consume the source in a task on the running loop; in a notebook the cell returns at once."""
        if self._task is None:
            make = self._require_source()
            loop = runtime.running_loop()
            if loop is None:
                raise RuntimeError("start() needs a running event loop (a notebook cell or async code); use run()")
            self._async = True
            self._set_status(Status.STREAMING)
            self._task = start_task(loop, make(), self)
        return self

    def __await__(self) -> Generator[Any, None, list[dict[str, Any]]]:
        return self._wait().__await__()

    async def _wait(self) -> list[dict[str, Any]]:
        """`await view`: starts it if need be, waits for the end, returns the events."""
        self.start()
        if self._task is not None:
            await self._task
        return self.events

    def stop(self) -> None:
        """Stop a running table (the task is cancelled; a blocking `run` stops at the next event)."""
        self.stop_requested = True
        task = self._task
        if task is not None and not task.done():
            task.get_loop().call_soon_threadsafe(task.cancel)

    def _require_source(self) -> Callable[[], AsyncIterator[dict[str, Any]]]:
        if self._make_source is None:
            raise TypeError("this EventsView has no source; feed it with add(event) and finish()")
        return self._make_source

    # -- transport ----------------------------------------------------------------------

    def _rows_flusher(self) -> Flusher:
        """The batcher, made at the first row: its timer runs where the rows come from."""
        if self._flusher is None:
            schedule: Schedule = thread_schedule
            if self._async:
                try:
                    schedule = loop_schedule(asyncio.get_running_loop())
                except RuntimeError:
                    pass
            self._flusher = Flusher(self._send_batch, schedule)  # type: ignore[arg-type]  # batches any items
        return self._flusher

    def _send_batch(self, rows: list[Row]) -> None:
        self._send_rows(rows[0][0], rows)

    def _send_rows(self, start: int, rows: list[Row]) -> None:
        self.widget.send({"start": start, "rows": rows})

    def _on_browser_message(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        """A view that rendered late asks for the rows it missed."""
        if isinstance(content, dict) and content.get("action") == "sync":
            have = max(0, int(content.get("have") or 0))
            if have < len(self.rows):
                self._send_rows(have, self.rows[have:])

    def print_table(self) -> None:
        """The rows as an aligned table, then a line with the counts and how the run ended."""
        out = self._file or sys.stdout
        for line in table_lines(self.rows) if self.rows else []:
            print(line, file=out)
        counts = summary_text(self.summary)
        note = f": {type(self.error).__name__}: {self.error}" if self.error is not None else ""
        counted = f" ({counts})" if counts else ""
        print(f"[{_events(len(self.rows))}{counted}, {self.status}{note}]", file=out, flush=True)


def _events(count: int) -> str:
    return f"{count} event{'' if count == 1 else 's'}"
