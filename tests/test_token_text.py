"""The llama.cpp provider's pure parts: UTF-8 across token boundaries, stop sequences, probabilities."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmstream_nb.providers._tokens import Distribution, Piece, StopText, Utf8Pieces, token_label


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


def test_a_character_split_across_tokens_comes_out_whole_with_both_ids() -> None:
    decoder = Utf8Pieces()
    data = "é".encode()
    assert decoder.feed(7, data[:1]) is None
    assert decoder.feed(8, data[1:]) == Piece("é", (7, 8))


@given(st.text(min_size=1), st.lists(st.integers(min_value=0, max_value=400), max_size=30))
def test_any_split_of_any_text_decodes_without_replacement_characters(text: str, cuts: list[int]) -> None:
    decoder = Utf8Pieces()
    tokens = _split(text.encode("utf-8"), cuts)
    pieces = [p for i, data in enumerate(tokens) if (p := decoder.feed(i, data)) is not None]
    if (tail := decoder.flush()) is not None:
        pieces.append(tail)
    assert "".join(p.text for p in pieces) == text
    if "\ufffd" not in text:
        assert all("\ufffd" not in p.text for p in pieces)
    assert [i for p in pieces for i in p.token_ids] == list(range(len(tokens)))  # each token in one piece


def test_an_answer_cut_in_the_middle_of_a_character_drops_its_bytes() -> None:
    decoder = Utf8Pieces()
    assert decoder.feed(1, b"a" + "€".encode()[:2]) is None
    assert decoder.flush() == Piece("a", (1,))


def test_an_alternative_that_is_half_a_character_reads_as_its_bytes() -> None:
    assert token_label("é".encode()[:1]) == "\\xc3"
    assert token_label(b" water") == " water"


def test_stop_text_holds_back_a_possible_start_and_cuts_at_the_stop() -> None:
    stops = StopText(["END"])
    assert stops.push(Piece("Hello E", (1,))) == []  # "E" may begin "END": the whole token waits
    assert stops.push(Piece("x", (2,))) == [Piece("Hello E", (1,)), Piece("x", (2,))]
    assert stops.push(Piece(" the EN", (3,))) == []
    assert stops.push(Piece("D more", (4,))) == [Piece(" the ", (3,))]
    assert stops.stopped and stops.push(Piece("after", (5,))) == []


def test_stop_text_shows_what_it_held_when_the_answer_ends() -> None:
    stops = StopText(["\n\n"])
    assert stops.push(Piece("line\n", (1,))) == []
    assert stops.flush() == [Piece("line\n", (1,))]


def _log_softmax(values: list[float]) -> list[float]:
    top = max(values)
    norm = top + math.log(sum(math.exp(v - top) for v in values))
    return [v - norm for v in values]


@pytest.mark.parametrize("temperature", [0.3, 1.0, 2.0])
def test_logprobs_are_a_log_softmax_after_temperature(temperature: float) -> None:
    logits = [1.0, 3.5, -2.0, 0.25, 3.0]
    expected = _log_softmax([x / temperature for x in logits])
    dist = Distribution(np.array(logits, dtype=np.float32), temperature)
    assert [dist.logprob(i) for i in range(5)] == pytest.approx(expected, abs=1e-9)
    assert dist.top(2) == [(1, pytest.approx(expected[1])), (4, pytest.approx(expected[4]))]


def test_greedy_picks_the_argmax_and_reports_the_models_own_probabilities() -> None:
    logits = np.array([0.0, 2.0, 1.0], dtype=np.float32)
    dist = Distribution(logits, 0.0)
    assert dist.sample(np.random.default_rng(1)) == 1
    assert dist.logprob(1) == pytest.approx(_log_softmax([0.0, 2.0, 1.0])[1])


def test_sampling_follows_the_reported_probabilities_and_the_seed() -> None:
    logits = np.array([0.0, math.log(3.0)], dtype=np.float32)  # p = 1/4, 3/4
    draws = [Distribution(logits, 1.0).sample(np.random.default_rng(seed)) for seed in range(2000)]
    assert 0.70 < draws.count(1) / len(draws) < 0.80
    again = [Distribution(logits, 1.0).sample(np.random.default_rng(seed)) for seed in range(2000)]
    assert draws == again


def test_top_k_keeps_sampling_among_the_most_likely() -> None:
    logits = np.array([5.0, 4.9, -1.0, -1.0, -1.0], dtype=np.float32)
    draws = {Distribution(logits, 5.0).sample(np.random.default_rng(seed), top_k=2) for seed in range(300)}
    assert draws == {0, 1}
