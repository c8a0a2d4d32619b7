"""Keeping the answer on topic: which passages does the prompt ask about, and in which form?

Passages are ranked with BM25 over their words, title (counted twice) and keywords (three times).
Words are lowercased and lightly stemmed ("trains" → "train", "sparkling" → "sparkl") so a prompt
does not have to use a passage's exact word forms. Words that only say what to write ("write me a
song about ...") are dropped from the query, and decide the form instead: verse or prose.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from .corpus import Passage

_WORD = re.compile(r"[^\W\d_]+")

# Function words and instruction words: they say nothing about the topic.
STOPWORDS = frozenset(
    """
    a an the and or but if then so of in on at to for from by with without about into onto over under
    is are was were be been being am do does did have has had i me my mine we us our you your yours he
    him his she her it its they them their this that these those there here what which who whom whose
    how why when where can could would should will shall may might must not no yes very just also too
    as than more most some any all each every few many much such own same other only please kindly
    write writing written tell give make compose create generate produce share describe explain say
    short long little small quick brief simple new nice good one two three four five six first second
    verse verses song songs poem poems poetry rhyme rhymes rhyming haiku haikus lyric lyrics sonnet
    limerick ballad stanza stanzas ode jingle lullaby chorus prose story stories paragraph paragraphs
    essay text piece article note words sentence sentences something thing things let lets like want
    """.split()
)

VERSE_WORDS = re.compile(
    r"\b(verses?|songs?|poems?|poetry|poetic|rhym\w*|haikus?|lyrics?|sonnets?|limericks?|ballads?|"
    r"stanzas?|odes?|jingles?|lullab\w+|shant\w+|chants?|hymns?|raps?)\b",
    re.IGNORECASE,
)
_STANZAS = re.compile(
    r"\b(\d+|one|two|three|four|five|six)[-\s]+(?:verses?|stanzas?)\b(?!\s*(?:long|lines?))", re.IGNORECASE
)
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}

BM25_K1 = 1.2
BM25_B = 0.75
#: How many passages make up a topic model.
TOPIC_PASSAGES = 4
#: Passages scoring at least this fraction of the best match may be drawn for the topic.
NEAR_BEST = 0.75


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light, deterministic English stemmer: enough to match "bubbles" with "bubble" and "fizzy" with "fizz"."""
    w = word.lower()
    for suffix in ("ingly", "ings", "ing", "edly", "ed", "ies", "es", "s", "ly", "y", "e"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)] + ("i" if suffix == "ies" else "")
            break
    if len(w) >= 4 and w.endswith("e"):
        w = w[:-1]  # "trees" -> "tree" -> "tre", like "tree"
    if len(w) >= 4 and w[-1] == w[-2] and w[-1] not in "aeiou":
        w = w[:-1]  # "stopping" -> "stopp" -> "stop"; "fizzy" and "fizz" both -> "fiz"
    return w


def terms(text: str) -> list[str]:
    """Stemmed content words of ``text`` in order (stopwords dropped)."""
    return [stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 1]


def detect_form(prompt: str, system: str | None = None) -> str:
    """``"verse"`` when the prompt (or else the system prompt) asks for a song, poem, rhyme...; else ``"prose"``."""
    for text in (prompt, system or ""):
        if VERSE_WORDS.search(text):
            return "verse"
    return "prose"


def requested_stanzas(prompt: str) -> int | None:
    """How many verses/stanzas the prompt asks for ("a 1 verse song", "two stanzas"), if it says."""
    m = _STANZAS.search(prompt)
    if m is None:
        return None
    word = m.group(1).lower()
    count = int(word) if word.isdigit() else _NUMBER_WORDS[word]
    return count if count > 0 else None


@dataclass(slots=True, frozen=True)
class Hit:
    """A passage index and how well it matches the query."""

    index: int
    score: float


class PassageIndex:
    """BM25 over the passages' text, title and keywords."""

    def __init__(self, passages: Sequence[Passage]) -> None:
        self.passages = tuple(passages)
        postings: dict[str, list[tuple[int, int]]] = {}
        lengths: list[int] = []
        for i, p in enumerate(self.passages):
            words = terms(p.text) + terms(p.title) * 2 + terms(" ".join(p.keywords)) * 3
            lengths.append(len(words))
            freqs: dict[str, int] = {}
            for t in words:
                freqs[t] = freqs.get(t, 0) + 1
            for t, n in freqs.items():
                postings.setdefault(t, []).append((i, n))
        self._postings = postings
        self._lengths = lengths
        self._avg_length = (sum(lengths) / len(lengths)) if lengths else 1.0

    def search(self, query: str, form: str | None = None) -> list[Hit]:
        """Passages matching ``query`` (of ``form`` when given), best first; ties keep corpus order."""
        n_docs = len(self.passages)
        scores: dict[int, float] = {}
        for t in dict.fromkeys(terms(query)):
            posting = self._postings.get(t)
            if not posting:
                continue
            idf = math.log(1.0 + (n_docs - len(posting) + 0.5) / (len(posting) + 0.5))
            for i, tf in posting:
                if form is not None and self.passages[i].form != form:
                    continue
                norm = BM25_K1 * (1.0 - BM25_B + BM25_B * self._lengths[i] / self._avg_length)
                scores[i] = scores.get(i, 0.0) + idf * tf * (BM25_K1 + 1.0) / (tf + norm)
        return [Hit(i, s) for i, s in sorted(scores.items(), key=lambda item: (-item[1], item[0]))]

    def choose(
        self, prompt: str, form: str, rng: random.Random | None, count: int = TOPIC_PASSAGES, sharpness: float = 2.0
    ) -> list[tuple[int, float]]:
        """The passages to build a topic model from, as (index, weight in (0, 1]), in corpus order.

        Among the passages of the requested form that match nearly as well as the best one (within
        ``NEAR_BEST``), ``count`` are drawn at random, more likely the better they match, so different
        seeds draw on different passages of the same topic; with ``rng=None`` the best ``count`` are
        taken (greedy decoding must not depend on a seed). Weights are ``(score / best) ** sharpness``.
        If fewer than two passages of the form match, the best of the other form join at half score;
        if nothing matches at all, a few passages of the form are picked at random.
        """
        hits = self.search(prompt, form)
        scored = [(h.index, h.score) for h in hits if h.score >= NEAR_BEST * hits[0].score]
        if len(scored) > count:
            scored = _weighted_sample(scored, count, rng) if rng is not None else scored[:count]
        elif len(scored) < count:
            scored += [(h.index, h.score) for h in hits[len(scored) : count]]
        if len(scored) < 2:
            others = [h for h in self.search(prompt) if self.passages[h.index].form != form]
            scored += [(h.index, h.score * 0.5) for h in others[: count - len(scored)]]
        if not scored:
            pool = [i for i, p in enumerate(self.passages) if p.form == form] or list(range(len(self.passages)))
            return [(i, 1.0) for i in sorted((rng or random.Random(0)).sample(pool, min(3, len(pool))))]
        best = max(score for _, score in scored)
        return sorted((i, (score / best) ** sharpness) for i, score in scored)


def _weighted_sample(items: list[tuple[int, float]], count: int, rng: random.Random) -> list[tuple[int, float]]:
    """``count`` distinct items drawn one by one with probability proportional to their score."""
    pool = list(items)
    picked: list[tuple[int, float]] = []
    while pool and len(picked) < count:
        total = sum(score for _, score in pool)
        x = rng.random() * total
        for j, (_, score) in enumerate(pool):
            x -= score
            if x < 0 or j == len(pool) - 1:
                picked.append(pool.pop(j))
                break
    return picked
