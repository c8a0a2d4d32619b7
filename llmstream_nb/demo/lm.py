"""The built-in offline ``demo`` model: a small real language model that needs no key, network or download.

It is an interpolated 4-gram model over GPT-like tokens (see :mod:`.tokenizer`), trained on first use
from the corpus shipped in the package (see :mod:`.corpus`). To stay on the prompt's topic it mixes a
model of the passages closest to the prompt (:mod:`.retrieval`) with a model of the whole corpus (of the
requested form), 0.8 : 0.2, and 0.97 : 0.03 for the first three tokens so an answer opens the way one of
those passages does. It answers in verse when asked for a song, poem, rhyme or haiku, in prose otherwise,
and stops after the first stanza when asked for "a 1 verse song" (or after N for "N verses").

What the numbers mean, since the teaching views colour tokens by them:

* The model's next-token distribution is the mixture ``π·P_topic + (1−π)·P_corpus`` (both Witten-Bell
  interpolated; see :mod:`.ngram`). Sampling uses its ``top_k`` most likely tokens (``top_k <= 0``: all),
  renormalised and sharpened by temperature: ``q(w) ∝ P(w)^(1/T)``.
* ``Token.logprob`` is ``log q(token)`` in exactly that distribution, and ``Token.top_logprobs`` lists
  its most likely entries; with ``top_logprobs >= top_k`` they are all of it, so their ``exp`` sums to 1.
* Temperature 0 is greedy (the most likely token; ties go to the older token in the vocabulary), and
  its logprobs are reported at temperature 1 (a point mass would teach nothing).
* While the answer may not end yet (``min_tokens``, and a floor so it is never a lone fragment:
  ``PROSE_FLOOR_TOKENS`` of prose, or two lines of verse, four when the prompt counts verses),
  end-of-passage is left out of the candidates before the top-k cut, and the reported distribution is
  renormalised without it. Likewise a verse may not break its first stanza (a second ``"\n"`` in a
  row) before that floor, and no answer has a third ``"\n"`` in a row (the corpus has none; backoff
  alone would allow it).
"""

from __future__ import annotations

import math
import random
import threading
from array import array
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate

from .corpus import FORMS, Passage, load_passages
from .ngram import BOS_PROSE, BOS_VERSE, EOS, PAD, SPECIALS, CorpusModel, TopicModel
from .retrieval import PassageIndex, detect_form, requested_stanzas
from .tokenizer import Tokenizer, default_tokenizer

TOPIC_WEIGHT = 0.8
#: The topic's weight for the first three tokens, so an answer opens the way a retrieved passage does.
START_TOPIC_WEIGHT = 0.97
#: Topic passages count this many times over: more confident topic n-grams, longer runs from them.
TOPIC_SCALE = 2.0
_BOS = (BOS_VERSE, BOS_PROSE)
#: A prose answer does not end before this many tokens (a verse answer not before its second line).
PROSE_FLOOR_TOKENS = 24
#: When the prompt counts verses ("a 1 verse song"), the answer and its first verse have at least this many lines.
MIN_COUNTED_STANZA_LINES = 4
# Cache sizes keep memory bounded: a sampling table is ~1 KB (arrays), a topic model a few hundred KB.
_TOPIC_CACHE_SIZE = 16
_MEMO_CACHE_SIZE = 4
_MEMO_MAX_ENTRIES = 8_000

# One step's sampling table: candidate ids (most likely first), cumulative weights, log-probabilities.
_Step = tuple["array[int]", "array[float]", "array[float]"]


@dataclass(slots=True, frozen=True)
class Token:
    """One streamed piece of text with its log-probability and, if asked for, the likeliest alternatives.

    Alternatives may include ``"<|endoftext|>"``: the model's chance of ending its answer there.
    """

    text: str
    logprob: float
    top_logprobs: tuple[tuple[str, float], ...] = ()


class Generation(Iterator[Token]):
    """The tokens of one answer, as an iterator; ``finish_reason`` is set once it is exhausted.

    ``finish_reason`` is ``"stop"`` (the model ended its passage, a stop sequence appeared, or the
    requested number of verses was written) or ``"length"`` (``max_tokens`` reached); ``None`` before the
    end. ``form`` is ``"verse"`` or ``"prose"`` and ``sources`` the titles of the passages it drew on.
    """

    __slots__ = ("finish_reason", "completion_tokens", "prompt_tokens", "form", "sources", "_it")

    def __init__(
        self, run: Callable[[Generation], Iterator[Token]], *, prompt_tokens: int, form: str, sources: tuple[str, ...]
    ) -> None:
        self.finish_reason: str | None = None
        self.completion_tokens = 0
        self.prompt_tokens = prompt_tokens
        self.form = form
        self.sources = sources
        self._it = run(self)

    def __iter__(self) -> Generation:
        return self

    def __next__(self) -> Token:
        token = next(self._it)
        self.completion_tokens += 1
        return token

    def close(self) -> None:
        """Stop early (``finish_reason`` stays ``None``)."""
        close = getattr(self._it, "close", None)  # the sampler is a generator; a plain iterator has nothing to close
        if close is not None:
            close()


class DemoLM:
    """An n-gram language model of the packaged corpus that streams on-topic answers token by token."""

    _shared: DemoLM | None = None
    _shared_lock = threading.Lock()

    def __init__(
        self,
        passages: Sequence[Passage],
        tokenizer: Tokenizer | None = None,
        *,
        topic_weight: float = TOPIC_WEIGHT,
        topic_scale: float = TOPIC_SCALE,
    ) -> None:
        if not passages:
            raise ValueError("the demo model needs at least one passage to learn from")
        self.tokenizer = tokenizer or Tokenizer.from_texts(p.text for p in passages)
        self.passages = tuple(passages)
        self.topic_weight = topic_weight
        self.topic_scale = topic_scale
        pieces: list[str] = list(SPECIALS)
        ids: dict[str, int] = {piece: i for i, piece in enumerate(pieces)}
        self._sequences: list[list[int]] = []
        for passage in self.passages:
            seq = [PAD, PAD, BOS_VERSE if passage.form == "verse" else BOS_PROSE]
            for piece in self.tokenizer.tokenize(passage.text):
                i = ids.get(piece)
                if i is None:
                    i = ids[piece] = len(pieces)
                    pieces.append(piece)
                seq.append(i)
            seq.append(EOS)
            self._sequences.append(seq)
        self.pieces = tuple(pieces)
        self.ids = ids
        # One background model per form, so verse keeps its line breaks and prose its paragraphs.
        self.corpus_models: dict[str, CorpusModel] = {}
        for form in FORMS:
            seqs = [s for s, p in zip(self._sequences, self.passages) if p.form == form] or self._sequences
            self.corpus_models[form] = CorpusModel(((s, 1.0) for s in seqs), len(pieces))
        self.index = PassageIndex(self.passages)
        self._newline = ids.get("\n", -1)
        self._lock = threading.Lock()
        self._topics: OrderedDict[tuple[tuple[int, float], ...], TopicModel] = OrderedDict()
        self._memos: OrderedDict[tuple[object, ...], dict[int, _Step]] = OrderedDict()

    @classmethod
    def shared(cls) -> DemoLM:
        """The model of the packaged corpus, trained on first use and then cached for the process."""
        if cls._shared is None:
            with cls._shared_lock:
                if cls._shared is None:
                    cls._shared = cls(load_passages(), default_tokenizer())
        return cls._shared

    @property
    def vocab_size(self) -> int:
        """Distinct tokens, the four special ones included."""
        return len(self.pieces)

    def generate(
        self,
        prompt: str,
        *,
        system: str | None = None,
        temperature: float = 0.8,
        top_k: int = 40,
        seed: int | None = None,
        max_tokens: int = 256,
        stop: Sequence[str] | str | None = None,
        top_logprobs: int = 0,
        min_tokens: int = 0,
    ) -> Generation:
        """Stream an answer to ``prompt``: an iterator of :class:`Token` that ends with ``finish_reason`` set.

        The same prompt, system, seed and options give the same tokens in any process; ``seed=None``
        draws a fresh one. ``stop`` sequences end the answer before they would appear; ``min_tokens``
        keeps the model from ending its passage sooner (it can still stop at ``max_tokens`` or ``stop``).
        """
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        if max_tokens < 0 or min_tokens < 0 or top_logprobs < 0:
            raise ValueError("max_tokens, min_tokens and top_logprobs must be >= 0")
        rng = random.Random(seed)
        form = detect_form(prompt, system)
        query = prompt if system is None or self.index.search(prompt) else system
        chosen = tuple(self.index.choose(query, form, rng if temperature > 0 else None))
        topic = self._topic_model(chosen)
        model = self.corpus_models[form]
        k = top_k if top_k > 0 else len(model.unigram_order)
        memo = self._memo((form, chosen, float(temperature), k))
        stanzas = requested_stanzas(prompt) if form == "verse" else None
        bos = BOS_VERSE if form == "verse" else BOS_PROSE
        stops = [s for s in ([stop] if isinstance(stop, str) else (stop or ())) if s]

        def run(gen: Generation) -> Iterator[Token]:
            tokens = self._sample(
                gen, model, bos, topic, memo, k, float(temperature), rng, max_tokens, min_tokens, top_logprobs, stanzas
            )
            return _until_stop(gen, tokens, stops) if stops else tokens

        prompt_tokens = self.tokenizer.count_tokens(prompt) + (self.tokenizer.count_tokens(system) if system else 0)
        sources = tuple(self.passages[i].title for i, _ in chosen)
        return Generation(run, prompt_tokens=prompt_tokens, form=form, sources=sources)

    # -- sampling -------------------------------------------------------------------------------------------------

    def _sample(
        self,
        gen: Generation,
        model: CorpusModel,
        bos: int,
        topic: TopicModel,
        memo: dict[int, _Step],
        k: int,
        temperature: float,
        rng: random.Random,
        max_tokens: int,
        min_tokens: int,
        top_n: int,
        stanza_limit: int | None,
    ) -> Iterator[Token]:
        """The hot loop: one dictionary lookup per token once a context's sampling table is built."""
        v = self.vocab_size
        pieces = self.pieces
        newline = self._newline
        greedy = temperature == 0
        draw = rng.random
        a, b, c = PAD, PAD, bos
        stanzas = 0
        # An answer may end once past min_tokens and a floor: a few sentences of prose, or two lines of
        # verse (four when the prompt counts verses), and a verse's first stanza is at least that long.
        verse = bos == BOS_VERSE
        min_lines = 2 if stanza_limit is None else MIN_COUNTED_STANZA_LINES
        floor = max(min_tokens, 0 if verse else PROSE_FLOOR_TOKENS)
        lines = 0
        may_end = False
        for i in range(max_tokens):
            if not may_end:
                may_end = i >= floor and (lines >= min_lines - 1 or not verse)
            no_break = verse and c == newline and lines < min_lines
            key = (((a * v + b) * v + c) << 2) | (no_break << 1) | may_end
            step = memo.get(key)
            if step is None:
                # Never a third newline in a row: the corpus has none (blank-line runs are collapsed).
                blank_run = no_break or (c == newline and b == newline)
                banned = (() if may_end else (EOS,)) + ((newline,) if blank_run else ())
                step = self._step(model, a, b, c, topic, k, banned, temperature)
                if len(memo) >= _MEMO_MAX_ENTRIES:
                    memo.clear()
                memo[key] = step
            ids, cum, logprobs = step
            if greedy:
                j = 0
            else:
                j = bisect_right(cum, draw() * cum[-1])
                if j == len(ids):
                    j -= 1
            w = ids[j]
            if w == EOS:
                gen.finish_reason = "stop"
                return
            if w == newline and c == newline and stanza_limit is not None:
                stanzas += 1
                if stanzas >= stanza_limit and may_end:
                    gen.finish_reason = "stop"
                    return
            if top_n:
                alternatives = tuple((pieces[ids[m]], logprobs[m]) for m in range(min(top_n, len(ids))))
                yield Token(pieces[w], logprobs[j], alternatives)
            else:
                yield Token(pieces[w], logprobs[j])
            if w == newline:
                lines += 1
            a, b, c = b, c, w
        gen.finish_reason = "length"

    def _step(
        self,
        model: CorpusModel,
        a: int,
        b: int,
        c: int,
        topic: TopicModel,
        k: int,
        banned: tuple[int, ...],
        temperature: float,
    ) -> _Step:
        """The sampling table after ``a b c``: top-k of the mixture, sharpened by temperature, normalised."""
        weight = START_TOPIC_WEIGHT if c in _BOS or b in _BOS or a in _BOS else self.topic_weight
        ids, probs = model.mixture_top(a, b, c, topic, weight, k, banned)
        if temperature in (0.0, 1.0):
            cum = array("d", accumulate(probs))
            log_z = math.log(cum[-1])
            logprobs = array("d", [math.log(p) - log_z for p in probs])
        else:
            inv = 1.0 / temperature
            top = probs[0]
            exponents = [inv * math.log(p / top) for p in probs]
            cum = array("d", accumulate(map(math.exp, exponents)))
            log_z = math.log(cum[-1])
            logprobs = array("d", [e - log_z for e in exponents])
        return array("i", ids), cum, logprobs

    # -- caches ---------------------------------------------------------------------------------------------------

    def _topic_model(self, chosen: tuple[tuple[int, float], ...]) -> TopicModel:
        with self._lock:
            model = self._topics.get(chosen)
            if model is not None:
                self._topics.move_to_end(chosen)
                return model
        scale = self.topic_scale
        model = TopicModel(((self._sequences[i], weight * scale) for i, weight in chosen), self.vocab_size)
        with self._lock:
            self._topics[chosen] = model
            while len(self._topics) > _TOPIC_CACHE_SIZE:
                self._topics.popitem(last=False)
        return model

    def _memo(self, key: tuple[object, ...]) -> dict[int, _Step]:
        """Sampling tables already built for this topic, temperature and top-k (shared across calls)."""
        with self._lock:
            memo = self._memos.get(key)
            if memo is None:
                memo = self._memos[key] = {}
                while len(self._memos) > _MEMO_CACHE_SIZE:
                    self._memos.popitem(last=False)
            else:
                self._memos.move_to_end(key)
            return memo


def _until_stop(gen: Generation, tokens: Iterator[Token], stops: Sequence[str]) -> Iterator[Token]:
    """Pass tokens through, holding back any text that could be the start of a stop sequence.

    When a stop sequence appears, everything before it is sent (the token it starts in is cut short,
    keeping its logprob) and the answer ends with ``finish_reason = "stop"``.
    """
    pending: list[Token] = []
    text = ""
    for token in tokens:
        pending.append(token)
        text += token.text
        found = [i for i in (text.find(s) for s in stops) if i >= 0]
        if found:
            cut = min(found)
            pos = 0
            for t in pending:
                end = pos + len(t.text)
                if end <= cut:
                    yield t
                else:
                    if pos < cut:
                        yield Token(t.text[: cut - pos], t.logprob, t.top_logprobs)
                    break
                pos = end
            gen.finish_reason = "stop"
            return
        safe = len(text) - _held_back(text, stops)
        pos = 0
        sent = 0
        for t in pending:
            if pos + len(t.text) > safe:
                break
            pos += len(t.text)
            sent += 1
            yield t
        if sent:
            del pending[:sent]
            text = text[pos:]
    yield from pending


def _held_back(text: str, stops: Sequence[str]) -> int:
    """How many trailing characters of ``text`` could begin a stop sequence."""
    hold = 0
    for s in stops:
        for n in range(min(len(s) - 1, len(text)), hold, -1):
            if text.endswith(s[:n]):
                hold = n
                break
    return hold
