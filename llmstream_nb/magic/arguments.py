"""The `%%llmstream` line: flags to a typed `CellArgs`, every mistake as one readable line.

argparse would print usage and call `sys.exit` on a typo; in a notebook that is a traceback
(`SystemExit`) instead of help. Here the parser raises `MagicUsageError` with one line, and
an unknown flag is matched against the known ones so a typo comes with its correction.
"""

from __future__ import annotations

import argparse
import difflib
import keyword
import re
import shlex
from dataclasses import dataclass, field
from typing import Any, NoReturn, Sequence

from ..errors import ConfigurationError
from ..options import parse_assignment
from ..pacing import check_speed

PROG = "%%llmstream"


class MagicUsageError(ValueError):
    """A mistake in the magic's line; the message is one line, without the "llmstream:" prefix."""


@dataclass
class CellArgs:
    """What one `%%llmstream` line asks for. None means "use the configured default"."""

    model: str | None = None
    #: Every -m given, in order: two or more stream side by side (view.compare).
    models: list[str] = field(default_factory=list)
    #: Slow motion: arrival gaps divided by this (0.25 = four times slower); None = as it comes.
    speed: float | None = None
    llm: str | None = None
    model_options: dict[str, Any] = field(default_factory=dict)
    async_: bool | None = None
    sep: str | None = None
    markdown: bool | None = None
    tint: bool | None = None
    inspect: bool = False
    color: str | None = None
    timeline: bool = False
    logprobs: bool = False
    events: bool = False
    output: str | None = None
    record: str | None = None
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    stream: bool = True
    raw: bool = False
    #: The conversation this cell continues (--chat NAME); None: a one-off prompt.
    chat: str | None = None
    #: --text: plain text, not Markdown (a chat's default is Markdown).
    text: bool = False


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise MagicUsageError(message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise MagicUsageError(message or "invalid arguments")


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, width=100, max_help_position=30)


def build_parser() -> argparse.ArgumentParser:
    """The cell magic's flags; its help is the usage part of `%%llmstream?`."""
    p = _Parser(prog=PROG, add_help=False, allow_abbrev=False, formatter_class=_formatter)
    on_off = argparse.BooleanOptionalAction
    p.add_argument(
        "-m",
        "--model",
        dest="models",
        action="append",
        default=[],
        metavar="MODEL",
        help='provider:model, e.g. "demo" or "openai:gpt-4o-mini"; repeat it (-m A -m B) to stream '
        "the prompt from each at once, side by side, with a summary table at the end",
    )
    p.add_argument(
        "--speed",
        type=float,
        metavar="X",
        help="slow motion: show the stream X times as fast as it arrives (0.25 = four times slower, 0 = no waiting)",
    )
    p.add_argument(
        "--llm",
        metavar="NAME",
        help="a model object in the variable NAME instead: our Model, a LangChain LLM, chat model or "
        "Runnable, or anything with stream()/astream()",
    )
    p.add_argument(
        "--opt",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a model option, e.g. ttft=0 or base_url=http://... (repeatable)",
    )
    p.add_argument(
        "--async",
        dest="async_",
        action=on_off,
        default=None,
        help="run on the kernel's event loop: the cell returns at once",
    )
    p.add_argument("--sep", metavar="S", help='show S between tokens, e.g. "|"')
    p.add_argument("--markdown", action=on_off, default=None, help="render the answer as Markdown while it streams")
    p.add_argument("--tint", action=on_off, default=None, help="tint alternate tokens so their boundaries show")
    p.add_argument(
        "--inspect",
        action="store_true",
        help="hover or focus a token to see its index, exact text, timing and probability",
    )
    p.add_argument(
        "--color",
        choices=["prob"],
        metavar="prob",
        help="tint each token by its probability (with --logprobs); turns --inspect on",
    )
    p.add_argument(
        "--timeline",
        action="store_true",
        help="plot the gaps between tokens and the tokens over time, live; turns --inspect on",
    )
    p.add_argument(
        "--logprobs",
        action="store_true",
        help="ask the model for token logprobs (and 5 alternatives with --inspect/--color/--timeline)",
    )
    p.add_argument("--events", action="store_true", help="also show the run's astream_events (v2) as a live table")
    p.add_argument("-o", "--output", metavar="NAME", help="also store the view in the variable NAME")
    p.add_argument(
        "--record",
        metavar="PATH",
        help="also save the answer with its timing as JSON Lines, to replay with -m replay:PATH "
        "(--opt speed=2 plays it twice as fast)",
    )
    p.add_argument("--system", metavar="TEXT", help="system prompt")
    p.add_argument("--temperature", type=float, metavar="T", help="sampling temperature (0 = most likely tokens)")
    p.add_argument("--max-tokens", type=int, metavar="N", help="stop the answer after N tokens")
    p.add_argument("--seed", type=int, metavar="N", help="sampling seed, for answers that repeat")
    p.add_argument(
        "--no-stream",
        dest="stream",
        action="store_false",
        help="wait for the whole answer (invoke) and show it at once",
    )
    p.add_argument("--raw", action="store_true", help="send the cell as is: no {name} fields")
    p.add_argument(
        "-c",
        "--chat",
        nargs="?",
        const="default",
        metavar="NAME",
        help="continue the conversation NAME (default: default), made on first use with this cell's "
        "model and --system; re-running a cell replaces its own exchange. Answers render as "
        "Markdown unless --text",
    )
    p.add_argument("--text", action="store_true", help="show the answer as plain text, not Markdown (for --chat)")
    return p


PARSER = build_parser()


def parse_cell_line(line: str) -> CellArgs:
    """Parse the text after `%%llmstream`; raise `MagicUsageError` with one line on any mistake."""
    try:
        argv = shlex.split(line)
    except ValueError as exc:  # "No closing quotation"
        raise MagicUsageError(f"cannot read the options ({exc})") from None
    known, rest = PARSER.parse_known_args(argv)
    model_options = parse_model_options(known.opt)  # first: `--opt api_key KEY` must not echo KEY as leftover
    if rest:
        raise MagicUsageError(_explain_leftover(rest))
    args = CellArgs(**{k: v for k, v in vars(known).items() if k != "opt"})
    args.model = args.models[0] if args.models else None
    args.model_options = model_options
    if args.output is not None and not is_variable_name(args.output):
        raise MagicUsageError(f"-o needs a Python variable name, got {args.output!r}")
    if args.llm is not None:
        _check_llm(args)
    if args.speed is not None:
        try:
            check_speed(args.speed, "--speed")
        except ConfigurationError as exc:
            raise MagicUsageError(exc.detail) from None
    if len(args.models) > 1:
        _check_side_by_side(args)
    if args.events and not args.stream:
        raise MagicUsageError("--events shows a stream's events; it cannot be combined with --no-stream")
    if args.chat is not None:
        _check_chat(args)
    if args.text and args.markdown:
        raise MagicUsageError("--text and --markdown contradict each other: choose one")
    return args


def _check_chat(args: CellArgs) -> None:
    """A conversation has one answer per cell, from the model's own stream."""
    if not re.fullmatch(r"[\w-]+", args.chat or ""):
        raise MagicUsageError(f"--chat needs a name of letters, digits, _ or -, got {args.chat!r}")
    for flag, given in (("several -m", len(args.models) > 1), ("--events", args.events)):
        if given:
            raise MagicUsageError(f"--chat continues one conversation; it cannot go with {flag}")


def _check_side_by_side(args: CellArgs) -> None:
    """Several -m stream side by side: what shows or saves one stream cannot go with them."""
    for flag, given in (("--events", args.events), ("--record", args.record), ("--no-stream", not args.stream)):
        if given:
            raise MagicUsageError(f"{flag} shows one model's stream; it cannot go with several -m")


def _check_llm(args: CellArgs) -> None:
    """--llm names an object that is already built: -m and --opt (which build one) cannot go with it."""
    if not is_variable_name(args.llm or ""):
        raise MagicUsageError(f"--llm needs a Python variable name, got {args.llm!r}")
    if args.model is not None:
        raise MagicUsageError("use -m or --llm, not both")
    if args.model_options:
        raise MagicUsageError("--opt builds a model for -m; an --llm object is built already")


def parse_model_options(items: Sequence[str]) -> dict[str, Any]:
    """`["ttft=0", "base_url=http://..."]` -> `{"ttft": 0, "base_url": "http://..."}`."""
    try:
        return dict(parse_assignment(item) for item in items)
    except ConfigurationError as exc:
        raise MagicUsageError(f"--opt {exc}") from None


def is_variable_name(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)


def option_strings() -> list[str]:
    return [s for action in PARSER._actions for s in action.option_strings]


def _explain_leftover(rest: list[str]) -> str:
    first = rest[0]
    if first.startswith("-") and len(first) > 1:
        flag = first.split("=", 1)[0]
        known = option_strings()
        close = [o for o in known if o.startswith(flag)] if flag.startswith("--") else []
        if len(close) != 1:
            close = difflib.get_close_matches(flag, known, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]}?)" if close else ""
        return f"unknown option {flag}{hint}"
    return f"unexpected {first!r} on the %%llmstream line; the prompt goes in the cell body, below it"
