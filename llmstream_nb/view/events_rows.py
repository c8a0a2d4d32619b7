"""The rows of the events table: one per `astream_events` event, as text a class can read.

No widget here: `EventsView` sends these rows to the page and prints them in a terminal; the
page draws them as a table in arrival order or as a tree of runs (events_widget.js).

A row is a short list, not a dict, because each one travels to the browser on its own:

    [#, event, name, run, chunk/output, ms, depth, parent, run id]

- `run` is the run id cut to eight characters (`short_run_id`), `parent` its parent's ("" for
  a root run): v2's `parent_ids` end with the direct parent, and their length is the `depth`;
- `ms` is the time since the run's first event, measured where the rows are made;
- `run id` is the whole id, on the first row of each run only (the page keeps it for its
  tooltip): sending it on every row would double the bytes of a long stream;
- a chunk is shown as its text's repr, so a class sees every space, newline and empty chunk.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from ..chunks import TEXT, Chunk, Usage
from ..sources import content_text, read_item
from ..sources.langchain import generations_text

Row = list[Any]

#: Positions in a row; the first five are the oldest (tests and saved notebooks read them).
INDEX, EVENT, NAME, RUN, DATA, MS, DEPTH, PARENT, RUN_ID = range(9)
#: The table's headers, in the order the page and the terminal show the columns (the first
#: three as they always were: notebooks and their tests read them by position).
COLUMNS = ("#", "event", "name", "run (parent)", "ms", "chunk / output")
#: A row's text is cut to this many characters; `EventsView.events` keeps the full events.
MAX_TEXT = 300
RUN_ID_LENGTH = 8
INDENT = "  "
#: The phases of a run, by the ending of the event's name (`on_chat_model_stream`: "stream").
KINDS = ("start", "stream", "end", "error")


def describe(index: int, event: dict[str, Any], *, ms: float = 0.0, first_of_run: bool = True) -> Row:
    """One row for one event: its text is the chunk (as a repr), the output, the error or the input."""
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
    run_id = event.get("run_id")
    return [
        index,
        str(event.get("event", "")),
        str(event.get("name", "")),
        short_run_id(run_id),
        text,
        round(ms, 1),
        len(parents),
        short_run_id(parents[-1]) if parents else "",
        str(run_id or "") if first_of_run else "",
    ]


class RowMaker:
    """Makes the rows of one table: times them from its first event, gives each run's whole id once."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self._start: float | None = None
        self._runs: set[str] = set()

    def __call__(self, index: int, event: dict[str, Any]) -> Row:
        now = self._clock()
        if self._start is None:
            self._start = now
        run_id = str(event.get("run_id") or "")
        first = run_id not in self._runs
        self._runs.add(run_id)
        return describe(index, event, ms=(now - self._start) * 1000, first_of_run=first)


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


def kind_of(event_name: str) -> str:
    """ "start", "stream", "end", "error", or "other" (a custom event)."""
    for kind in KINDS:
        if event_name.endswith("_" + kind):
            return kind
    return "other"


def count_kinds(rows: Iterable[Row]) -> dict[str, int]:
    """How many rows of each kind, in the order of a run's life; kinds with no row left out."""
    counts = dict.fromkeys((*KINDS, "other"), 0)
    for row in rows:
        counts[kind_of(row[EVENT])] += 1
    return {kind: count for kind, count in counts.items() if count}


def summary_text(counts: dict[str, int]) -> str:
    """ "1 start · 42 stream · 1 end": what a run's events add up to, at a glance."""
    return " · ".join(f"{count} {kind}" for kind, count in counts.items())


def table_lines(rows: list[Row]) -> list[str]:
    """The rows as aligned text with a header, nested runs indented under their parent's name."""
    columns = [
        [row[EVENT] for row in rows],
        [indented_name(row) for row in rows],
        [row[RUN] + (f" ({row[PARENT]})" if row[PARENT] else "") for row in rows],
    ]
    width = [max([len(COLUMNS[1 + i]), *map(len, column)]) for i, column in enumerate(columns)]

    def line(index: str, event: str, name: str, run: str, ms: str, text: str) -> str:
        return f"{index:>4}  {event:<{width[0]}}  {name:<{width[1]}}  {run:<{width[2]}}  {ms:>8}  {text}"

    lines = [line(*COLUMNS)]
    for row, event, name, run in zip(rows, *columns):
        lines.append(line(str(row[INDEX]), event, name, run, f"{row[MS]:.1f}", row[DATA]))
    return lines


def indented_name(row: Row) -> str:
    """The run's name, indented once per ancestor: the page's table shows it the same way."""
    return INDENT * row[DEPTH] + row[NAME]


# -- text of chunks, inputs and outputs ---------------------------------------------------


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
    """An input or output as text: strings, our Chunk/Completion, LangChain messages (with their
    tool calls), prompt values and LLM results, v1's dicts, a chat model's messages as
    "role: text"; any other dict with its values read the same way; else a repr."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for key in ("messages", "prompts"):  # the input of on_chat_model_start / on_llm_start
            if key in value:
                return _text_of(value[key])
        if isinstance(value.get("text"), str):
            return value["text"]
        whole = generations_text(value)
        return whole if whole is not None else _dict_text(value)
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
        return _with_tool_calls(content, getattr(value, "tool_calls", None))
    whole = generations_text(value)
    return whole if whole is not None else repr(value)


def _listed(item: Any) -> str:
    """A message in a list shows its role ("human: ..."), so a conversation reads as one."""
    role = getattr(item, "type", None)
    if isinstance(role, str) and hasattr(item, "content"):
        return f"{role}: {_text_of(item)}"
    return _text_of(item)


def _dict_text(value: dict[Any, Any]) -> str:
    """A dict as Python writes it, but a message or other object in it as its text's repr: a
    chain's `{"answer": AIMessage(...)}` reads `{'answer': 'Tea is calm.'}`, not a wall of fields."""
    plain = (str, int, float, bool, type(None))
    items = (
        f"{key!r}: {item!r}" if isinstance(item, plain) else f"{key!r}: {_text_of(item)!r}"
        for key, item in value.items()
    )
    return "{" + ", ".join(items) + "}"


def _with_tool_calls(content: str, tool_calls: Any) -> str:
    """A message's text, then its tool calls as `name(args)`: an agent's model often answers only those."""
    if not isinstance(tool_calls, list) or not tool_calls:
        return content
    parts = [content] if content else []
    for call in tool_calls:
        if isinstance(call, dict):
            parts.append(f"tool call: {call.get('name', '?')}({call.get('args', {})!r})")
    return " · ".join(parts)
