"""The offline demo model's engine: tokenizer, n-gram sampling, logprobs, topic, finish reasons, latency.

These tests rely on the packaged corpus holding verse about sparkling water and prose about trains,
never on any passage's exact text.
"""

from __future__ import annotations

import json
import math
import os
import random
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from llmstream_nb.demo import DemoLM, LatencyProfile, Token, count_tokens, tokenize
from llmstream_nb.demo.corpus import corpus_files, load_passages, parse_passages
from llmstream_nb.demo.ngram import BOS_VERSE, EOS, PAD
from llmstream_nb.demo.retrieval import detect_form, requested_stanzas

SONG = "Write me a 1 verse song about sparkling water."
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def lm() -> DemoLM:
    return DemoLM.shared()


def texts(tokens: list[Token]) -> str:
    return "".join(t.text for t in tokens)


# -- tokenizer ---------------------------------------------------------------------------------------------


def test_tokenize_round_trips_every_corpus_file_and_odd_text() -> None:
    for path in corpus_files():
        text = path.read_text(encoding="utf-8")
        assert "".join(tokenize(text)) == text
    for text in [
        "",
        " ",
        "\n\n",
        "  two  spaces\t\ttabs \r\n",
        "café_über 12345 ...!?",
        "emoji 🙂🙂 end ",
        "don't 'quote' it's",
        "Xylophonists unbelievably antidisestablishmentarianism",
    ]:
        assert "".join(tokenize(text)) == text
        assert count_tokens(text) == len(tokenize(text))


def test_tokens_look_like_a_gpt_tokenizer() -> None:
    tokens = tokenize("The water, oh so clear!\nBubbles rise.")
    assert tokens[:4] == ["The", " water", ",", " oh"]
    assert "\n" in tokens and "!" in tokens and "." in tokens
    for token in tokens:
        assert " " not in token[1:], "a space only ever leads a token"


def test_some_rarer_words_split_into_sub_word_pieces() -> None:
    sample = "\n\n".join(p.text for p in load_passages()[:60])
    tokens = tokenize(sample)
    words = [t for t in tokens if t.strip().isalpha()]
    continuations = [t for prev, t in zip(tokens, tokens[1:]) if t.isalpha() and prev.strip().isalpha()]
    assert 0.005 < len(continuations) / len(words) < 0.2, "a few percent of words split, like a real tokenizer"
    pieces = tokenize(" fizzlebrightness")  # a made-up word: never whole
    assert len(pieces) > 1 and pieces[0].startswith(" ") and "".join(pieces) == " fizzlebrightness"
    assert all(not piece.startswith(" ") for piece in pieces[1:])


def test_corpus_headers_parse_into_passages() -> None:
    text = (
        "# verse | A Title | fizz, bubbles\n\nLine one,\nline two.\n\nSecond stanza.\n\n\n"
        "# prose | P | k\n\nSome prose."
    )
    verse, prose = parse_passages(text, "x.txt")
    assert (verse.form, verse.title, verse.keywords) == ("verse", "A Title", ("fizz", "bubbles"))
    assert verse.text == "Line one,\nline two.\n\nSecond stanza."
    assert (prose.form, prose.text) == ("prose", "Some prose.")


# -- probabilities -----------------------------------------------------------------------------------------


def test_mixture_is_a_distribution_and_its_top_k_is_exact(lm: DemoLM) -> None:
    """Brute force over the whole vocabulary agrees with the fast top-k, and sums to one."""
    model = lm.corpus_models["verse"]
    chosen = tuple(lm.index.choose("sparkling water", "verse", random.Random(1)))
    topic = lm._topic_model(chosen)
    seq = lm._sequences[chosen[0][0]]
    contexts = [(PAD, PAD, BOS_VERSE), tuple(seq[3:6]), tuple(seq[8:11]), (7, 11, 13)]
    for a, b, c in contexts:
        full = [(model.mixture_prob(a, b, c, w, topic, 0.8), w) for w in range(lm.vocab_size)]
        assert math.fsum(p for p, _ in full) == pytest.approx(1.0, abs=1e-9)
        for banned in ((), (EOS,), (EOS, lm.ids["\n"])):
            ids, probs = model.mixture_top(a, b, c, topic, 0.8, 25, banned)
            expected = sorted((-p, w) for p, w in full if p > 0 and w not in banned)[:25]
            assert ids == [w for _, w in expected]
            assert probs == pytest.approx([-p for p, _ in expected], rel=1e-12)


def test_sorted_bigram_lists_grow_on_demand_and_know_when_complete(lm: DemoLM) -> None:
    model = lm.corpus_models["prose"]
    predictable = len(model.unigram_order)
    ids, probs, complete = model.top1(EOS, 100)  # nothing ever follows the end: pure unigram backoff
    assert not complete and list(ids[:100]) == list(model.unigram_order[:100])
    ids, probs, complete = model.top1(EOS, predictable)
    assert complete and len(ids) == predictable and math.fsum(probs) == pytest.approx(1.0)


@pytest.mark.parametrize("temperature", [0.5, 1.0, 1.4])
def test_logprob_is_the_probability_in_the_sampled_distribution(lm: DemoLM, temperature: float) -> None:
    tokens = list(lm.generate(SONG, seed=3, temperature=temperature, top_k=40, top_logprobs=40, max_tokens=30))
    assert tokens
    for token in tokens:
        alternatives = dict(token.top_logprobs)
        assert len(alternatives) == len(token.top_logprobs) <= 40
        assert token.logprob == pytest.approx(alternatives[token.text], abs=1e-12)
        assert math.fsum(math.exp(lp) for lp in alternatives.values()) == pytest.approx(1.0, abs=1e-9)
        values = [lp for _, lp in token.top_logprobs]
        assert values == sorted(values, reverse=True)


def test_top_logprobs_are_the_likeliest_part_of_the_distribution(lm: DemoLM) -> None:
    full = list(lm.generate(SONG, seed=4, top_logprobs=40, max_tokens=10))
    few = list(lm.generate(SONG, seed=4, top_logprobs=3, max_tokens=10))
    assert [t.text for t in full] == [t.text for t in few]
    for a, b in zip(full, few):
        assert len(b.top_logprobs) == 3 and b.top_logprobs == a.top_logprobs[:3]
        assert sum(math.exp(lp) for _, lp in b.top_logprobs) <= 1.0 + 1e-12


def test_without_top_k_the_alternatives_are_the_whole_vocabulary(lm: DemoLM) -> None:
    tokens = list(lm.generate(SONG, seed=5, temperature=1.0, top_k=0, top_logprobs=10**6, max_tokens=3))
    for token in tokens:
        assert len(token.top_logprobs) > 1000
        assert math.fsum(math.exp(lp) for _, lp in token.top_logprobs) == pytest.approx(1.0, abs=1e-9)


def test_temperature_zero_is_greedy_whatever_the_seed(lm: DemoLM) -> None:
    runs = [list(lm.generate(SONG, temperature=0, seed=seed, top_logprobs=2, max_tokens=40)) for seed in (1, 2, None)]
    assert runs[0] == runs[1] == runs[2]
    for token in runs[0]:
        assert token.text == token.top_logprobs[0][0], "greedy takes the most likely token"
        assert token.logprob < 0.0 or len(token.top_logprobs) == 1, "logprobs are reported at temperature 1"


# -- determinism -------------------------------------------------------------------------------------------


def test_same_seed_same_tokens_different_seeds_differ(lm: DemoLM) -> None:
    first = list(lm.generate(SONG, seed=11, top_logprobs=2))
    again = list(lm.generate(SONG, seed=11, top_logprobs=2))
    assert first == again
    outputs = {texts(list(lm.generate(SONG, seed=seed))) for seed in range(12, 17)}
    assert len(outputs) >= 3


def test_same_seed_gives_same_text_in_another_process(lm: DemoLM) -> None:
    code = (
        "import json; from llmstream_nb.demo import DemoLM\n"
        "g = DemoLM.shared().generate('Tell me about trains.', seed=21, max_tokens=80)\n"
        "print(json.dumps([[t.text, t.logprob] for t in g]))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT, env=env)
    here = [[t.text, t.logprob] for t in lm.generate("Tell me about trains.", seed=21, max_tokens=80)]
    assert json.loads(out.stdout) == here


# -- topic and form ----------------------------------------------------------------------------------------


def test_a_sparkling_water_song_is_on_topic_verse(lm: DemoLM) -> None:
    on_topic = ("water", "bubble", "fizz", "sparkl", "glass", "lime", "sip", "pour", "bottle", "cold", "clear")
    hits = 0
    for seed in range(6):
        generation = lm.generate(SONG, seed=seed)
        text = texts(list(generation))
        assert generation.form == "verse"
        assert len(text.strip().split("\n")) >= 4, "a verse of a song has at least four lines"
        assert "\n\n" not in text, "a 1 verse song stops after its first stanza"
        assert generation.finish_reason == "stop"
        hits += any(word in text.lower() for word in on_topic)
    assert hits >= 5


def test_prose_about_trains_mentions_trains(lm: DemoLM) -> None:
    hits = 0
    for seed in range(6):
        generation = lm.generate("Tell me about trains.", seed=seed)
        text = texts(list(generation)).lower()
        assert generation.form == "prose"
        assert len(generation.sources) >= 2
        hits += any(word in text for word in ("train", "rail", "locomotive", "station", "platform"))
    assert hits >= 5


def test_form_detection_and_stanza_requests() -> None:
    assert detect_form("Write a haiku about snow") == "verse"
    assert detect_form("Tell me about trains") == "prose"
    assert detect_form("Describe the sea", system="You answer in rhyme.") == "verse"
    assert requested_stanzas(SONG) == 1
    assert requested_stanzas("a song in two verses") == 2
    assert requested_stanzas("a verse about rain") is None
    assert requested_stanzas("three stanzas about rain") == 3


def test_answers_start_at_the_start_of_a_passage(lm: DemoLM) -> None:
    openings = {tokenize(p.text)[0] for p in lm.passages}
    for prompt in (SONG, "Tell me about trains."):
        for seed in range(5):
            first = next(iter(lm.generate(prompt, seed=seed, max_tokens=1)))
            assert first.text in openings


# -- finishing ---------------------------------------------------------------------------------------------


def test_max_tokens_finishes_with_length(lm: DemoLM) -> None:
    generation = lm.generate(SONG, seed=1, max_tokens=5, min_tokens=5)
    assert len(list(generation)) == 5
    assert generation.finish_reason == "length" and generation.completion_tokens == 5
    empty = lm.generate(SONG, max_tokens=0)
    assert list(empty) == [] and empty.finish_reason == "length"


def test_natural_end_finishes_with_stop(lm: DemoLM) -> None:
    generation = lm.generate("Tell me about trains.", seed=2, max_tokens=5000)
    tokens = list(generation)
    assert generation.finish_reason == "stop" and 0 < len(tokens) < 5000


def test_min_tokens_keeps_the_answer_going(lm: DemoLM) -> None:
    generation = lm.generate(SONG, seed=1, min_tokens=400, max_tokens=5000)
    tokens = list(generation)
    assert len(tokens) >= 400
    assert all(text != "<|endoftext|>" for t in tokens for text, _ in t.top_logprobs)
    long = lm.generate("Tell me about trains.", seed=1, min_tokens=20_000, max_tokens=20_000)
    text = texts(list(long))
    assert long.completion_tokens == 20_000 and long.finish_reason == "length"
    assert "\n\n\n" not in text, "paragraphs stay tidy however long the stream"


def test_stop_sequences_end_the_answer_before_them(lm: DemoLM) -> None:
    tokens = list(lm.generate(SONG, seed=7, min_tokens=60, max_tokens=60))
    full = texts(tokens)
    word = next(t.text for t in tokens[5:] if t.text.startswith(" ") and t.text[1:].isalpha() and len(t.text) > 4)
    for stop in (["\n"], [word], [word[2:4]], ["never-appears", word]):
        generation = lm.generate(SONG, seed=7, min_tokens=60, max_tokens=60, stop=stop)
        text = texts(list(generation))
        cut = min(i for i in (full.find(s) for s in stop) if i >= 0)
        assert text == full[:cut]
        assert generation.finish_reason == "stop"
    for stop in ("never-appears", "", [""]):
        generation = lm.generate(SONG, seed=7, min_tokens=60, max_tokens=60, stop=stop)
        assert texts(list(generation)) == full and generation.finish_reason == "length"


# -- sharing and import cost -------------------------------------------------------------------------------


def test_shared_model_is_one_per_process_even_across_threads() -> None:
    seen: list[DemoLM] = []
    threads = [threading.Thread(target=lambda: seen.append(DemoLM.shared())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(m) for m in seen}) == 1


def test_importing_the_package_trains_nothing() -> None:
    code = (
        "import llmstream_nb.demo, llmstream_nb.demo.lm as lm, llmstream_nb.demo.tokenizer as tk\n"
        "assert lm.DemoLM._shared is None and tk._default is None"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# -- latency -----------------------------------------------------------------------------------------------


def test_latency_delays_follow_the_profile_within_jitter() -> None:
    profile = LatencyProfile(ttft=0.5, tokens_per_second=20.0, jitter=0.2)
    delays = profile.delays(seed=1)
    first = next(delays)
    gaps = [next(delays) for _ in range(2000)]
    assert 0.4 <= first <= 0.6
    assert all(0.04 <= g <= 0.06 for g in gaps)
    assert sum(gaps) / len(gaps) == pytest.approx(0.05, rel=0.02)
    assert len(set(gaps)) > 100, "jitter varies the gaps"
    again = profile.delays(seed=1)
    assert [next(again) for _ in range(2001)] == [first, *gaps]


def test_latency_without_jitter_and_zero() -> None:
    steady = LatencyProfile(ttft=0.25, tokens_per_second=4.0, jitter=0.0).delays(None)
    assert [next(steady) for _ in range(4)] == [0.25, 0.25, 0.25, 0.25]
    zero = LatencyProfile.ZERO.delays(seed=3)
    assert [next(zero) for _ in range(100)] == [0.0] * 100
    assert LatencyProfile.ZERO == LatencyProfile(0, 0, 0) and LatencyProfile.ZERO.is_zero
    defaults = LatencyProfile()
    assert (defaults.ttft, defaults.tokens_per_second, defaults.jitter) == (0.35, 40.0, 0.25)
