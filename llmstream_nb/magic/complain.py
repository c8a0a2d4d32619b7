"""The one line on stderr a fixable mistake in a cell gets (the magic and its runner both say them)."""

from __future__ import annotations

import sys

from ..errors import one_line

PREFIX = "llmstream: "


def complain(message: str) -> None:
    """The one line a fixable mistake gets, on stderr."""
    print(PREFIX + one_line(message, limit=600), file=sys.stderr)
