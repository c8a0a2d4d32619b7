"""`StreamView`: show any token stream live, in a notebook widget or, without a kernel, a terminal.

The view consumes the source itself, in one of two ways:

- `run()` blocks the cell until the stream ends. ipykernel handles no comm message (a
  Stop click) while a cell runs, so the page offers no Stop button here but a hint:
  Jupyter's interrupt stops it. The view closes the source, shows "stopped" with the
  partial text, and raises a `StreamInterrupted` (a KeyboardInterrupt that IPython shows
  as one line), so "Run all" halts as it would for any interrupted cell.
- `start()` runs the stream as a task on the kernel's running loop (docs/architecture.md: such a
  task outlives the cell, and widget updates and clicks work meanwhile). The cell
  returns at once, Stop cancels the task, which closes the source (our AsyncTokenStream
  acloses its HTTP response), and several views can stream at once. `await view` waits
  for it and returns the `Completion`.

How it consumes lives in consume.py (shared with `EventsView`); what it holds is a
`StreamRecord`: the stream's own when the source is one of our streams, else one of its own;
what it shows lives in a sink: `WidgetSink` in a kernel, `TerminalSink` elsewhere.
"""

from __future__ import annotations

import asyncio
from typing import Any, Generator, TextIO

from .. import runtime
from ..chunks import TEXT, Chunk, Completion, Timings, Usage
from ..errors import LLMStreamError, one_line, redact
from ..models.base import Model
from ..models.bridge import aiterate_sync_in_thread
from ..models.chat import AsyncChatStream, Chat, ChatStream, ChatTurn
from ..models.streams import StreamRecord
from ..sources import AsyncChunkIterator, ChunkIterator, Stamper, is_async_source, source_model_name
from ..sources.iterators import aclose_source
from ..status import Status
from ..timeline import Timeline
from ..timeline import timeline as timeline_of
from ..tool_calls import ToolCall
from .autostart import run_on_display
from .coalesce import DEFAULT_INTERVAL
from .consume import consume_here, consume_on_thread, start_task
from .interrupt import stream_interrupted
from .sink import Sink
from .stats import StatsTracker, fallback_note, format_stats, usage_stats

BLOCKING, ASYNC = "blocking", "async"


class StreamView:
    """A live view of one stream: header (model, status, Stop), thinking (if any), text, stats line.

    `source` is anything `llmstream_nb.sources` reads: our `stream()`/`astream()`, a sync or
    async iterator of strings, LangChain chunks, OpenAI SDK chunks. `sep` draws a marker
    between tokens (not part of `text`), `tint` alternates token colours, `markdown`
    renders the answer as Markdown while it streams. `file` forces terminal output.
    Teaching options (widget only): `inspect` shows a token's index, exact text, timing and
    logprob on hover or focus; `color="prob"` tints each token by its probability (ask the
    model with `logprobs=True`); `timeline` plots the gaps between tokens live. Colour and
    timeline turn the inspector on too.
    `speed` shows the stream in slow motion (0.25: four times slower; see
    `sources.slow_motion`): the view's chunks then carry the slowed arrival times.
    `embedded=True` never displays the view itself: its `widget` is shown inside another
    widget (as `compare` does with its columns).
    """

    def __init__(
        self,
        source: Any,
        *,
        model: str | None = None,
        sep: str | None = None,
        tint: bool = False,
        markdown: bool = False,
        inspect: bool = False,
        color: str | None = None,
        timeline: bool = False,
        refresh_per_second: float = 1 / DEFAULT_INTERVAL,
        file: TextIO | None = None,
        speed: float | None = None,
        embedded: bool = False,
    ) -> None:
        if isinstance(source, (Model, Chat)):
            what = "chat" if isinstance(source, Chat) else "model"
            raise TypeError(f"StreamView shows a stream: pass {what}.stream(prompt), or use show({what}, prompt)")
        if refresh_per_second <= 0:
            raise ValueError("refresh_per_second must be positive")
        #: What usage is read from: the source as given, even when slowed.
        self._origin = source
        if speed is not None and speed != 1:
            from ..sources.slow_motion import slow_motion

            source = slow_motion(source, speed)
        self.speed = speed
        self._source = source
        self.model_name = model or source_model_name(self._origin) or ""
        #: Our own stream shown as it comes is its own record; anything else (a foreign source, or a
        #: slowed stream, whose chunks carry other times) gets a record of the view's.
        self.record = source if isinstance(source, StreamRecord) else StreamRecord(self.model_name)
        #: The conversation and turn a chat's stream answers (None for other sources).
        origin = self._origin
        self.chat_turn: ChatTurn | None = (
            origin.chat_turn if isinstance(origin, (ChatStream, AsyncChatStream)) else None
        )
        self.sep = sep or None
        self.tint = tint
        self.markdown = markdown
        if color not in (None, "", "prob"):
            raise ValueError(f'color must be "prob" (tint each token by its probability) or None, got {color!r}')
        self.color = color or None
        self.timeline = timeline
        #: The token inspector; on by itself with colour or the timeline (they show what it explains).
        self.inspect = bool(inspect or self.color or timeline)
        self.status = Status.WAITING
        self.stop_requested = False
        self._tracker = StatsTracker()
        self._shown = 0  # how many of the record's chunks the sink has been fed
        self._stamper: Stamper | None = None
        self._begun = False
        self._task: Any = None
        self._mode = ""
        #: Who awaits `started()`: (loop, future) pairs, resolved from whichever thread the stream runs on.
        self._start_waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._sink: Sink = self._make_sink(file, 1 / refresh_per_second, embedded)

    def _make_sink(self, file: TextIO | None, interval: float, embedded: bool) -> Sink:
        if file is None and runtime.in_kernel():
            from .widget_sink import WidgetSink

            return WidgetSink(self, interval, embedded=embedded)
        from .terminal_sink import TerminalSink

        return TerminalSink(self, file)

    # -- what it holds ------------------------------------------------------------------

    @property
    def text(self) -> str:
        """The answer so far (reasoning excluded, separators never included)."""
        return self.record.text

    @property
    def reasoning(self) -> str:
        """A reasoning model's thinking so far, apart from the answer ("" when the model showed none)."""
        return self.record.reasoning

    @property
    def refusal(self) -> str:
        """The model's refusal so far, apart from the answer ("" when it did not refuse)."""
        return self.record.refusal

    @property
    def tool_calls(self) -> list[ToolCall]:
        """The tool calls the model asked for, assembled from their chunks (see `llmstream_nb.tool_calls`)."""
        return self.record.tool_calls

    @property
    def chunks(self) -> list[Chunk]:
        """Every chunk received, with its index and arrival time `t`."""
        return self.record.chunks

    @property
    def error(self) -> BaseException | None:
        return self.record.error

    @property
    def source(self) -> Any:
        """What the view reads (slowed down when `speed` is set)."""
        return self._source

    @property
    def chat(self) -> Any:
        """The `Chat` this view's answer belongs to (None outside a conversation)."""
        return self.chat_turn.chat if self.chat_turn is not None else None

    @property
    def active(self) -> bool:
        return self.status.active

    @property
    def mode(self) -> str:
        """How the view runs: "blocking" (`run()`), "async" (`start()`), "" before either."""
        return self._mode

    @property
    def stats(self) -> dict[str, Any]:
        """chunks, ttft, tokens_per_second, elapsed (seconds) and status; `note`, only when
        there is something to say (a model that answered whole: see `stats.fallback_note`); and
        `input_tokens` / `output_tokens` when the provider reported usage."""
        t = self._timings()
        stats: dict[str, Any] = {
            "chunks": t.chunks,
            "ttft": t.ttft,
            "tokens_per_second": t.tokens_per_second,
            "elapsed": t.elapsed,
            "status": self.status,
        }
        if t.load is not None:
            stats["load"] = t.load  # left out of ttft (chunks.Timings)
        note = fallback_note(self.chunks)
        if note:
            stats["note"] = note
        self._take_reports()
        stats.update(usage_stats(self.record.usage))
        return stats

    @property
    def streamed(self) -> bool:
        """False when the provider answered whole (its one chunk is marked `fallback`)."""
        return not any(c.fallback for c in self.chunks)

    @property
    def stats_line(self) -> str:
        """The stats as one line of text, as the page shows them ("1 chunk: this model does not
        stream" in front for a model that answered whole)."""
        return format_stats(self.stats)

    @property
    def timings(self) -> Timeline:
        """Timings as data: one row per text chunk (index, text, t, gap, tokens, logprob) and
        `ttft`; `view.timings.to_pandas()` for a DataFrame (needs pandas)."""
        return timeline_of(self.chunks)

    @property
    def error_line(self) -> str:
        """The error as one redacted line, "Type: message" ("" without an error)."""
        if self.error is None:
            return ""
        return one_line(redact(f"{type(self.error).__name__}: {self.error}"))

    @property
    def widget(self) -> Any:
        """The notebook widget (None outside a notebook)."""
        return getattr(self._sink, "widget", None)

    @property
    def completion(self) -> Completion:
        """The answer so far as a `Completion` (usage as far as the source reported it)."""
        self._take_reports()
        return self.record.completion

    def result(self) -> Completion:
        """The finished answer; raises the stream's error if it failed. A stopped view gives its partial answer."""
        if self.active:
            raise RuntimeError("the stream has not ended yet: `await view`, or wait for run() to return")
        if self.error is not None:
            raise self.error
        return self.completion

    def save(self, path: Any, *, prompt: Any = None, options: Any = None) -> Any:
        """Save the ended stream as JSON Lines, to replay with `get_model("replay:PATH")`; returns
        the absolute path. The prompt of one of our streams is kept; for other sources pass it."""
        from ..recording import save

        return save(self, path, prompt=prompt, options=options)

    def text_pieces(self) -> list[str]:
        """The text chunk by chunk, as the page draws token boundaries."""
        return [c.text for c in self.chunks if c.kind == TEXT and c.text]

    def live_stats(self) -> list[float | int | None]:
        return self._tracker.compact(self.record.elapsed)

    def __repr__(self) -> str:
        name = f" {self.model_name}" if self.model_name else ""
        return f"<StreamView{name} {self.status}, {self._tracker.chunks} chunks>"

    def _ipython_display_(self) -> None:
        """Shown once: a view returned as a cell's last value is not drawn a second time.
        A view not started yet starts here, as `show()` would run it (see `autostart`)."""
        if not self._begun:
            run_on_display(self)
            return
        self._sink.display()

    def refuse(self, error: BaseException) -> None:
        """End a view that could not start, with the reason as its error (shown in its status line)."""
        if self._begun:
            return
        self._begun = True
        self.record.begin()
        self._sink.display()
        self.end(Status.ERROR, error)

    def display(self, mode: str = "") -> None:
        """Display now. Given before `run()` (mode "blocking") or `start()` ("async") is called,
        `mode` lets the page know from the start which control to offer (the magic's events path)."""
        if mode and not self._begun:
            self._mode = mode
        self._sink.display()

    # -- running ------------------------------------------------------------------------

    def run(self) -> StreamView:
        """Consume the stream here until it ends (Jupyter's interrupt stops it, see the module doc)."""
        if is_async_source(self._source):
            chunks = self._async_chunks()
            self._begin(BLOCKING, chunks.stamper)
            interrupted = consume_on_thread(chunks, self)
        else:
            items = ChunkIterator(self._source)
            self._begin(BLOCKING, items.stamper)
            interrupted = consume_here(items, self, items.close)
        if interrupted:
            raise stream_interrupted(self.text)  # outside any except: no chained traceback
        return self

    def start(self) -> StreamView:
        """Stream as a task on the running event loop and return at once (headless: to the end first)."""
        loop = runtime.running_loop()
        if loop is None:
            raise RuntimeError("start() needs a running event loop (a notebook cell or async code); use run()")
        from .headless import executed_headless

        if executed_headless():  # nbclient would save it unfinished: stream to the end now (headless.py)
            return self.run()
        chunks = self._async_chunks()
        self._begin(ASYNC, chunks.stamper)
        self._task = start_task(loop, chunks, self)
        return self

    def stop(self) -> None:
        """End the stream early, keeping what arrived. In async mode this cancels the task,
        which closes the source; a blocking `run()` stops at the next chunk (or use interrupt)."""
        if not self.active:
            return
        self.stop_requested = True
        task = self._task
        if task is not None and not task.done():
            task.get_loop().call_soon_threadsafe(task.cancel)

    def __await__(self) -> Generator[Any, None, Completion]:
        return self._wait().__await__()

    async def started(self) -> StreamView:
        """Wait until the answer begins (its first token shows) or the stream ends, without waiting for
        the end: a cell that reads `view.text` after an `--async` cell sees text even under Run All."""
        if self.status == Status.WAITING:
            loop = asyncio.get_running_loop()
            waiter: asyncio.Future[None] = loop.create_future()
            self._start_waiters.append((loop, waiter))
            if self.status == Status.WAITING:  # (it may have begun on another thread meanwhile)
                await waiter
        return self

    def _wake_start_waiters(self) -> None:
        waiters, self._start_waiters = self._start_waiters, []
        for loop, waiter in waiters:
            loop.call_soon_threadsafe(_resolve, waiter)

    async def _wait(self) -> Completion:
        if self._task is None and not self._begun:
            self.start()
        if self._task is not None:
            await self._task
        return self.result()

    def _async_chunks(self) -> AsyncChunkIterator | _ChunksOnThread:
        """The source's chunks for an event loop. A sync source goes through `ChunkIterator`, as in
        `run()`, so both modes accept (and refuse, e.g. a model object) the same sources."""
        if is_async_source(self._source):
            return AsyncChunkIterator(self._source)
        return _ChunksOnThread(ChunkIterator(self._source))

    # -- what consume.py calls ----------------------------------------------------------

    def accept(self, chunk: Chunk) -> None:
        if self.record is not self._source:  # our own stream has recorded it already
            self.record.add(chunk)
        self._show_new()

    def _show_new(self) -> None:
        """Show what the record holds and the sink has not seen. With our own stream's record that
        includes a chunk the stream recorded just before a Stop reached the view: what the record
        holds is what the page shows."""
        chunks = self.record.chunks
        while self._shown < len(chunks):
            chunk = chunks[self._shown]
            self._shown += 1
            if chunk.kind == TEXT and chunk.text:
                self._tracker.add(chunk)
            if chunk.text and self.status == Status.WAITING:  # reasoning counts: the model is answering
                self._set_model_from_items()
                self.status = Status.STREAMING
                self._sink.status_changed(self.status)
                self._wake_start_waiters()
            self._sink.feed(chunk)

    def end(self, status: Status, error: BaseException | None = None) -> None:
        record = self.record
        self._show_new()
        record.finish()
        record.error = error  # a stop is no error, whatever the stream noted when it was closed
        if isinstance(error, LLMStreamError) and not error.partial_text and record.text:
            error.with_partial(record.text)
        self._take_reports()
        self.status = status
        self._sink.end()
        self._wake_start_waiters()

    # -- state changes ------------------------------------------------------------------

    def _begin(self, mode: str, stamper: Stamper) -> None:
        if self._begun:
            raise RuntimeError("a StreamView shows one stream once; make a new view for a new stream")
        self._begun = True
        self.record.begin()
        self._stamper = stamper
        self._mode = mode
        self._sink.begin(mode)

    def _set_model_from_items(self) -> None:
        if not self.model_name and self._stamper is not None and self._stamper.model:
            self.model_name = self.record.model = self._stamper.model
            self._sink.model_changed(self.model_name)

    def _timings(self) -> Timings:
        reported = self.record.provider_timings
        return self._tracker.timings(self.record.elapsed, reported.load if reported is not None else None)

    def _take_reports(self) -> None:
        """A record of the view's own takes what the source reported besides chunks: a slowed stream
        of ours its usage and provider timings, another source the usage its items carried (LangChain's
        usage_metadata, the OpenAI SDK's usage chunk, Anthropic's message events)."""
        record, origin = self.record, self._origin
        if record is self._source:
            return
        if isinstance(origin, StreamRecord):
            record.usage, record.provider_timings = origin.usage, origin.provider_timings
        elif self._stamper is not None and self._stamper.usage is not None:
            reported = self._stamper.usage
            record.usage = Usage(reported.prompt_tokens, reported.completion_tokens)


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class _ChunksOnThread:
    """A sync source's `ChunkIterator` read from the event loop, each `next()` on a worker thread.

    The `ChunkIterator` stamps the chunks and tallies usage as `run()` would, so its stamper is
    the view's; closing reaches the source through `ChunkIterator.close` (a manager is exited).
    """

    def __init__(self, chunks: ChunkIterator) -> None:
        self.stamper = chunks.stamper
        self._chunks = aiterate_sync_in_thread(chunks)

    def __aiter__(self) -> _ChunksOnThread:
        return self

    async def __anext__(self) -> Chunk:
        return await self._chunks.__anext__()

    async def aclose(self) -> None:
        await aclose_source(self._chunks)
