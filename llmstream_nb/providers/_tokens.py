"""Turning a local model's tokens into text pieces, and its logits into probabilities.

Two jobs the llama.cpp provider needs and that are easiest to test apart from any model:

- `Utf8Pieces`: a token is a run of bytes, not of characters. A character such as "é" or an emoji
  may be split across two or three tokens, and decoding each token alone would show U+FFFD where it
  was cut. The decoder holds back the bytes of an unfinished character and hands out text only when
  it is whole, saying which token ids the text covers.
- `Distribution`: log-probabilities after temperature, from one row of logits (the sampled
  position's), so asking for logprobs costs one pass over the vocabulary per token, and sampling
  from the same numbers, so the reported probability is the one the token was drawn with.
- `StopText`: holds back text that may be the start of a stop sequence, and cuts the answer where
  one appears, keeping whole tokens where it can.
"""

from __future__ import annotations

import codecs
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class Piece:
    """Text that is whole, with the ids of the tokens it came from."""

    text: str
    token_ids: tuple[int, ...]


class Utf8Pieces:
    """Feed token bytes one token at a time; get back whole text and the ids that made it.

    A token that ends mid-character yields nothing; the next token that completes the character
    yields the joined text with both ids. `flush` returns the ids left at the end.
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._ids: list[int] = []
        self._text = ""

    def feed(self, token_id: int, data: bytes) -> Piece | None:
        """The text this token completes, or None while a character is unfinished.

        Each token belongs to exactly one piece, so a piece's probability is the product of its tokens'.
        """
        self._ids.append(token_id)
        self._text += self._decoder.decode(data)
        if self._decoder.getstate()[0]:  # bytes of an unfinished character are held back
            return None
        return self._take()

    def flush(self) -> Piece | None:
        """What is left when the answer ends. Bytes of a character the answer stopped in the middle of
        (`max_tokens` reached) are dropped, not shown as U+FFFD: they never were a character."""
        self._decoder.reset()
        return self._take() if self._ids else None

    def _take(self) -> Piece:
        piece = Piece(self._text, tuple(self._ids))
        self._ids, self._text = [], ""
        return piece


def token_label(data: bytes) -> str:
    """A token's bytes as a label for a list of alternatives: text where it decodes, else `\\xNN` escapes
    (never U+FFFD, so a half character reads as the bytes it is)."""
    return data.decode("utf-8", errors="backslashreplace")


class Distribution:
    """The next-token distribution at one position, after temperature.

    `temperature <= 0` means greedy decoding: the sampled token is the most likely one, and the
    probabilities reported are the model's own (temperature 1), since a zero temperature would make
    every probability 0 or 1 and teach nothing.
    """

    def __init__(self, logits: npt.NDArray[np.float32], temperature: float) -> None:
        import numpy as np

        self._np = np
        self.greedy = temperature <= 0
        scale = 1.0 if self.greedy else 1.0 / temperature
        self.scaled = logits.astype(np.float64) * scale
        self._log_norm: float | None = None

    @property
    def log_norm(self) -> float:
        """log(sum(exp(scaled))), computed once and only when a probability is asked for."""
        if self._log_norm is None:
            np = self._np
            top = float(self.scaled.max())
            self._log_norm = top + math.log(float(np.exp(self.scaled - top).sum()))
        return self._log_norm

    def logprob(self, token_id: int) -> float:
        return float(self.scaled[token_id]) - self.log_norm

    def top(self, k: int) -> list[tuple[int, float]]:
        """The `k` most likely tokens with their log-probabilities, most likely first."""
        np = self._np
        k = max(0, min(k, self.scaled.shape[0]))
        if k == 0:
            return []
        ids = np.argpartition(self.scaled, -k)[-k:]
        ids = ids[np.argsort(-self.scaled[ids], kind="stable")]
        norm = self.log_norm
        return [(int(i), float(self.scaled[i]) - norm) for i in ids]

    def sample(self, rng: np.random.Generator, top_k: int = 0, top_p: float = 1.0) -> int:
        """Draw a token: the argmax when greedy, else from the `top_k` most likely (0: all) within `top_p`."""
        np = self._np
        if self.greedy:
            return int(np.argmax(self.scaled))
        scaled = self.scaled
        size = scaled.shape[0]
        ids = np.argpartition(scaled, -top_k)[-top_k:] if 0 < top_k < size else np.arange(size)
        candidates = scaled[ids]
        order = np.argsort(-candidates, kind="stable")
        ids, candidates = ids[order], candidates[order]
        weights = np.exp(candidates - candidates[0])
        weights /= weights.sum()
        if top_p < 1.0:
            keep = int(np.searchsorted(np.cumsum(weights), top_p)) + 1
            ids, weights = ids[:keep], weights[:keep] / weights[:keep].sum()
        return int(ids[rng.choice(len(ids), p=weights)])


class StopText:
    """Stop sequences over streamed text: hold back what may begin one, cut where one appears.

    `push` takes the next whole piece and returns the pieces that are safe to show; once a stop
    sequence appears, `stopped` is True and the text from the stop sequence on is never shown.
    """

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = tuple(s for s in stops if s)
        self.stopped = False
        self._held: list[Piece] = []

    def push(self, piece: Piece) -> list[Piece]:
        if self.stopped:
            return []
        if not self.stops:
            return [piece]
        self._held.append(piece)
        joined = "".join(p.text for p in self._held)
        found = [i for i in (joined.find(s) for s in self.stops) if i >= 0]
        if found:
            self.stopped = True
            return self._take(min(found), cut=True)
        return self._take(self._safe_end(joined), cut=False)

    def flush(self) -> list[Piece]:
        """At the end of the answer, what was held back is shown after all."""
        held, self._held = self._held, []
        return held

    def _safe_end(self, joined: str) -> int:
        """Where the longest tail of `joined` that begins some stop sequence starts (len if none)."""
        for start in range(max(0, len(joined) - max(len(s) for s in self.stops) + 1), len(joined)):
            tail = joined[start:]
            if any(s.startswith(tail) for s in self.stops):
                return start
        return len(joined)

    def _take(self, end: int, cut: bool) -> list[Piece]:
        """Release whole pieces ending at or before `end`; if `cut`, also the part of the next one before it."""
        out: list[Piece] = []
        used = 0
        while self._held and used + len(self._held[0].text) <= end:
            piece = self._held.pop(0)
            used += len(piece.text)
            out.append(piece)
        if cut:
            if self._held and end > used:
                first = self._held[0]
                out.append(Piece(first.text[: end - used], first.token_ids))
            self._held = []
        return out
