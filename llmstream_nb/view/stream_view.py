"""`StreamView`: show any token stream live, in a notebook widget or, without a kernel, a terminal.

The view consumes the source itself, in one of two ways:

- `run()` blocks the cell until the stream ends. ipykernel handles no comm message (a
  Stop click) while a cell runs, so the page offers no Stop button here but a hint:
  Jupyter's interrupt stops it. The view closes the source, shows "stopped" with the
  partial text, and raises a `StreamInterrupted` (a KeyboardInterrupt that IPython shows
  as one line), so "Run all" halts as it would for any interrupted cell.
- `start()` runs the stream as a task on the kernel's running loop (DESIGN.md: such a
  task outlives the cell, and widget updates and clicks work meanwhile). The cell
  returns at once, Stop cancels the task, which closes the source (our AsyncTokenStream
  acloses its HTTP response), and several views can stream at once. `await view` waits
  for it and returns the `Completion`.

What it shows lives in a sink: `WidgetSink` in a kernel, `TerminalSink` elsewhere.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from typing import Any, AsyncIterator, Generator, Protocol, TextIO

from ..chunks import REASONING, TEXT, Chunk, Completion, Timings, Usage
from ..tool_calls import ToolCall, assemble
from ..errors import LLMStreamError, one_line, redact
from ..joined_text import JoinedText
from ..models._bridge import aiterate_sync_in_thread
from ..models.base import Model
from ..models.streams import _StreamState
from ..sources import AsyncChunkIterator, ChunkIterator, Stamper, is_async_source, source_model_name
from ..sources.iterators import aclose_source
from ..timeline import Timeline
from ..timeline import timeline as timeline_of
from .coalesce import DEFAULT_INTERVAL
from .interrupt import stream_interrupted
from .stats import StatsTracker, fallback_note, format_stats
from .warmup import warm_demo_model_for

WAITING, STREAMING, DONE, STOPPED, ERROR = "waiting", "streaming", "done", "stopped", "error"
ACTIVE = frozenset({WAITING, STREAMING})
BLOCKING, ASYNC = "blocking", "async"

#: Tasks of running views: asyncio keeps only weak references to tasks.
_RUNNING: set[asyncio.Task[None]] = set()


class _Sink(Protocol):
    def display(self) -> None: ...
    def begin(self, mode: str) -> None: ...
    def feed(self, chunk: Chunk) -> None: ...
    def status_changed(self) -> None: ...
    def model_changed(self) -> None: ...
    def end(self) -> None: ...


class StreamView:
    """A live view of one stream: header (model, status, Stop), thinking (if any), text, stats line.

    `source` is anything `llmstream_nb.sources` reads: our `stream()`/`astream()`, a sync or
    async iterator of strings, LangChain chunks, OpenAI SDK chunks. `sep` draws a marker
    after each token (not part of `text`), `tint` alternates token colours, `markdown`
    renders the whole answer as Markdown at the end. `file` forces terminal output.
    Teaching options (widget only): `inspect` shows a token's index, exact text, timing and
    logprob on hover or focus; `color="prob"` tints each token by its probability (ask the
    model with `logprobs=True`); `timeline` plots the gaps between tokens live. Colour and
    timeline turn the inspector on too.
    `speed` shows the stream in slow motion (0.25: four times slower; see
    `sources.slow_motion`): the view's chunks then carry the slowed arrival times.
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
    ) -> None:
        if isinstance(source, Model):
            raise TypeError("StreamView shows a stream: pass model.stream(prompt), or use show(model, prompt)")
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
        self.sep = sep or None
        self.tint = tint
        self.markdown = markdown
        if color not in (None, "", "prob"):
            raise ValueError(f'color must be "prob" (tint each token by its probability) or None, got {color!r}')
        self.color = color or None
        self.timeline = timeline
        #: The token inspector; on by itself with colour or the timeline (they show what it explains).
        self.inspect = bool(inspect or self.color or timeline)
        self.status = WAITING
        self.error: BaseException | None = None
        self._chunks: list[Chunk] = []
        self._text = JoinedText(self._chunks, TEXT)
        self._reasoning = JoinedText(self._chunks, REASONING)
        self._tracker = StatsTracker()
        self._started: float | None = None
        self._ended: float | None = None
        self._stamper: Stamper | None = None
        self._stop_requested = False
        self._task: asyncio.Task[None] | None = None
        self._mode = ""
        self._sink: _Sink = self._make_sink(file, 1 / refresh_per_second)
        warm_demo_model_for(self.model_name)

    def _make_sink(self, file: TextIO | None, interval: float) -> _Sink:
        if file is None and _in_kernel():
            from .widget_sink import WidgetSink

            return WidgetSink(self, interval)
        from .terminal_sink import TerminalSink

        return TerminalSink(self, file)

    # -- what it holds ------------------------------------------------------------------

    @property
    def text(self) -> str:
        """The answer so far (reasoning excluded, separators never included)."""
        return str(self._text)

    @property
    def reasoning(self) -> str:
        """A reasoning model's thinking so far, apart from the answer ("" when the model showed none)."""
        return str(self._reasoning)

    @property
    def tool_calls(self) -> list[ToolCall]:
        """The tool calls the model asked for, assembled from their chunks (see `llmstream_nb.tool_calls`)."""
        return assemble(self._chunks)

    @property
    def chunks(self) -> list[Chunk]:
        """Every chunk received, with its index and arrival time `t`."""
        return self._chunks

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def mode(self) -> str:
        """How the view runs: "blocking" (`run()`), "async" (`start()`), "" before either."""
        return self._mode

    @property
    def stats(self) -> dict[str, Any]:
        """chunks, ttft, tokens_per_second, elapsed (seconds) and status; and `note`, only when
        there is something to say (a model that answered whole: see `stats.fallback_note`)."""
        t = self._timings()
        stats: dict[str, Any] = {
            "chunks": t.chunks,
            "ttft": t.ttft,
            "tokens_per_second": t.tokens_per_second,
            "elapsed": t.elapsed,
            "status": self.status,
        }
        note = fallback_note(self._chunks)
        if note:
            stats["note"] = note
        return stats

    @property
    def streamed(self) -> bool:
        """False when the provider answered whole (its one chunk is marked `fallback`)."""
        return not any(c.fallback for c in self._chunks)

    @property
    def stats_line(self) -> str:
        """The stats as one line of text, as the page shows them ("1 chunk: this model does not
        stream" in front for a model that answered whole)."""
        return format_stats(self.stats)

    @property
    def timings(self) -> Timeline:
        """Timings as data: one row per text chunk (index, text, t, gap, tokens, logprob) and
        `ttft`; `view.timings.to_pandas()` for a DataFrame (needs pandas)."""
        return timeline_of(self._chunks)

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
        return Completion(
            text=self.text,
            chunks=list(self._chunks),
            finish_reason=next((c.finish_reason for c in reversed(self._chunks) if c.finish_reason), None),
            usage=self._usage(),
            timings=self._timings(),
            model=self.model_name,
            reasoning=self.reasoning,
        )

    def result(self) -> Completion:
        """The finished answer; raises the stream's error if it failed. A stopped view gives its partial answer."""
        if self.active:
            raise RuntimeError("the stream has not ended yet: `await view`, or wait for run() to return")
        if self.error is not None:
            raise self.error
        return self.completion

    def save(self, path: Any, *, prompt: Any = None, options: Any = None) -> Any:
        """Save the ended stream as JSON Lines, to replay with `get_model("replay:PATH")`; returns
        the absolute path. The view does not know its prompt: pass it to keep it in the file."""
        from ..recording import save

        return save(self, path, prompt=prompt, options=options)

    def text_pieces(self) -> list[str]:
        """The text chunk by chunk, as the page draws token boundaries."""
        return [c.text for c in self._chunks if c.kind == TEXT and c.text]

    def live_stats(self) -> list[float | int | None]:
        return self._tracker.compact(self._elapsed())

    def __repr__(self) -> str:
        name = f" {self.model_name}" if self.model_name else ""
        return f"<StreamView{name} {self.status}, {self._tracker.chunks} chunks>"

    def _ipython_display_(self) -> None:
        """Shown once: a view returned as a cell's last value is not drawn a second time."""
        self._sink.display()

    def _display(self, mode: str) -> None:
        """Display now, before `run()` (mode "blocking") or `start()` ("async") is called,
        so the page knows from the start which control to offer (the magic's events path)."""
        if self._started is None:
            self._mode = mode
        self._sink.display()

    # -- running ------------------------------------------------------------------------

    def run(self) -> StreamView:
        """Consume the stream here until it ends (Jupyter's interrupt stops it, see the module doc)."""
        if is_async_source(self._source):
            return self._run_async_in_thread()
        chunks = ChunkIterator(self._source)
        self._begin(BLOCKING, chunks.stamper)
        status, error, interrupted = DONE, None, False
        try:
            for chunk in chunks:
                if self._stop_requested:
                    break
                self._accept(chunk)
        except KeyboardInterrupt:
            status, interrupted = STOPPED, True
        except Exception as exc:
            status, error = ERROR, exc
        else:
            status = STOPPED if self._stop_requested else DONE
        finally:
            _close_quietly(chunks)
            self._finish(status, error)
        if interrupted:
            raise stream_interrupted(self.text)  # outside the except: no chained traceback
        return self

    def start(self) -> StreamView:
        """Stream as a task on the running event loop and return at once."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError("start() needs a running event loop (a notebook cell or async code); use run()") from None
        chunks = self._async_chunks()
        self._begin(ASYNC, chunks.stamper)
        self._task = self._spawn(loop, chunks)
        return self

    def stop(self) -> None:
        """End the stream early, keeping what arrived. In async mode this cancels the task,
        which closes the source; a blocking `run()` stops at the next chunk (or use interrupt)."""
        if self._ended is not None:
            return
        self._stop_requested = True
        task = self._task
        if task is not None and not task.done():
            task.get_loop().call_soon_threadsafe(task.cancel)

    def __await__(self) -> Generator[Any, None, Completion]:
        return self._wait().__await__()

    async def _wait(self) -> Completion:
        if self._task is None and self._started is None:
            self.start()
        if self._task is not None:
            await self._task
        return self.result()

    # -- the consuming loops ------------------------------------------------------------

    def _async_chunks(self) -> _AsyncChunks:
        """The source's chunks for the event loop. A sync source goes through `ChunkIterator`, as in
        `run()`, so both modes accept (and refuse, e.g. a model object) the same sources."""
        if is_async_source(self._source):
            return AsyncChunkIterator(self._source)
        return _ChunksOnThread(ChunkIterator(self._source))

    def _spawn(self, loop: asyncio.AbstractEventLoop, chunks: _AsyncChunks) -> asyncio.Task[None]:
        task = loop.create_task(self._consume_async(chunks))
        _RUNNING.add(task)
        task.add_done_callback(_RUNNING.discard)
        task.add_done_callback(self._on_task_done)
        return task

    async def _consume_async(self, chunks: _AsyncChunks) -> None:
        status, error = DONE, None
        try:
            async for chunk in chunks:
                if self._stop_requested:
                    break
                self._accept(chunk)
        except (asyncio.CancelledError, KeyboardInterrupt):
            status = STOPPED
            if not self._stop_requested:
                raise  # cancelled by someone else (a timeout, a task group): theirs to see
            _uncancel_current_task()
        except Exception as exc:
            status, error = ERROR, exc
        else:
            status = STOPPED if self._stop_requested else DONE
        finally:
            await _aclose_quietly(chunks)
            self._finish(status, error)

    def _run_async_in_thread(self) -> StreamView:
        """Blocking mode for an async source: its own loop on a worker thread, cancelled on interrupt.

        The wait is an Event, not `Thread.join`: a join interrupted by Ctrl-C can mark a
        live thread as stopped (CPython 3.11, bpo-45274's fix), and the loop would be closed
        while still running.
        """
        loop = asyncio.new_event_loop()
        chunks = self._async_chunks()
        self._begin(BLOCKING, chunks.stamper)
        task = self._spawn(loop, chunks)
        finished = threading.Event()

        def work() -> None:
            try:
                loop.run_until_complete(task)
            finally:
                finished.set()

        threading.Thread(target=work, name="llmstream-view", daemon=True).start()
        interrupted = False
        try:
            while not finished.wait(0.1):
                pass
        except KeyboardInterrupt:
            interrupted = True
            self._stop_requested = True
            loop.call_soon_threadsafe(task.cancel)
            finished.wait()
        finally:
            if finished.is_set():
                loop.close()
        if interrupted:
            raise stream_interrupted(self.text)  # outside the except: no chained traceback
        return self

    def _on_task_done(self, task: asyncio.Task[None]) -> None:
        """A task cancelled before its first step never ran `_consume_async`'s handlers."""
        if self._ended is None and task.cancelled():
            self._finish(STOPPED)

    # -- state changes ------------------------------------------------------------------

    def _begin(self, mode: str, stamper: Stamper) -> None:
        if self._started is not None:
            raise RuntimeError("a StreamView shows one stream once; make a new view for a new stream")
        self._started = time.perf_counter()
        self._stamper = stamper
        self._mode = mode
        self._sink.begin(mode)

    def _accept(self, chunk: Chunk) -> None:
        self._chunks.append(chunk)
        if chunk.kind == TEXT and chunk.text:
            self._tracker.add(chunk)
        if chunk.text and self.status == WAITING:  # reasoning counts: the model is answering
            self._set_model_from_items()
            self.status = STREAMING
            self._sink.status_changed()
        self._sink.feed(chunk)

    def _set_model_from_items(self) -> None:
        if not self.model_name and self._stamper is not None and self._stamper.model:
            self.model_name = self._stamper.model
            self._sink.model_changed()

    def _finish(self, status: str, error: BaseException | None = None) -> None:
        self._ended = time.perf_counter()
        self.status = status
        self.error = error
        if isinstance(error, LLMStreamError) and not error.partial_text and self.text:
            error.with_partial(self.text)
        self._sink.end()

    def _elapsed(self) -> float:
        if self._started is None:
            return 0.0
        return (self._ended if self._ended is not None else time.perf_counter()) - self._started

    def _timings(self) -> Timings:
        return self._tracker.timings(self._elapsed())

    def _usage(self) -> Usage:
        """Our streams keep their usage; for others it is what their items reported (LangChain's
        usage_metadata, the OpenAI SDK's usage chunk, Anthropic's message events), copied."""
        if isinstance(self._origin, _StreamState):
            return self._origin.usage
        reported = self._stamper.usage if self._stamper is not None else None
        return Usage(reported.prompt_tokens, reported.completion_tokens) if reported else Usage()


class _ChunksOnThread:
    """A sync source's `ChunkIterator` read from the event loop, each `next()` on a worker thread.

    The `ChunkIterator` stamps the chunks and tallies usage as `run()` would, so its stamper is
    the view's; closing reaches the source through `ChunkIterator.close` (a manager is exited).
    """

    def __init__(self, chunks: ChunkIterator) -> None:
        self.stamper = chunks.stamper
        self._chunks = aiterate_sync_in_thread(chunks)

    def __aiter__(self) -> AsyncIterator[Chunk]:
        return self._chunks

    async def aclose(self) -> None:
        await aclose_source(self._chunks)


_AsyncChunks = AsyncChunkIterator | _ChunksOnThread


def _in_kernel() -> bool:
    """True inside a Jupyter kernel (widgets can render); False in a terminal IPython or plain Python."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and getattr(shell, "kernel", None) is not None


def _close_quietly(chunks: ChunkIterator) -> None:
    """Release the source; a failure to close must not hide how the stream ended."""
    try:
        chunks.close()
    except Exception:
        pass


async def _aclose_quietly(chunks: _AsyncChunks) -> None:
    try:
        await chunks.aclose()
    except Exception:
        pass


def _uncancel_current_task() -> None:
    """We asked for this cancellation (Stop) and handled it; don't leave it counted (3.11+)."""
    task = asyncio.current_task()
    if task is not None and hasattr(task, "uncancel"):
        task.uncancel()
