"""The conversations of `%%llmstream --chat NAME` cells, and which cell asked what.

A conversation is made on first use with the cell's model and system prompt. A later cell
that names a model (-m, --llm) or a system prompt changes it from that turn on; one that
does not keeps what the conversation has.

Re-running a cell replaces that cell's own exchange, in place, answered with the exchanges
before it: the conversation reads as the notebook shows it, whatever order the cells ran in.
A cell is known by the id JupyterLab and Notebook 7 send with each execute request
(`metadata.cellId`). Without one (a terminal, an old front end), a cell whose text is exactly
that of the cell that asked the last exchange counts as that cell run again.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ..models import Chat, Model
from .arguments import MagicUsageError

DEFAULT_CHAT = "default"


class ChatBook:
    """The magic's conversations by name."""

    def __init__(self) -> None:
        self.chats: dict[str, Chat] = {}

    def open(self, name: str, model: Model, *, system: str | None) -> Chat:
        """The conversation `name`, made now if new; the cell's model, and its system prompt if it names one,
        apply from this turn on."""
        chat = self.chats.get(name)
        if chat is None:
            chat = self.chats[name] = model.chat(system=system, name=name)
            return chat
        chat.model = model
        if system is not None:
            chat.system = system or None
        return chat

    def forget(self, name: str) -> Chat:
        """Drop the conversation `name` (the next --chat cell with that name starts afresh)."""
        try:
            return self.chats.pop(name)
        except KeyError:
            known = ", ".join(sorted(self.chats)) or "none yet"
            raise MagicUsageError(f"there is no conversation {name!r} (conversations: {known})") from None

    def table(self) -> str:
        """`%llmstream chats`: one line per conversation (name, model, turns)."""
        if not self.chats:
            return "no conversations yet: start one with %%llmstream --chat (or -c NAME)"
        rows = [("name", "model", "turns")] + [
            (name, chat.model.name, str(chat.turns)) for name, chat in sorted(self.chats.items())
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(2)]
        return "\n".join(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]}" for row in rows)


def cell_key(shell: Any, chat: Chat, cell: str) -> str:
    """What identifies the asking cell to `chat`: its notebook cell id, else its text (see the module doc)."""
    cell_id = notebook_cell_id(shell)
    if cell_id is not None:
        return f"cell:{cell_id}"
    text = "text:" + hashlib.sha256(cell.encode()).hexdigest()[:16]
    same = [e.cell for e in chat.exchanges if e.cell and e.cell.split("#")[0] == text]
    if same and chat.exchanges[-1].cell == same[-1]:
        return same[-1]  # the last exchange asked again: that cell run again
    return f"{text}#{len(same) + 1}" if same else text  # asked before, earlier on: a new turn


def notebook_cell_id(shell: Any) -> str | None:
    """The running cell's id from the execute request's metadata (`cellId`), when the front end sent one."""
    kernel = getattr(shell, "kernel", None)
    get_parent = getattr(kernel, "get_parent", None)
    parent = get_parent("shell") if callable(get_parent) else None
    metadata = parent.get("metadata") if isinstance(parent, dict) else None
    value = metadata.get("cellId") if isinstance(metadata, dict) else None
    return value if isinstance(value, str) and value else None
