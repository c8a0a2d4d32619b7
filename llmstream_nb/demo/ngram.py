"""Counts and probabilities: an interpolated 4-gram model over token ids.

Smoothing is Witten-Bell interpolation, so every number is a real probability (each distribution sums
to one), unlike "stupid backoff". For a context ``h`` seen ``c(h)`` times with ``u(h)`` distinct next
tokens, ``λ(h) = c(h) / (c(h) + D·u(h))`` and::

    P(w | h) = λ(h)·c(h, w)/c(h) + (1 − λ(h))·P(w | shorter h)

down to the unigram distribution. Each level is stored in "backoff form": ``seen[h·V + w]`` holds the
first term and ``bow[h]`` holds ``1 − λ(h)``; contexts never seen have ``bow = 1``. Context codes are
integers (``z``, ``y·V + z``, ``(x·V + y)·V + z``), which hash and compare faster than tuples.

Two models share this layout: the whole-corpus :class:`CorpusModel` and a small :class:`TopicModel`
trained on the passages retrieved for one prompt. The topic model interpolates down to the corpus
model's trigram level (not to its own unigrams), so for any token outside a few explicit candidate
lists the mixture is a constant times one corpus bigram distribution. That is what lets
:meth:`CorpusModel.mixture_top` find the exact top-k of the mixture without scoring the whole vocabulary.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import repeat
from operator import add, mul, truediv

PAD, BOS_VERSE, BOS_PROSE, EOS = 0, 1, 2, 3
SPECIALS = ("", "<|verse|>", "<|prose|>", "<|endoftext|>")
#: Witten-Bell strength: higher moves more probability to shorter contexts (less verbatim copying).
WITTEN_BELL_D = 1.0
_LIST_MIN = 64


class Level:
    """One order of the model: seen-part probabilities, backoff weights, and each context's next tokens."""

    __slots__ = ("seen", "bow", "_keys", "_v")

    def __init__(self, seen: dict[int, float], bow: dict[int, float], vocab_size: int) -> None:
        self.seen = seen
        self.bow = bow
        self._keys = sorted(seen)  # keys h·V + w, so each context's next tokens are one contiguous run
        self._v = vocab_size

    def cont(self, h: int) -> list[int]:
        """The tokens seen after context ``h`` (by id), found by binary search in the sorted keys."""
        if h not in self.bow:
            return []
        base = h * self._v
        keys = self._keys
        lo = bisect_left(keys, base)
        hi = bisect_left(keys, base + self._v, lo)
        return [key - base for key in keys[lo:hi]]


def context_codes(a: int, b: int, c: int, vocab_size: int) -> tuple[int, int, int]:
    """Integer codes of the 1-, 2- and 3-token contexts ending ``a b c``."""
    h2 = b * vocab_size + c
    return c, h2, a * vocab_size * vocab_size + h2


def _keys(seq: Sequence[int], v: int) -> tuple[list[int], list[int], list[int]]:
    """Keys ``context·V + next`` of every position after the padding, for contexts of 1, 2 and 3 tokens."""
    ones = [c * v + w for c, w in zip(seq[2:], seq[3:])]
    twos = [(b * v + c) * v + w for b, c, w in zip(seq[1:], seq[2:], seq[3:])]
    threes = [((a * v + b) * v + c) * v + w for a, b, c, w in zip(seq, seq[1:], seq[2:], seq[3:])]
    return ones, twos, threes


def count_ngrams(
    sequences: Iterable[tuple[Sequence[int], float]], vocab_size: int
) -> tuple[list[tuple[dict[int, float], dict[int, float]]], dict[int, float]]:
    """Per order (1, 2, 3 tokens of context): counts of ``context·V + next`` and totals per context;
    plus next-token counts.

    Each sequence is a passage as ``[PAD, PAD, BOS, t1, ..., EOS]``; padding gives its first tokens
    contexts of their own, so the model learns how passages begin. Weight-1 sequences are counted with
    :class:`collections.Counter` in one pass (C speed); other weights are added one sequence at a time.
    """
    v = vocab_size
    context_of = v.__rfloordiv__
    plain: tuple[list[int], list[int], list[int]] = ([], [], [])
    plain_next: list[int] = []
    weighted: list[tuple[dict[int, float], dict[int, float]]] = [({}, {}), ({}, {}), ({}, {})]
    weighted_next: dict[int, float] = {}
    for seq, weight in sequences:
        keys = _keys(seq, v)
        if weight == 1.0:
            for acc, ks in zip(plain, keys):
                acc.extend(ks)
            plain_next.extend(seq[3:])
            continue
        for (counts, totals), ks in zip(weighted, keys):
            for key, n in Counter(ks).items():
                counts[key] = counts.get(key, 0.0) + n * weight
                h = key // v
                totals[h] = totals.get(h, 0.0) + n * weight
        for w in seq[3:]:
            weighted_next[w] = weighted_next.get(w, 0.0) + weight
    levels: list[tuple[dict[int, float], dict[int, float]]] = []
    for ks, (counts, totals) in zip(plain, weighted):
        if ks:
            plain_counts: dict[int, float] = Counter(ks)  # type: ignore[assignment]
            plain_totals: dict[int, float] = Counter(map(context_of, ks))  # type: ignore[assignment]
            for key, mass in counts.items():
                plain_counts[key] = plain_counts.get(key, 0) + mass
            for h, mass in totals.items():
                plain_totals[h] = plain_totals.get(h, 0) + mass
            counts, totals = plain_counts, plain_totals
        levels.append((counts, totals))
    unigram: dict[int, float] = Counter(plain_next)  # type: ignore[assignment]
    for w, mass in weighted_next.items():
        unigram[w] = unigram.get(w, 0) + mass
    return levels, unigram


def build_level(counts: dict[int, float], totals: dict[int, float], vocab_size: int, d: float = WITTEN_BELL_D) -> Level:
    """Witten-Bell backoff form of one order's counts.

    The per-key work runs through ``map``/``zip`` over builtins (C speed); only per-context work is Python.
    """
    context_of = vocab_size.__rfloordiv__
    distinct = Counter(map(context_of, counts))
    backoffs = list(map(mul, map(distinct.__getitem__, totals), repeat(d)))  # D·u(h)
    denominators = list(map(add, totals.values(), backoffs))  # c(h) + D·u(h)
    scale = dict(zip(totals, map(truediv, repeat(1.0), denominators)))  # λ(h)/c(h)
    bow = dict(zip(totals, map(truediv, backoffs, denominators)))  # 1 − λ(h)
    seen = dict(zip(counts, map(mul, counts.values(), map(scale.__getitem__, map(context_of, counts)))))
    return Level(seen, bow, vocab_size)


class TopicModel:
    """A small model of the passages closest to the prompt (weighted counts), over the corpus trigrams."""

    __slots__ = ("l1", "l2", "l3")

    def __init__(self, sequences: Iterable[tuple[Sequence[int], float]], vocab_size: int) -> None:
        levels, _ = count_ngrams(sequences, vocab_size)
        self.l1, self.l2, self.l3 = (build_level(counts, totals, vocab_size) for counts, totals in levels)


class CorpusModel:
    """The whole-corpus interpolated 4-gram model, with lazily cached sorted bigram distributions."""

    def __init__(self, sequences: Iterable[tuple[Sequence[int], float]], vocab_size: int) -> None:
        self.vocab_size = vocab_size
        levels, unigram_counts = count_ngrams(sequences, vocab_size)
        self.l1, self.l2, self.l3 = (build_level(counts, totals, vocab_size) for counts, totals in levels)
        total = sum(unigram_counts.values())
        self.unigram = [0.0] * vocab_size
        for w, n in unigram_counts.items():
            self.unigram[w] = n / total
        #: Every token that can be predicted, most probable first (ties by id, for determinism).
        self.unigram_order = tuple(sorted(unigram_counts, key=lambda w: (-self.unigram[w], w)))
        self._unigram_sorted = tuple(self.unigram[w] for w in self.unigram_order)
        self._top1: dict[int, tuple[tuple[int, ...], tuple[float, ...], bool]] = {}

    # -- point probabilities ---------------------------------------------------------------------------

    def prob1(self, c: int, w: int) -> float:
        """P(w | c): the interpolated bigram probability."""
        return self.l1.seen.get(c * self.vocab_size + w, 0.0) + self.l1.bow.get(c, 1.0) * self.unigram[w]

    def prob2(self, h2: int, c: int, w: int) -> float:
        """P(w | b c): the interpolated trigram probability (``h2`` is the code of ``b c``)."""
        return self.l2.seen.get(h2 * self.vocab_size + w, 0.0) + self.l2.bow.get(h2, 1.0) * self.prob1(c, w)

    # -- sorted distributions -----------------------------------------------------------------------------

    def top1(self, c: int, n: int) -> tuple[tuple[int, ...], tuple[float, ...], bool]:
        """At least the ``n`` likeliest next tokens after ``c``, with P(w | c), and whether that is all of them.

        Tokens never seen after ``c`` get ``bow(c)·P(w)``, so they rank as the unigram does: the best
        ``n`` of them are among the first ``n + |seen after c|`` of the unigram order. Cached per ``c``.
        """
        cached = self._top1.get(c)
        if cached is not None and (len(cached[0]) >= n or cached[2]):
            return cached
        n = max(n, _LIST_MIN, 2 * len(cached[0]) if cached else 0)
        cont = self.l1.cont(c)
        exclude = set(cont)
        bow = self.l1.bow.get(c, 1.0)
        seen, uni, v = self.l1.seen, self.unigram, self.vocab_size
        items = [(-(seen[c * v + w] + bow * uni[w]), w) for w in cont]
        outsiders = 0
        for w, p in zip(self.unigram_order, self._unigram_sorted):
            if w not in exclude:
                items.append((-(bow * p), w))
                outsiders += 1
                if outsiders >= n:
                    break
        items.sort()
        complete = outsiders == len(self.unigram_order) - len(exclude) and len(items) <= n
        del items[n:]
        result = tuple(w for _, w in items), tuple(-p for p, _ in items), complete
        self._top1[c] = result
        return result

    # -- the mixture with a topic model -------------------------------------------------------------------------

    def mixture_top(
        self,
        a: int,
        b: int,
        c: int,
        topic: TopicModel | None,
        topic_weight: float,
        k: int,
        banned: tuple[int, ...] = (),
    ) -> tuple[list[int], list[float]]:
        """The exact ``k`` most likely next tokens of ``π·P_topic + (1−π)·P_corpus`` after ``a b c``.

        Returns ids and probabilities, most likely first (ties by id). Probabilities are the mixture's
        own (they sum to one over the whole vocabulary); ``banned`` tokens are left out before the cut.

        Every token seen after ``a b c`` or ``b c`` in the corpus, or after any suffix of the context in
        the topic, is scored exactly. Every other token ``w`` has probability ``β·P(w | c)`` for one
        constant ``β``, so the rest of the top k comes, in order, from the cached bigram list of ``c``.
        """
        v = self.vocab_size
        h1, h2, h3 = context_codes(a, b, c, v)
        k1, k2, k3 = h1 * v, h2 * v, h3 * v
        g1s, g2s, g3s = self.l1.seen, self.l2.seen, self.l3.seen
        gb1, gb2, gb3 = self.l1.bow.get(h1, 1.0), self.l2.bow.get(h2, 1.0), self.l3.bow.get(h3, 1.0)
        uni = self.unigram
        explicit: dict[int, None] = dict.fromkeys(self.l3.cont(h3))
        explicit.update(dict.fromkeys(self.l2.cont(h2)))
        items: list[tuple[float, int]] = []
        if topic is None:
            for w in banned:
                explicit.pop(w, None)
            for w in explicit:
                items.append(
                    (
                        -(
                            g3s.get(k3 + w, 0.0)
                            + gb3 * (g2s.get(k2 + w, 0.0) + gb2 * (g1s.get(k1 + w, 0.0) + gb1 * uni[w]))
                        ),
                        w,
                    )
                )
            beta = gb3 * gb2
        else:
            pi = topic_weight
            rho = 1.0 - pi
            t1s, t2s, t3s = topic.l1.seen, topic.l2.seen, topic.l3.seen
            tb1, tb2, tb3 = topic.l1.bow.get(h1, 1.0), topic.l2.bow.get(h2, 1.0), topic.l3.bow.get(h3, 1.0)
            explicit.update(dict.fromkeys(topic.l3.cont(h3)))
            explicit.update(dict.fromkeys(topic.l2.cont(h2)))
            explicit.update(dict.fromkeys(topic.l1.cont(h1)))
            for w in banned:
                explicit.pop(w, None)
            for w in explicit:
                base = g2s.get(k2 + w, 0.0) + gb2 * (g1s.get(k1 + w, 0.0) + gb1 * uni[w])
                p = rho * (g3s.get(k3 + w, 0.0) + gb3 * base) + pi * (
                    t3s.get(k3 + w, 0.0) + tb3 * (t2s.get(k2 + w, 0.0) + tb2 * (t1s.get(k1 + w, 0.0) + tb1 * base))
                )
                items.append((-p, w))
            beta = (pi * tb3 * tb2 * tb1 + rho * gb3) * gb2
        n = k + len(explicit) + len(banned)
        while True:
            ids, probs, complete = self.top1(h1, n)
            rest: list[tuple[float, int]] = []
            for w, p in zip(ids, probs):
                if w not in explicit and w not in banned:
                    rest.append((-(beta * p), w))
                    if len(rest) >= k:
                        break
            if len(rest) >= k or complete:
                break
            n = 2 * len(ids)
        items.sort()
        items.extend(rest)
        items.sort()
        del items[k:]
        return [w for _, w in items], [-p for p, _ in items]

    def mixture_prob(self, a: int, b: int, c: int, w: int, topic: TopicModel | None, topic_weight: float) -> float:
        """P(w | a b c) under the mixture (slow path, for tests and inspection)."""
        v = self.vocab_size
        h1, h2, h3 = context_codes(a, b, c, v)
        base = self.prob2(h2, c, w)
        p = self.l3.seen.get(h3 * v + w, 0.0) + self.l3.bow.get(h3, 1.0) * base
        if topic is None:
            return p
        t1, t2, t3 = topic.l1, topic.l2, topic.l3
        p1 = t1.seen.get(h1 * v + w, 0.0) + t1.bow.get(h1, 1.0) * base
        p2 = t2.seen.get(h2 * v + w, 0.0) + t2.bow.get(h2, 1.0) * p1
        pt = t3.seen.get(h3 * v + w, 0.0) + t3.bow.get(h3, 1.0) * p2
        return topic_weight * pt + (1.0 - topic_weight) * p
