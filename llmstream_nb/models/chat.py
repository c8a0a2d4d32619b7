"""`Chat`: a conversation with a model that keeps its exchanges, like simonw/llm's `Conversation`.

    chat = get_model("demo").chat(system="Answer briefly.")
    for chunk in chat.stream("What is tea?"):
        print(chunk, end="")
    chat.invoke("And coffee?")          # sent with the first exchange
    chat.messages                       # [{"role": "user", ...}, {"role": "assistant", ...}, ...]

Each call sends the kept history (see `chat_history`) and the new prompt through the model's
own `stream`/`astream`, and keeps the exchange when the answer ends. An answer that is
stopped or fails is kept as far as it got, marked `stopped` or `error` (`undo()` drops it).
The stream a chat returns is an ordinary `TokenStream` / `AsyncTokenStream` (a view shows
it like any other) with a `chat_turn` saying which conversation and turn it is.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..chunks import Completion, Usage
from ..errors import ConfigurationError, one_line, redact
from ..options import Message, PromptInput
from .chat_history import (
    DONE,
    ERROR,
    STOPPED,
    Exchange,
    conversation_markdown,
    history,
    index_of_cell,
    request_input,
)
from .streams import AsyncTokenStream, Piece, TokenStream

if TYPE_CHECKING:
    import os


class Answerer(Protocol):
    """What a chat needs of its model: a name and the two streams (every `Model` has them).

    A protocol rather than `Model` itself: `Model.chat()` makes chats, so this module cannot import it.
    """

    @property
    def name(self) -> str: ...

    def stream(self, input: PromptInput, **options: Any) -> TokenStream: ...

    def astream(self, input: PromptInput, **options: Any) -> AsyncTokenStream: ...


#: What ends an answer early without it failing: the reader stopped it (break, Stop, interrupt).
_STOPPING = (GeneratorExit, KeyboardInterrupt, asyncio.CancelledError)

#: The "format" field of a saved chat.
FILE_FORMAT = "llmstream-chat/1"

#: Builds a model from its saved name and options (the registry's `get_model`; it registers itself,
#: so this module needs no import of the registry, which imports the models).
_model_factory: Callable[..., Answerer] | None = None


def use_model_factory(factory: Callable[..., Answerer]) -> None:
    """Set how `Chat.load` builds a model from a saved "provider:model" name."""
    global _model_factory
    _model_factory = factory


@dataclass
class ChatTurn:
    """Which conversation and turn a stream answers; `exchange` is set once the answer ends."""

    chat: Chat
    prompt: str
    #: 1-based position of this exchange in the conversation.
    number: int
    #: Earlier exchanges `max_history` kept from the model.
    left_out: int = 0
    cell: str | None = None
    exchange: Exchange | None = None

    @property
    def label(self) -> str:
        """ "chat default · turn 3", and how many earlier turns were not sent when some were not."""
        text = f"chat {self.chat.name} \u00b7 turn {self.number}"
        if self.left_out:
            text += f" \u00b7 {self.left_out} earlier turn{'' if self.left_out == 1 else 's'} not sent"
        return text

    def to_dict(self) -> dict[str, Any]:
        """What a front end shows: the conversation's name, this turn, the turns left out."""
        return {"name": self.chat.name, "turn": self.number, "left_out": self.left_out}


class Chat:
    """A conversation: `stream`/`astream`/`invoke` send the kept exchanges with each new prompt.

    `system` opens every request; `max_history` bounds how many past exchanges are sent
    (None: all). `cell` (on each call) names what asked: asking again from the same cell
    replaces that exchange in place, answered with the exchanges before it.
    """

    def __init__(
        self, model: Answerer, *, system: str | None = None, max_history: int | None = None, name: str = "default"
    ) -> None:
        if max_history is not None and (
            isinstance(max_history, bool) or not isinstance(max_history, int) or max_history < 0
        ):
            raise ConfigurationError(f"max_history must be a whole number, 0 or more (None: all), got {max_history!r}")
        self.model = model
        self.system = system or None
        self.max_history = max_history
        self.name = name
        self.exchanges: list[Exchange] = []

    # -- what it holds ------------------------------------------------------------------

    @property
    def messages(self) -> list[Message]:
        """The exchanges as {"role", "content"} dicts, oldest first (the system prompt is `system`)."""
        return [message for exchange in self.exchanges for message in exchange.messages()]

    @property
    def turns(self) -> int:
        return len(self.exchanges)

    def __repr__(self) -> str:
        return f"<Chat {self.name} {self.model.name}, {self.turns} turn{'' if self.turns == 1 else 's'}>"

    def markdown(self) -> str:
        """The whole conversation as Markdown (what a chat view's "Copy chat" puts on the clipboard)."""
        return conversation_markdown(self.name, self.system, self.exchanges)

    def reset(self) -> None:
        """Forget every exchange (the model, system prompt and max_history stay)."""
        self.exchanges.clear()

    def undo(self) -> Exchange | None:
        """Drop the last exchange (say, a stopped answer) and return it; None when there is none."""
        return self.exchanges.pop() if self.exchanges else None

    # -- asking -------------------------------------------------------------------------

    def stream(self, prompt: str, *, cell: str | None = None, **options: Any) -> ChatStream:
        """Stream the answer to `prompt` after the kept exchanges; the exchange is kept when it ends."""
        turn, asked = self._turn(prompt, cell)
        inner = self.model.stream(asked, **options)
        return ChatStream(self._kept(turn, inner), inner, turn)

    def astream(self, prompt: str, *, cell: str | None = None, **options: Any) -> AsyncChatStream:
        """Async twin of `stream`."""
        turn, asked = self._turn(prompt, cell)
        inner = self.model.astream(asked, **options)
        return AsyncChatStream(self._akept(turn, inner), inner, turn)

    def invoke(self, prompt: str, *, cell: str | None = None, **options: Any) -> Completion:
        """The whole answer (streamed under the hood), kept like a streamed one."""
        stream = self.stream(prompt, cell=cell, **options)
        with stream:
            for _ in stream:
                pass
        return stream.completion

    async def ainvoke(self, prompt: str, *, cell: str | None = None, **options: Any) -> Completion:
        stream = self.astream(prompt, cell=cell, **options)
        async for _ in stream:
            pass
        return stream.completion

    def _turn(self, prompt: str, cell: str | None) -> tuple[ChatTurn, str | list[Message]]:
        if not isinstance(prompt, str) or not prompt.strip():
            raise ConfigurationError(f"a chat prompt is a non-empty string, got {prompt!r:.60}")
        at = index_of_cell(self.exchanges, cell)
        before = self.exchanges if at is None else self.exchanges[:at]
        past, left_out = history(before, self.max_history)
        turn = ChatTurn(self, prompt, number=len(before) + 1, left_out=left_out, cell=cell)
        return turn, request_input(self.system, past, prompt)

    def _keep(self, turn: ChatTurn, text: str, ended_by: BaseException | None = None) -> None:
        """Keep the exchange (in place of the one its cell asked before, else at the end): `done`
        when nothing ended it early, `stopped` when the reader stopped it, else `error` with its line."""
        status, line = DONE, ""
        if isinstance(ended_by, _STOPPING):
            status = STOPPED
        elif ended_by is not None:
            status, line = ERROR, one_line(redact(f"{type(ended_by).__name__}: {ended_by}"))
        exchange = Exchange(turn.prompt, text, status, line, self.model.name, turn.cell)
        at = index_of_cell(self.exchanges, turn.cell)
        if at is None:
            self.exchanges.append(exchange)
        else:
            self.exchanges[at] = exchange
        turn.exchange = exchange

    def _kept(self, turn: ChatTurn, stream: TokenStream) -> Iterator[Piece]:
        """The model's chunks passed on; when they end (or stop, or fail) the exchange is kept."""
        try:
            yield from stream
        except BaseException as exc:
            self._keep(turn, stream.text, exc)
            stream.close()
            raise
        self._keep(turn, stream.text)
        yield from _reports(stream)

    async def _akept(self, turn: ChatTurn, stream: AsyncTokenStream) -> AsyncIterator[Piece]:
        try:
            async for chunk in stream:
                yield chunk
        except BaseException as exc:
            self._keep(turn, stream.text, exc)
            await stream.aclose()
            raise
        self._keep(turn, stream.text)
        for piece in _reports(stream):
            yield piece

    # -- files --------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The chat as JSON-ready data: the model's name and public options (never a key), and the exchanges."""
        return {
            "format": FILE_FORMAT,
            "name": self.name,
            "model": self.model.name,
            "model_options": getattr(self.model, "public_options", {}),
            "system": self.system,
            "max_history": self.max_history,
            "exchanges": [exchange.to_dict() for exchange in self.exchanges],
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the chat as JSON (see `to_dict`); returns the absolute path."""
        target = Path(path).expanduser().resolve()
        try:
            target.write_text(json.dumps(self.to_dict(), indent=1, ensure_ascii=False, default=str) + "\n")
        except OSError as exc:
            raise ConfigurationError(f"cannot save the chat to {target}: {exc.strerror or exc}") from None
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str], model: Answerer | None = None) -> Chat:
        """A chat saved by `save`, to continue: with `model`, else the saved model built again by name."""
        source = Path(path).expanduser()
        try:
            data = json.loads(source.read_text())
        except OSError as exc:
            raise ConfigurationError(f"cannot read the chat file {source}: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise ConfigurationError(f"{source} is not a saved chat (not JSON: {exc})") from None
        if not isinstance(data, dict) or data.get("format") != FILE_FORMAT:
            raise ConfigurationError(f'{source} is not a saved chat (no "format": "{FILE_FORMAT}")')
        chat = cls(
            model if model is not None else _saved_model(data, source),
            system=data.get("system"),
            max_history=data.get("max_history"),
            name=str(data.get("name") or "default"),
        )
        chat.exchanges = [Exchange.from_dict(item, str(source)) for item in data.get("exchanges") or []]
        return chat


def _saved_model(data: dict[str, Any], source: Path) -> Answerer:
    name, options = data.get("model"), data.get("model_options") or {}
    if not isinstance(name, str) or not isinstance(options, dict) or _model_factory is None:
        raise ConfigurationError(f"{source} names no model to continue with: pass one, Chat.load(path, model=...)")
    try:
        return _model_factory(name, **options)
    except ConfigurationError as exc:
        raise ConfigurationError(
            f"{source}: cannot build its model {name!r} ({exc}); pass Chat.load(path, model=...)"
        ) from None


class ChatStream(TokenStream):
    """A chat's stream: the model's, passed through, with the `chat_turn` it answers."""

    def __init__(self, source: Iterator[Piece], inner: TokenStream, turn: ChatTurn) -> None:
        super().__init__(source, inner.model)
        self.prompt, self.options, self.chat_turn = inner.prompt, inner.options, turn


class AsyncChatStream(AsyncTokenStream):
    """Async twin of `ChatStream`."""

    def __init__(self, source: AsyncIterator[Piece], inner: AsyncTokenStream, turn: ChatTurn) -> None:
        super().__init__(source, inner.model)
        self.prompt, self.options, self.chat_turn = inner.prompt, inner.options, turn


def _reports(stream: TokenStream | AsyncTokenStream) -> Iterator[Piece]:
    """The model stream's usage and provider timings, passed on to the chat's stream after the chunks."""
    yield Usage(stream.usage.prompt_tokens, stream.usage.completion_tokens)
    if stream.provider_timings is not None:
        yield stream.provider_timings
