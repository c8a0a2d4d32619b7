"""`Status`: where a view's stream is, one name per state instead of string literals in many files.

A `str` enum, so `view.status == "done"` keeps working and the value travels to the page as text.
"""

from __future__ import annotations

from enum import Enum


class Status(str, Enum):
    WAITING = "waiting"
    STREAMING = "streaming"
    DONE = "done"
    STOPPED = "stopped"
    ERROR = "error"

    def __str__(self) -> str:  # the value, on every Python (3.12 changed what a str-mixin enum formats as)
        return self.value

    @property
    def active(self) -> bool:
        """Not ended yet: waiting for the first token, or streaming."""
        return self in (Status.WAITING, Status.STREAMING)
