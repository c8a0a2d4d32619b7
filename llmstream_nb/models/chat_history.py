"""What a conversation keeps: its exchanges, and the messages sent for the next turn.

Kept apart from `Chat` (which streams) so the rules are plain data, easy to read and test:

- an exchange is one prompt and the answer it got, `done`, or `stopped` / `error` with the
  answer as far as it got (what the person saw);
- the history sent with a new prompt is the exchanges before it, oldest first, leaving out
  the ones without any answer text (a provider cannot take an empty assistant turn) and,
  with `max_history=N`, all but the last N;
- an exchange may name the `cell` that asked it, so asking again from that cell replaces it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from ..errors import ConfigurationError
from ..options import Message

DONE, STOPPED, ERROR = "done", "stopped", "error"
OUTCOMES = (DONE, STOPPED, ERROR)


@dataclass
class Exchange:
    """One prompt and its answer. `status` says whether the answer ended (`done`) or not."""

    prompt: str
    answer: str = ""
    status: str = DONE
    #: The error of a failed answer, one redacted line ("" otherwise).
    error: str = ""
    #: The model that answered ("provider:model").
    model: str = ""
    #: What asked it (a notebook cell's id), so asking again from there replaces it; None for calls from code.
    cell: str | None = None

    def messages(self) -> list[Message]:
        """The user and assistant messages; an answer that did not end carries its `status`."""
        answer: dict[str, str] = {"role": "assistant", "content": self.answer}
        if self.status != DONE:
            answer["status"] = self.status
        return [{"role": "user", "content": self.prompt}, answer]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; the optional fields only when set."""
        always = ("prompt", "answer", "status")
        return {name: value for name, value in asdict(self).items() if name in always or value not in ("", None)}

    @classmethod
    def from_dict(cls, data: Any, where: str) -> Exchange:
        """An exchange read from a saved chat; a malformed one is one clear line."""
        known = {f.name for f in fields(cls)}
        if not isinstance(data, Mapping) or not isinstance(data.get("prompt"), str):
            raise ConfigurationError(f'{where}: each exchange needs a string "prompt", got {data!r:.80}')
        values = {k: v for k, v in data.items() if k in known}
        exchange = cls(**values)
        if exchange.status not in OUTCOMES or not isinstance(exchange.answer, str):
            raise ConfigurationError(f"{where}: exchange status must be one of {', '.join(OUTCOMES)}, got {data!r:.80}")
        return exchange


def conversation_markdown(name: str, system: str | None, exchanges: Sequence[Exchange]) -> str:
    """The conversation as Markdown, for a person to paste: a heading per turn, answers as written."""
    parts = [f"# Conversation {name}"]
    if system:
        parts.append(f"**System:** {system}")
    for number, exchange in enumerate(exchanges, 1):
        parts.append(f"## Turn {number}\n\n**You:** {exchange.prompt}")
        who = f"**{exchange.model or 'Assistant'}:**"
        ended = (
            ""
            if exchange.status == DONE
            else f"\n\n*({exchange.status}{': ' + exchange.error if exchange.error else ''})*"
        )
        parts.append(f"{who}\n\n{exchange.answer}{ended}")
    return "\n\n".join(parts) + "\n"


def history(exchanges: Sequence[Exchange], max_history: int | None) -> tuple[list[Message], int]:
    """The messages that carry `exchanges` to the model, and how many exchanges `max_history` left out."""
    sendable = [e for e in exchanges if e.answer]
    if max_history is None:
        kept = sendable
    else:
        kept = sendable[max(0, len(sendable) - max_history) :] if max_history > 0 else []
    messages: list[Message] = []
    for exchange in kept:
        messages += [{"role": "user", "content": exchange.prompt}, {"role": "assistant", "content": exchange.answer}]
    return messages, len(sendable) - len(kept)


def request_input(system: str | None, past: list[Message], prompt: str) -> str | list[Message]:
    """What the model is asked: the prompt alone on a fresh chat (any model takes a string), else the messages."""
    if not system and not past:
        return prompt
    head: list[Message] = [{"role": "system", "content": system}] if system else []
    return [*head, *past, {"role": "user", "content": prompt}]


def index_of_cell(exchanges: Sequence[Exchange], cell: str | None) -> int | None:
    """Where the exchange asked from `cell` is, or None (no cell given, or none asked from it)."""
    if cell is None:
        return None
    return next((i for i, e in enumerate(exchanges) if e.cell == cell), None)
