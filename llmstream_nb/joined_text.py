"""The answer's text, joined from the chunks already held rather than from a second list of pieces.

A stream and its view each used to keep the text's pieces in a list of their own, next to the list
of chunks that holds the same strings: a pointer and its growth slack, ~9 bytes a chunk for each list,
for as long as a long answer is kept (bench section 5). Here the text is joined from the chunks
when it is read, and only the chunks not yet joined are visited. Like joining a list of pieces, a
read copies the text once: read it when it is needed, not after every chunk.
"""

from __future__ import annotations

from itertools import islice

from .chunks import Chunk


class JoinedText:
    """The text of the chunks of one kind in a list that only grows."""

    __slots__ = ("_chunks", "_joined", "_kind", "_upto")

    def __init__(self, chunks: list[Chunk], kind: str) -> None:
        self._chunks = chunks
        self._kind = kind
        self._joined = ""
        self._upto = 0  # chunks[:_upto] are in _joined

    def __str__(self) -> str:
        chunks, end = self._chunks, len(self._chunks)
        if self._upto < end:
            kind = self._kind
            new = [c.text for c in islice(chunks, self._upto, end) if c.kind == kind and c.text]
            if new:
                self._joined = "".join([self._joined, *new])
            self._upto = end
        return self._joined
