"""`EventsView`: a run's `astream_events` as a live table (event, name, run id, chunk/output).

It teaches what LangChain's event stream looks like: one start, one row per chunk, one end,
and for a chain, its nested runs (prompt, chat model, parser) indented under the chain, each
run id followed by its parent's (v2's `parent_ids`).
Rows travel like the StreamView's tokens, through the same `Flusher`: as small custom
messages holding only the new rows, at most ~30 per second, never as a synced list that would be resent whole on every
change (see DESIGN.md). The browser writes every cell with `textContent`, so model text is
never parsed as HTML. The full list is synced once, at the end, for saved notebooks.

Feed it either way:

- pull: `EventsView(model, "prompt")` (our model, or anything with `astream_events`: a
  LangChain model or Runnable) or `EventsView(async_iterator_of_events)`, then
  `run()` (blocking), `start()` (a task on the kernel's loop) or `await view`;
- push: `EventsView()`, then `add(event)` per event and `finish(error)` at the end (the
  `%%llmstream --events` magic does this while the answer streams in a StreamView).

Outside a notebook the table is printed when the run ends (or by `print_table()`), so it
never interleaves with an answer printed live above it.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import uuid
from functools import cache
from pathlib import Path
from typing import Any, AsyncIterator, Callable, TextIO

from ..chunks import TEXT, Chunk, Usage
from ..models._bridge import iterate_async_in_thread
from ..sources import content_text, read_item
from ..sources.langchain import generations_text
from .coalesce import Flusher, Schedule, loop_schedule, thread_schedule
from .stream_view import _in_kernel

COLUMNS = ("#", "event", "name", "run (parent)", "chunk / output")
#: A row's text is cut to this many characters; `view.events` keeps the full events.
MAX_TEXT = 300
RUN_ID_LENGTH = 8
INDENT = "  "

Row = list[Any]  # [index, event, name indented by depth, short run id (and parent's), text]


def describe(index: int, event: dict[str, Any]) -> Row:
    """One table row for one event; the chunk's text is shown as a repr so spaces and newlines show.

    A nested run's name is indented once per ancestor, and its run id is followed by its
    parent's, so a chain's tree reads straight from the table.
    """
    data = event.get("data") or {}
    if "chunk" in data:
        text = _chunk_text(data["chunk"])
    elif "error" in data:
        error = data["error"]
        text = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else str(error)
    elif "output" in data:
        text = _text_of(data["output"])
    else:
        text = _text_of(data.get("input", ""))
    if len(text) > MAX_TEXT:
        text = text[: MAX_TEXT - 1] + "…"
    parents = event.get("parent_ids") or []
    run = short_run_id(event.get("run_id"))
    if parents:
        run += f" ({short_run_id(parents[-1])})"
    name = INDENT * len(parents) + str(event.get("name", ""))
    return [index, str(event.get("event", "")), name, run, text]


def short_run_id(run_id: Any) -> str:
    """Eight characters that tell runs apart: a UUID's last eight, any other id's first eight.

    LangChain 1.x makes UUIDv7 run ids, which begin with a timestamp that every run of a
    trace shares; the end of any UUID is random.
    """
    text = str(run_id or "")
    try:
        uuid.UUID(text)
    except ValueError:
        return text[:RUN_ID_LENGTH]
    return text[-RUN_ID_LENGTH:]


def _chunk_text(chunk: Any) -> str:
    """A streamed chunk as its text's repr; reasoning and usage, when it carries them, labelled."""
    try:
        pieces = read_item(chunk)
    except TypeError:
        return repr(chunk)
    parts = []
    for piece in pieces:
        if isinstance(piece, Chunk):
            parts.append(repr(piece.text) if piece.kind == TEXT else f"{piece.kind}: {piece.text!r}")
        elif isinstance(piece, Usage):
            parts.append(f"usage: {piece.prompt_tokens} in, {piece.completion_tokens} out")
    return " · ".join(parts) or repr("")


def _text_of(value: Any) -> str:
    """An input or output as text: strings, our Chunk/Completion, LangChain messages, prompt
    values and LLM results, v1's dicts, a chat model's messages as "role: text"; else a repr."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for key in ("messages", "prompts"):  # the input of on_chat_model_start / on_llm_start
            if key in value:
                return _text_of(value[key])
        if isinstance(value.get("text"), str):
            return value["text"]
        whole = generations_text(value)
        return whole if whole is not None else repr(value)
    if isinstance(value, (list, tuple)):
        return " | ".join(_listed(item) for item in value)
    to_string = getattr(value, "to_string", None)  # a prompt value: "Human: ..."
    if callable(to_string):
        return str(to_string())
    text = getattr(value, "text", None)
    if isinstance(text, str):
        return str(text)
    content = content_text(getattr(value, "content", None))
    if content is not None:
        return content
    whole = generations_text(value)
    return whole if whole is not None else repr(value)


def _listed(item: Any) -> str:
    """A message in a list shows its role ("human: ..."), so a conversation reads as one."""
    role = getattr(item, "type", None)
    if isinstance(role, str) and hasattr(item, "content"):
        return f"{role}: {_text_of(item)}"
    return _text_of(item)


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
        status = traitlets.Unicode("waiting").tag(sync=True)
        error = traitlets.Unicode("").tag(sync=True)
        #: Synced once, when the run ends; live rows travel as custom messages.
        rows: traitlets.List[Row] = traitlets.List().tag(sync=True)

    return EventsWidget


class EventsView:
    """A live table of `astream_events`; `events` keeps them whole, `rows` as shown.

    `async_=True` (push mode) says the events come from a task on the kernel's loop, so the
    batching timer runs on that loop; otherwise (a blocking cell) it runs on a thread.
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
        **options: Any,
    ) -> None:
        if _has_events(source):
            if prompt is None:
                raise TypeError("EventsView(model, prompt): the prompt is missing")
            model = source
            self._make_source: Callable[[], AsyncIterator[dict[str, Any]]] | None = (
                lambda: model.astream_events(prompt, version=version, **options)
            )
        elif source is not None:
            events = source
            self._make_source = lambda: aiter(events)
        else:
            self._make_source = None
        self.events: list[dict[str, Any]] = []
        self.rows: list[Row] = []
        self.status = "waiting"
        self.error: BaseException | None = None
        self._task: asyncio.Task[list[dict[str, Any]]] | None = None
        self._stop = threading.Event()
        self._file = file
        self._async = async_
        self._flusher: Flusher | None = None
        self.widget: Any = None
        if file is None and _in_kernel():
            self.widget = _widget_class()()
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
        return f"<EventsView {self.status}, {len(self.events)} events>"

    # -- push ---------------------------------------------------------------------------

    def add(self, event: dict[str, Any]) -> None:
        """Record one event and show its row (batched to the browser; a terminal prints at the end)."""
        if self.status == "waiting":
            self._set_status("streaming")
        row = describe(len(self.rows), event)
        self.events.append(event)
        self.rows.append(row)
        if self.widget is not None:
            self._rows_flusher().add(row)  # type: ignore[arg-type]  # Flusher batches any items

    def finish(self, error: BaseException | None = None) -> None:
        """End the table: done, stopped (cancelled or interrupted) or the error's one line."""
        if isinstance(error, (asyncio.CancelledError, KeyboardInterrupt)):
            status = "stopped"
        elif error is not None:
            self.error = error
            status = "error"
        else:
            status = "done"
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

    def _set_status(self, status: str) -> None:
        self.status = status
        if self.widget is not None:
            self.widget.status = status

    # -- pull ---------------------------------------------------------------------------

    def run(self) -> list[dict[str, Any]]:
        """Consume the source here, blocking; Ctrl-C / interrupt stops it and keeps the rows so far."""
        make = self._require_source()
        self._set_status("streaming")
        events = iterate_async_in_thread(make)
        try:
            for event in events:
                self.add(event)
                if self._stop.is_set():
                    raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            self.finish(exc)
        except Exception as exc:
            self.finish(exc)
        else:
            self.finish()
        finally:
            events.close()  # type: ignore[attr-defined]  # a generator: closing stops the worker thread
        return self.events

    def start(self) -> asyncio.Task[list[dict[str, Any]]]:
        """Consume the source in a task on the running loop; in a notebook the cell returns at once."""
        if self._task is None:
            self._require_source()
            self._async = True
            self._set_status("streaming")
            self._task = asyncio.ensure_future(self._consume())
        return self._task

    async def _consume(self) -> list[dict[str, Any]]:
        assert self._make_source is not None
        iterator = self._make_source()
        try:
            async for event in iterator:
                self.add(event)
        except asyncio.CancelledError as exc:
            self.finish(exc)
        except Exception as exc:
            self.finish(exc)
        else:
            self.finish()
        finally:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                await aclose()
        return self.events

    def __await__(self) -> Any:
        return self.start().__await__()

    def stop(self) -> None:
        """Stop a running table (the task is cancelled; a blocking `run` stops at the next event)."""
        self._stop.set()
        if self._task is not None:
            self._task.cancel()

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
        """The rows as text, one per line, and a last line with the count and status."""
        out = self._file or sys.stdout
        widths = [max([len(str(row[column])) for row in self.rows], default=0) for column in (1, 2, 3)]
        for index, event, name, run_id, text in self.rows:
            print(f"{index:>4}  {event:<{widths[0]}}  {name:<{widths[1]}}  {run_id:<{widths[2]}}  {text}", file=out)
        note = f": {type(self.error).__name__}: {self.error}" if self.error is not None else ""
        print(f"[{len(self.rows)} events, {self.status}{note}]", file=out, flush=True)
