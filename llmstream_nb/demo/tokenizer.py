"""A deterministic GPT-like tokenizer for the demo model.

Real models' tokens are pieces of text, not words: a word carries its leading space (``" water"``),
punctuation stands alone (``","``), every newline is its own token, and rarer words split into sub-word
pieces (``"Spark" + "ling"``). The demo model streams the same kind of pieces, so what a person sees in
a notebook (colours per token, token counts, timings) looks like what a real provider sends.

How text is cut:

1. A regular expression pre-splits the text, GPT-2 style, into words with at most one leading space,
   groups of up to three digits, single punctuation marks (with their leading space), newlines, and runs
   of other whitespace. Nothing is dropped, so ``"".join(tokenize(text)) == text`` always.
2. A word stays whole when its exact form (case and leading space included) is frequent in the corpus,
   or when it is short. Otherwise it splits at a common English suffix when the stem is a known word
   (``" bubble" + "s"``), and a long word with no such suffix splits after a known prefix (or its first
   four letters), recursively.

The vocabulary is learned from the packaged corpus on first use (a fraction of a second), so importing
this module stays cheap. Nothing here depends on Python's salted ``hash()``.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterable

PRE_SPLIT = re.compile(
    r"""
    ['\u2019](?:s|t|re|ve|m|ll|d)(?![^\W\d_])  # contractions: 's 't 're 've 'm 'll 'd
    | \ ?[^\W\d_]+                              # a word, with at most one leading space
    | \ ?\d{1,3}                                # digits, in groups of up to three
    | \ ?\.\.\.                                 # an ellipsis stays one piece
    | \ ?(?:[^\w\s]|_)                          # one punctuation mark or symbol
    | \n                                        # every newline alone
    | [^\S\n]+(?!\S)                            # spaces before a word, less the one the word takes
    | [^\S\n]+                                  # any other run of spaces and tabs
    | .                                         # anything else, one character at a time
    """,
    re.VERBOSE | re.DOTALL,
)

#: Whole-word threshold: an exact word form seen at least this often in the corpus is one token.
MIN_WHOLE_COUNT = 4
#: Words of at most this many letters are never split.
MAX_UNSPLIT_LETTERS = 4
#: A suffix is split off only when at least this many letters of known word remain.
MIN_STEM_LETTERS = 4
#: Words longer than this with no suffix to split at are cut after a prefix.
LONG_WORD_LETTERS = 8
#: Longer than any word in a dictionary: beyond this, a "word" is cut in runs without looking for stems.
MAX_WORD_LETTERS = 64

# Common English endings, longest first. A rare word splits at one of these, e.g. "Spark" + "ling".
SUFFIXES = tuple(
    sorted(
        (
            "ling",
            "ings",
            "ing",
            "ness",
            "ments",
            "ment",
            "tions",
            "tion",
            "sion",
            "ably",
            "able",
            "ible",
            "less",
            "fully",
            "ful",
            "ously",
            "ous",
            "ive",
            "ity",
            "ies",
            "ied",
            "ier",
            "iest",
            "est",
            "ers",
            "er",
            "ed",
            "ly",
            "es",
            "s",
            "ish",
            "ism",
            "ist",
            "ists",
            "ward",
            "wards",
            "like",
            "ship",
        ),
        key=lambda s: (-len(s), s),
    )
)


class Tokenizer:
    """Splits text into GPT-like pieces using word frequencies learned from a corpus."""

    def __init__(self, whole: Iterable[str], stems: Iterable[str]) -> None:
        self._whole = frozenset(whole)
        self._stems = frozenset(stems)
        self._cache: dict[str, tuple[str, ...]] = {}

    @classmethod
    def from_texts(cls, texts: Iterable[str], min_whole_count: int = MIN_WHOLE_COUNT) -> Tokenizer:
        """Learn which word forms stay whole (frequent ones) and which stems are known words."""
        forms: Counter[str] = Counter()
        for text in texts:
            forms.update(m for m in PRE_SPLIT.findall(text) if m.strip().isalpha())
        whole = [form for form, n in forms.items() if n >= min_whole_count]
        lowered: Counter[str] = Counter()
        for form, n in forms.items():
            lowered[form.strip().lower()] += n
        stems = [word for word, n in lowered.items() if n >= 2 and len(word) >= 3]
        return cls(whole, stems)

    def tokenize(self, text: str) -> list[str]:
        """The pieces of ``text``; joining them gives ``text`` back exactly."""
        out: list[str] = []
        cache = self._cache
        for chunk in PRE_SPLIT.findall(text):
            pieces = cache.get(chunk)
            if pieces is None:
                pieces = self._split_chunk(chunk)
                if len(cache) < 200_000:
                    cache[chunk] = pieces
            if len(pieces) == 1:
                out.append(pieces[0])
            else:
                out.extend(pieces)
        return out

    def count_tokens(self, text: str) -> int:
        """How many pieces ``tokenize(text)`` returns."""
        return len(self.tokenize(text))

    # -- splitting one pre-split chunk ---------------------------------------------------------------------

    def _split_chunk(self, chunk: str) -> tuple[str, ...]:
        lead = " " if chunk.startswith(" ") else ""
        word = chunk[len(lead) :]
        if not word.isalpha() or chunk in self._whole or len(word) <= MAX_UNSPLIT_LETTERS:
            return (chunk,)
        return tuple(self._split_word(lead, word))

    def _split_word(self, lead: str, word: str) -> list[str]:
        """Pieces for a rare word: known stem + suffix, or prefix + rest; the first piece keeps the space.

        A loop, not recursion (a 10,000-letter word would pass Python's recursion limit), and a word longer
        than any real one is cut in plain runs of letters, in time linear in its length."""
        if len(word) > MAX_WORD_LETTERS:
            runs = [word[i : i + MAX_UNSPLIT_LETTERS] for i in range(0, len(word), MAX_UNSPLIT_LETTERS)]
            return [lead + runs[0], *runs[1:]]
        pieces: list[str] = []
        while True:
            if lead + word in self._whole or len(word) <= MAX_UNSPLIT_LETTERS:
                return [*pieces, lead + word]
            cut = self._suffix_cut(word)
            if cut is not None:
                return [*pieces, lead + word[:cut], word[cut:]]
            if len(word) <= LONG_WORD_LETTERS or word.lower() in self._stems:
                return [*pieces, lead + word]
            cut = self._prefix_cut(word)
            pieces.append(lead + word[:cut])
            lead, word = "", word[cut:]

    def _suffix_cut(self, word: str) -> int | None:
        """Where a common suffix starts, if what is left is a known word (``bubble|s``, ``stir|ring``)."""
        lower = word.lower()
        stems = self._stems
        for restore_e in (False, True):
            for suffix in SUFFIXES:
                cut = len(word) - len(suffix)
                if cut < MIN_STEM_LETTERS or not lower.endswith(suffix):
                    continue
                stem = lower[:cut]
                if restore_e:
                    if stem + "e" in stems:
                        return cut
                elif stem in stems:
                    return cut
                elif stem[-1] == stem[-2] and stem[-1] not in "aeiou" and stem[:-1] in stems:
                    return cut - 1
        return None

    def _prefix_cut(self, word: str) -> int:
        """After the longest known prefix of 4+ letters that leaves 3+, else after the first 4 letters."""
        lower = word.lower()
        for cut in range(len(word) - 3, MIN_STEM_LETTERS - 1, -1):
            if lower[:cut] in self._stems:
                return cut
        return 4


_default: Tokenizer | None = None
_default_lock = threading.Lock()


def default_tokenizer() -> Tokenizer:
    """The tokenizer learned from the packaged corpus, built once per process on first use."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                from .corpus import load_passages

                _default = Tokenizer.from_texts(p.text for p in load_passages())
    return _default


def tokenize(text: str) -> list[str]:
    """GPT-like pieces of ``text``: words with their leading space, punctuation, newlines, sub-words."""
    return default_tokenizer().tokenize(text)


def count_tokens(text: str) -> int:
    """The number of pieces in ``tokenize(text)`` (what the demo model reports as usage)."""
    return default_tokenizer().count_tokens(text)
