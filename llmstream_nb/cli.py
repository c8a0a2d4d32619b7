"""`llmstream-nb run | models | serve`: the terminal face of the library.

Every failure ends as one line on stderr and a non-zero exit, never a traceback: the
person at the terminal needs to know what failed and what to do, not where in our code.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, NoReturn, Sequence

from .errors import ConfigurationError, LLMStreamError, one_line, redact
from .models.base import ProviderStatus
from .options import parse_assignment
from .recording import check_writable, options_in_force, save
from .registry import get_model, provider_statuses
from .terminal import TerminalPrinter

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _run(args: argparse.Namespace) -> int:
    prompt = " ".join(args.prompt) if args.prompt and args.prompt != ["-"] else sys.stdin.read()
    if not prompt.strip():
        raise ConfigurationError("no prompt: give one as an argument or on standard input")
    options: dict[str, Any] = {
        name: value
        for name, value in (
            ("system", args.system),
            ("temperature", args.temperature),
            ("max_tokens", args.max_tokens),
            ("seed", args.seed),
            ("stop", args.stop),
        )
        if value is not None
    }
    if args.record:
        check_writable(args.record)  # before the request: a bad path must not cost an answer
    model = get_model(args.model, **dict(parse_assignment(item) for item in args.opt or ()))
    printer = TerminalPrinter(sep=args.sep, stats=args.stats)
    stream = model.stream(prompt.strip(), **options)
    try:
        for chunk in stream:
            printer.feed(chunk)
    except BaseException:
        printer.finish(None)
        raise
    finally:
        if args.record:  # a failed or stopped stream too: it replays as it went
            stream.close()  # ends it if the printing failed (a closed pipe, Ctrl-C)
            save(stream, args.record, prompt=prompt.strip(), options=options_in_force(model, options))
        model.close()
    printer.finish(stream.completion)
    return 0


def format_provider_statuses(statuses: Sequence[ProviderStatus]) -> list[str]:
    """The `models` listing, shared by this CLI and `%llmstream models`: state, detail, models."""
    lines = []
    for status in statuses:
        state = "ready" if status.configured else "not configured"
        lines.append(f"{status.provider:<10} {state:<15} {status.detail}")
        if status.error:
            lines.append(f"{'':<10} {'':<15} ({status.error})")
        lines.extend(f"{'':<10} - {status.provider}:{name}" for name in status.models)
    return [redact(line) for line in lines]  # a base URL from the environment may carry user:password@


def _models(args: argparse.Namespace) -> int:
    for line in format_provider_statuses(provider_statuses(list_models=not args.offline)):
        print(line)
    return 0


def _serve(args: argparse.Namespace) -> int:
    from .server.run import run_serve

    return run_serve(args)


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a mistake is one line on stderr (no usage block), and values it did not
    recognise are not echoed (one may be a key typed after `--opt api_key`)."""

    def error(self, message: str) -> NoReturn:
        if message.startswith("unrecognized arguments:"):
            flags = [item for item in message.split(":", 1)[1].split() if item.startswith("-")]
            message = f"unrecognized arguments: {' '.join(flags)}" if flags else "unexpected values (not shown)"
        self.exit(EXIT_USAGE, f"error: {one_line(redact(message))} (`{self.prog} --help` lists what is accepted)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="llmstream-nb", description="Stream language-model answers token by token.")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="stream an answer to the terminal")
    run.add_argument("prompt", nargs="*", help="the prompt (default: read standard input)")
    run.add_argument("-m", "--model", help="provider:model (default: $LLMSTREAM_MODEL or the offline demo)")
    run.add_argument("--sep", help='print this between tokens, e.g. "|"')
    run.add_argument("--stats", action="store_true", help="print chunks, time to first token and tokens/s")
    run.add_argument(
        "--record", metavar="PATH", help="also save the answer with its timing as JSON Lines; replay: -m replay:PATH"
    )
    run.add_argument("--system", help="system prompt")
    run.add_argument("--temperature", type=float)
    run.add_argument("--max-tokens", type=int)
    run.add_argument("--seed", type=int)
    run.add_argument("--stop", action="append", help="stop sequence (repeatable)")
    run.add_argument(
        "--opt", action="append", metavar="KEY=VALUE", help="a model option, e.g. ttft=0 or base_url=... (repeatable)"
    )
    run.set_defaults(handler=_run)

    models = commands.add_parser("models", help="list providers, whether each is configured, and their models")
    models.add_argument("--offline", action="store_true", help="do not ask servers for their model lists")
    models.set_defaults(handler=_models)

    serve = commands.add_parser(
        "serve", help="serve the demo model (or --model) over the OpenAI, Anthropic and Ollama HTTP APIs (offline)"
    )
    try:
        from .server.run import add_serve_arguments

        add_serve_arguments(serve)
    except ImportError:  # the server extra is optional; run_serve explains what to install
        pass
    serve.set_defaults(handler=_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except ConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except LLMStreamError as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("stopped.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `llmstream-nb run ... | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
