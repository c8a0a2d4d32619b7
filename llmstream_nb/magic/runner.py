"""Wiring one cell's model and prompt to its views: the only place the magic touches a view.

Four sources, one shape: each is one of our token streams (`TokenStream` for a blocking
cell, `AsyncTokenStream` for `--async`), so the StreamView records usage and timings the
same way whichever was asked for:

- streaming: `model.stream()` / `model.astream()`;
- `--no-stream`: `invoke()` / `ainvoke()` inside the stream, so the view shows "waiting"
  for the whole time and then the answer as one chunk (time to first token = the wait);
- `--events`: `astream_events(version="v2")`; every event goes to the EventsView table
  and the root run's chunks (sources.EventAnswer: our `on_llm_stream`, or a LangChain
  chain's `on_chain_stream`) go on to the StreamView above it, so one run feeds both.

`--llm` objects arrive wrapped as our `Model` (sources.ForeignModel), so they take the same paths.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from typing import Any, AsyncIterator, Callable, Iterator

from .. import runtime
from ..models import AsyncTokenStream, Chat, Model, Piece, TokenStream, one_chunk_pieces
from ..models.bridge import iterate_async_in_thread
from ..models.chat import AsyncChatStream, ChatStream
from ..recording import check_writable, options_in_force, save
from ..sources import EventAnswer
from .complain import complain


@dataclass
class CellRun:
    """Everything a cell decided: what to ask, how to show it, and in which mode."""

    model: Model
    prompt: str
    call_options: dict[str, Any] = field(default_factory=dict)
    async_: bool = False
    stream: bool = True
    events: bool = False
    view_options: dict[str, Any] = field(default_factory=dict)
    record: str | None = None
    #: --chat: the conversation that asks (with its history) instead of the bare model.
    chat: Chat | None = None
    #: What identifies the cell to the chat, so a re-run replaces its own exchange.
    cell: str | None = None


def run_cell(run: CellRun, store: Callable[[Any], None]) -> Any:
    """Show the answer (and the events table), store the view, then run it blocking or as a task."""
    from ..view import StreamView

    if run.async_ and not runtime.loop_is_running():
        run = replace(run, async_=False)  # a terminal IPython runs no loop between cells: block, like show()
    if run.record:
        check_writable(run.record)  # a bad path fails before the model is asked
    table = _events_view(run) if run.events else None
    source = _source(run, table)
    view = StreamView(source, model=run.model.name, **run.view_options)
    store(view)
    try:
        return _run_view(run, view, table)
    finally:
        if run.record:
            _when_done(view, lambda: _save(view, run))


def run_compare(run: CellRun, models: list[Model], store: Callable[[Any], None]) -> Any:
    """Several -m: the prompt streamed from each model at once, side by side (view.compare).

    The `Comparison` is stored before the columns finish (an --async cell returns at once).
    """
    from ..view.compare import compare

    async_ = run.async_ and runtime.loop_is_running()
    return compare(models, run.prompt, async_=async_, options=run.call_options, on_start=store, **run.view_options)


def _run_view(run: CellRun, view: Any, table: Any) -> Any:
    if table is None:
        return view.start() if run.async_ else view.run()
    if table.widget is not None:  # a notebook: the answer first, the live table under it
        view.display("async" if run.async_ else "blocking")  # the page knows the mode from the start
        table.display()
        return view.start() if run.async_ else view.run()
    # A terminal: the table is printed after the answer, never interleaved with it.
    if not run.async_:
        try:
            return view.run()
        finally:
            table.print_table()
    view.start()
    _when_done(view, table.print_table)
    return view


def _when_done(view: Any, then: Callable[[], None]) -> None:
    """Call `then` once the view has ended: now, or for a running --async view when its task ends."""
    if not (view.active and view.mode == "async"):
        then()
        return
    runtime.keep_alive(asyncio.ensure_future(_after(view, then)))


async def _after(view: Any, then: Callable[[], None]) -> None:
    try:
        await view
    except BaseException:  # the view has shown its error or "stopped" already
        pass
    then()


def _save(view: Any, run: CellRun) -> None:
    """--record: save the ended view. A failure is one line on stderr; it never hides how the stream ended."""
    try:
        save(view, run.record or "", prompt=run.prompt, options=options_in_force(run.model, run.call_options))
    except Exception as exc:
        complain(f"--record {run.record}: {exc}")


def _events_view(run: CellRun) -> Any:
    from ..view.events_view import EventsView

    return EventsView(async_=run.async_, display=False)


def _source(run: CellRun, table: Any) -> TokenStream | AsyncTokenStream:
    model, prompt, options = run.model, run.prompt, run.call_options
    name = model.name
    if table is not None:

        def events() -> AsyncIterator[dict[str, Any]]:
            return model.astream_events(prompt, version="v2", **options)

        if run.async_:
            return AsyncTokenStream(_atee(events(), table), name)
        return TokenStream(_tee(iterate_async_in_thread(events), table), name)
    asker: Model | Chat = model if run.chat is None else run.chat
    if run.chat is not None:
        options = {**options, "cell": run.cell}
    if run.async_:
        astream = asker.astream(prompt, **options)
        return astream if run.stream else _awhole(astream)
    stream = asker.stream(prompt, **options)
    return stream if run.stream else _whole(stream)


def _whole(stream: TokenStream) -> TokenStream:
    """--no-stream: the answer read to its end first, then shown as one chunk (as `invoke` would)."""

    def pieces() -> Iterator[Piece]:
        with stream:
            for _ in stream:
                pass
        yield from one_chunk_pieces(stream.completion)

    if isinstance(stream, ChatStream):
        return ChatStream(pieces(), stream, stream.chat_turn)
    return TokenStream(pieces(), stream.model)


def _awhole(stream: AsyncTokenStream) -> AsyncTokenStream:
    async def pieces() -> AsyncIterator[Piece]:
        async with stream:
            async for _ in stream:
                pass
        for piece in one_chunk_pieces(stream.completion):
            yield piece

    if isinstance(stream, AsyncChatStream):
        return AsyncChatStream(pieces(), stream, stream.chat_turn)
    return AsyncTokenStream(pieces(), stream.model)


def _tee(events: Iterator[dict[str, Any]], table: Any) -> Iterator[Piece]:
    """Blocking --events: rows are added on the cell's thread, chunks go on to the StreamView."""
    answer = EventAnswer()
    try:
        for event in events:
            table.add(event)
            yield from answer(event)
    except BaseException as exc:  # GeneratorExit and KeyboardInterrupt mark the table stopped
        table.finish(exc if not isinstance(exc, GeneratorExit) else KeyboardInterrupt())
        raise
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()
    table.finish()


async def _atee(events: AsyncIterator[dict[str, Any]], table: Any) -> AsyncIterator[Piece]:
    """--async --events: the same, on the kernel's loop."""
    answer = EventAnswer()
    try:
        async for event in events:
            table.add(event)
            for piece in answer(event):
                yield piece
    except BaseException as exc:  # CancelledError (Stop) and GeneratorExit mark the table stopped
        table.finish(exc if not isinstance(exc, GeneratorExit) else KeyboardInterrupt())
        raise
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()
    table.finish()
