"""`LLMStreamMagics`: the `%%llmstream` cell magic and the `%llmstream` line magic.

This class is IPython glue only: it reads the line (arguments.py), fills the prompt
(template.py), picks a cached model, and hands both to a view (runner.py). Its traits are
the defaults, so `%config LLMStreamMagics.model = "demo"` and `%llmstream config model=demo`
are the same thing. A mistake the person can fix is one line on stderr and the cell ends
normally: a traceback in a notebook would bury the one thing to change.
"""

from __future__ import annotations

import json
import os
import shlex
from typing import Any

from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from traitlets import Bool, Dict, Float, Int, Unicode

from ..errors import ConfigurationError
from ..models import Chat, Model
from ..registry import DEFAULT_MODEL, MODEL_ENV, get_model, provider_statuses
from ..sources import ForeignModel, as_model
from .arguments import CellArgs, MagicUsageError, parse_cell_line
from .chats import DEFAULT_CHAT, ChatBook, cell_key
from .complain import complain
from .help import help_text
from .runner import CellRun, run_cell, run_compare
from .settings import apply_settings, format_settings
from .template import TemplateError, render_prompt

SEE_HELP = " See %%llmstream?"
LAST_RESULT = "_llmstream"
_HELP = help_text()


@magics_class
class LLMStreamMagics(Magics):
    """The magics; the traits are their defaults (see `%llmstream help`)."""

    model = Unicode(
        None, allow_none=True, help="provider:model for cells without -m (None: $LLMSTREAM_MODEL, else the demo)"
    ).tag(config=True)
    model_options = Dict(help='options a model is built with, e.g. {"ttft": 0} or {"base_url": "..."}').tag(config=True)
    sep = Unicode(None, allow_none=True, help="text shown between tokens").tag(config=True)
    markdown = Bool(False, help="render answers as Markdown while they stream").tag(config=True)
    tint = Bool(False, help="tint alternate tokens").tag(config=True)
    async_mode = Bool(False, help="run cells on the kernel's loop (the cell returns at once)").tag(config=True)
    system = Unicode(None, allow_none=True, help="system prompt").tag(config=True)
    temperature = Float(None, allow_none=True, help="sampling temperature").tag(config=True)
    max_tokens = Int(None, allow_none=True, help="longest answer, in tokens").tag(config=True)
    seed = Int(None, allow_none=True, help="sampling seed").tag(config=True)
    max_history = Int(
        None, allow_none=True, min=0, help="past exchanges a --chat cell sends, the latest ones (None: all)"
    ).tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        #: Models by (spec, options): one connection pool per model across cells.
        self._models: dict[tuple[str, str], Model] = {}
        #: The --chat conversations by name.
        self.chats = ChatBook()

    # -- %%llmstream -----------------------------------------------------------------------

    @cell_magic("llmstream")  # type: ignore[arg-type]  # IPython's decorator types accept no methods
    def llmstream_cell(self, line: str, cell: str) -> None:
        if {"-h", "--help"} & set(line.split()):
            print(_HELP)
            return
        try:
            self._run_cell(parse_cell_line(line), cell)
        except MagicUsageError as exc:
            complain(f"{str(exc).rstrip('.')}.{SEE_HELP}")
        except (TemplateError, ConfigurationError) as exc:
            complain(str(exc))

    llmstream_cell.__doc__ = _HELP  # type: ignore[assignment]  # `%%llmstream?` shows this

    def _run_cell(self, args: CellArgs, cell: str) -> None:
        if not cell.strip():
            raise TemplateError("the cell is empty: write the prompt below the %%llmstream line")
        prompt = cell.strip() if args.raw else render_prompt(cell.strip(), self._namespace)
        options = {**self.model_options, **args.model_options}
        given = self._namespace.get(args.llm or "")
        if args.llm and isinstance(given, Chat):  # --llm names a Chat: this cell continues it
            chat: Chat | None = given
            model = as_model(given.model)
        else:
            model = self._cell_model(args, options)
            chat = self._chat(args, model) if args.chat is not None else None
        call_options = {} if isinstance(model, ForeignModel) else self._call_options(args)
        if chat is not None:
            call_options.pop("system", None)  # the chat sends its own system prompt
        run = CellRun(
            model=model,
            prompt=prompt,
            chat=chat,
            cell=cell_key(self.shell, chat, cell) if chat is not None else None,
            call_options=call_options,
            async_=self.async_mode if args.async_ is None else args.async_,
            stream=args.stream,
            events=args.events,
            record=args.record,
            view_options={
                "sep": self.sep if args.sep is None else args.sep,
                "tint": self.tint if args.tint is None else args.tint,
                "markdown": self._markdown(args, chat is not None),
                "inspect": args.inspect,
                "color": args.color,
                "timeline": args.timeline,
                **({"speed": args.speed} if args.speed is not None else {}),
            },
        )
        if len(args.models) > 1:  # side by side: one column per -m, the same options for each
            models = [model] + [self.get_model(spec, options) for spec in args.models[1:]]
            run_compare(run, models, store=lambda comparison: self._store(comparison, args.output))
            return
        run_cell(run, store=lambda view: self._store(view, args.output))

    def _cell_model(self, args: CellArgs, options: dict[str, Any]) -> Model:
        """-m or --llm; else, in a conversation that has begun, its model (rebuilt with the cell's --opt
        if any); else the configured default."""
        if args.llm:
            return self._llm(args)
        chat = self.chats.chats.get(args.chat or DEFAULT_CHAT) if args.chat is not None else None
        if args.model or chat is None:
            return self.get_model(args.model, options)
        model = as_model(chat.model)
        if args.model_options and not isinstance(model, ForeignModel):
            return self.get_model(model.name, options)
        return model

    def _chat(self, args: CellArgs, model: Model) -> Chat:
        """The cell's conversation; a new one takes the configured system prompt unless the cell gives one."""
        name = args.chat or DEFAULT_CHAT
        system = args.system if args.system is not None or name in self.chats.chats else self.system
        chat = self.chats.open(name, model, system=system)
        chat.max_history = self.max_history
        return chat

    def _markdown(self, args: CellArgs, in_chat: bool) -> bool:
        """--markdown / --text win; a chat renders Markdown unless a teaching view wants the tokens."""
        if args.text:
            return False
        if args.markdown is not None:
            return args.markdown
        teaching = (self.sep if args.sep is None else args.sep) or args.inspect or args.color or args.timeline
        return (in_chat and not teaching) or self.markdown

    def _call_options(self, args: CellArgs) -> dict[str, Any]:
        """Generation options: the cell's flags over the configured defaults; None means unset."""
        names = ("system", "temperature", "max_tokens", "seed")
        chosen = {name: getattr(args, name) for name in names}
        chosen = {name: getattr(self, name) if value is None else value for name, value in chosen.items()}
        chosen = {name: value for name, value in chosen.items() if value is not None}
        if args.logprobs:
            chosen["logprobs"] = True
            if args.inspect or args.color or args.timeline:
                chosen["top_logprobs"] = 5
        return chosen

    def _llm(self, args: CellArgs) -> Model:
        """The --llm variable as our Model: ours as it is, anything else wrapped (sources.as_model).

        A foreign object is configured by its owner: a generation flag on the line is a
        mistake, and the configured defaults do not apply to it.
        """
        name = args.llm or ""
        if name not in self._namespace:
            raise ConfigurationError(f"--llm {name}: there is no variable {name!r} in this notebook")
        try:
            model = as_model(self._namespace[name])
        except TypeError as exc:
            raise ConfigurationError(f"--llm {name}: {exc}") from None
        flags = {"system": "--system", "temperature": "--temperature", "max_tokens": "--max-tokens", "seed": "--seed"}
        given = [flag for option, flag in flags.items() if getattr(args, option) is not None]
        if args.chat is not None:  # a chat sends its system prompt as a message: any model takes that
            given = [flag for flag in given if flag != "--system"]
        if given and isinstance(model, ForeignModel):
            raise MagicUsageError(f"{given[0]} goes with -m models; set it on {name} itself")
        return model

    def _store(self, view: Any, name: str | None) -> None:
        """The view is the result: stored before it runs, so an interrupted or async cell has it too."""
        self._namespace[LAST_RESULT] = view
        if name:
            self._namespace[name] = view

    @property
    def _namespace(self) -> dict[str, Any]:
        """The notebook's variables: where prompt fields are read and results stored."""
        assert self.shell is not None, "the magics are registered with a shell"
        return self.shell.user_ns

    def default_model_spec(self) -> str:
        """The model a cell without -m uses: the configured one, else $LLMSTREAM_MODEL, else the demo."""
        return self.model or os.environ.get(MODEL_ENV) or DEFAULT_MODEL

    def get_model(self, spec: str | None, options: dict[str, Any]) -> Model:
        """The model for `spec` (else the configured default, else get_model's), cached per options."""
        resolved = spec or self.default_model_spec()
        key = (resolved, json.dumps(options, sort_keys=True, default=repr))
        if key not in self._models:
            self._models[key] = get_model(resolved, **options)
        return self._models[key]

    def close_models(self) -> None:
        """Release every cached model's connections (on unload or reload of the extension)."""
        models, self._models = list(self._models.values()), {}
        for model in models:
            try:
                model.close()
            except Exception:  # closing is best effort; one failure must not keep the others open
                pass

    # -- %llmstream ------------------------------------------------------------------------

    @line_magic("llmstream")  # type: ignore[arg-type]
    def llmstream_line(self, line: str) -> None:
        command, _, rest = line.strip().partition(" ")
        try:
            if command in ("", "help", "-h", "--help"):
                print(_HELP)
            elif command == "models":
                self._models_command(rest)
            elif command == "chats":
                print(self.chats.table())
            elif command == "reset":
                name = rest.strip() or DEFAULT_CHAT
                forgotten = self.chats.forget(name)
                print(
                    f"conversation {name!r} forgotten ({forgotten.turns} turns); the next --chat {name} starts afresh"
                )
            elif command == "config":
                if rest.strip():
                    apply_settings(self, rest)
                else:
                    print(format_settings(self))
            else:
                raise MagicUsageError(f"unknown command {command!r}: use models, config, chats, reset or help")
        except MagicUsageError as exc:
            complain(f"{str(exc).rstrip('.')}.{SEE_HELP}")

    llmstream_line.__doc__ = _HELP  # type: ignore[assignment]

    def _models_command(self, rest: str) -> None:
        from ..cli import format_provider_statuses

        flags = shlex.split(rest)
        if any(flag != "--offline" for flag in flags):
            raise MagicUsageError(f"`%llmstream models` takes only --offline, got {rest.strip()!r}")
        print("\n".join(format_provider_statuses(provider_statuses(list_models="--offline" not in flags))))
