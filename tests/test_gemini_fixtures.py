"""Gemini wire bytes -> chunks, without HTTP: the fixtures tests/fixtures/gemini-* (see gemini.md there; written
from Google's documented stream format) through the SSE decoder and the gemini parser exactly as a response body
would go, cut into random reads by hypothesis, so the pieces cannot depend on where the network split the bytes.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wire import NEWLINES, fixture_flavour, fixture_names, fixture_payloads, fixture_wire, random_splits

from llmstream_nb.chunks import REASONING, TEXT, Chunk, Usage
from llmstream_nb.errors import InterruptedStreamError, MalformedStreamError, ProviderStreamError
from llmstream_nb.models.streams import TokenStream
from llmstream_nb.providers import _gemini_wire as wire
from llmstream_nb.sources import ItemReader, read_item

#: name -> (text, reasoning, (prompt, output tokens), finish reason)
DECODES = {
    "gemini-text": ("Bubbles rise in my glass — café fizz, a small joy 🫧.\n", "", (11, 17), "stop"),
    "gemini-thinking": (
        'There are **3** "r"s in strawberry.',
        "**Counting letters**\n\nI need to count the r's in strawberry. s-t-r-a-w-b-e-r-r-y: three.",
        (9, 87),
        "stop",
    ),
    "gemini-max-tokens": ("Once upon a time there was", "", (4, 6), "length"),
    "gemini-logprobs": ("Yes, it is.", "", (5, 4), "stop"),
}
#: name -> (the error's words, the text before it)
FAILS = {
    "gemini-safety-stop": ("stopped by Google's safety filters, SAFETY", "Here is the first step"),
    "gemini-prompt-blocked": ("the prompt was blocked (Google's prohibited-content policy, PROHIBITED_CONTENT)", ""),
}


def wire_bytes(name: str, newline: str = "\r\n") -> bytes:
    """As Google sends them: `data: <line>` and a blank line, CRLF line ends by default, no end marker."""
    return fixture_wire(name, newline)


def texts(pieces: list, kind: str = TEXT) -> str:
    return "".join(p.text for p in pieces if isinstance(p, Chunk) and p.kind == kind)


def last_usage(pieces: list) -> tuple[int | None, int | None]:
    usage = [p for p in pieces if isinstance(p, Usage)][-1]
    return usage.prompt_tokens, usage.completion_tokens


def test_every_fixture_has_an_expectation() -> None:
    assert [name for name in fixture_names() if fixture_flavour(name) == "gemini"] == sorted([*DECODES, *FAILS])


@pytest.mark.parametrize("name", sorted(DECODES))
@pytest.mark.parametrize("newline", NEWLINES, ids=["lf", "crlf", "cr"])
def test_fixture_decodes_whole(name: str, newline: str) -> None:
    pieces = wire.decode_stream([wire_bytes(name, newline)])
    text, reasoning, usage, finish = DECODES[name]
    assert texts(pieces) == text and texts(pieces, REASONING) == reasoning
    assert last_usage(pieces) == usage
    assert [p.finish_reason for p in pieces if isinstance(p, Chunk) and p.finish_reason] == [finish]
    assert pieces[0] == Chunk("")  # a stream opens with "", as every provider's does


@pytest.mark.parametrize("name", sorted(DECODES))
@settings(max_examples=120, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=3000), max_size=60), newline=st.sampled_from(NEWLINES))
def test_fixture_decodes_under_random_splits(name: str, cuts: list[int], newline: str) -> None:
    data = wire_bytes(name, newline)
    pieces = wire.decode_stream(random_splits(data, cuts))
    # piece for piece, every field (finish reasons, logprobs, usage), not only the joined text
    assert [p.to_dict() for p in pieces] == [p.to_dict() for p in wire.decode_stream([data])]
    assert texts(pieces) == DECODES[name][0]


@pytest.mark.parametrize("name", sorted(FAILS))
@settings(max_examples=60, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=1500), max_size=40))
def test_blocked_fixtures_fail_with_the_text_before_the_block(name: str, cuts: list[int]) -> None:
    """Through a `TokenStream`, as a provider's stream goes: the error says why, and keeps what had arrived."""
    stream = TokenStream(wire.iter_pieces(random_splits(wire_bytes(name), cuts)), "gemini:test")
    with pytest.raises(ProviderStreamError) as info:
        for _ in stream:
            pass
    words, partial = FAILS[name]
    assert words in str(info.value) and info.value.partial_text == stream.text == partial


def test_logprobs_split_an_event_into_its_tokens() -> None:
    tokens = [p for p in wire.decode_stream([wire_bytes("gemini-logprobs")]) if isinstance(p, Chunk) and p.text]
    assert [(c.text, c.logprob) for c in tokens] == [
        ("Yes", -0.0123),
        (",", -0.2),
        (" it", -0.5),
        (" is", -0.1),
        (".", -0.4),
    ]
    assert tokens[0].top_logprobs == (("Yes", -0.0123), ("No", -4.5))


def test_thoughts_come_before_the_answer_and_count_as_output() -> None:
    pieces = wire.decode_stream([wire_bytes("gemini-thinking")])
    kinds = [p.kind for p in pieces if isinstance(p, Chunk) and p.text]
    assert kinds == [REASONING, REASONING, TEXT, TEXT]


# -- hand-made edge cases -----------------------------------------------------------------


def sse(*items: object) -> bytes:
    return "".join(f"data: {i if isinstance(i, str) else json.dumps(i)}\r\n\r\n" for i in items).encode()


def event(text: str, finish: str | None = None, **part: object) -> dict:
    candidate: dict = {"content": {"parts": [{"text": text, **part}], "role": "model"}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    return {"candidates": [candidate]}


def test_a_body_that_ends_without_a_finish_reason_is_interrupted() -> None:
    with pytest.raises(InterruptedStreamError, match="without a finishReason"):
        wire.decode_stream([sse(event("a"), event("b"))])


@pytest.mark.parametrize(
    "payload",
    [
        '{"candidates": [oops',
        "[1, 2]",
        '{"candidates": [{"content": {"parts": [{"text": 5}]}}]}',
        '{"candidates": [{"content": {"parts": "text"}}]}',
        '{"candidates": ["x"]}',
    ],
)
def test_what_is_not_a_response_is_malformed(payload: str) -> None:
    with pytest.raises(MalformedStreamError, match="stream data is not"):
        wire.decode_stream([sse(payload)])


def test_an_error_event_keeps_googles_words_and_code() -> None:
    error = {"error": {"code": 500, "message": "An internal error has occurred.", "status": "INTERNAL"}}
    with pytest.raises(ProviderStreamError, match=r"INTERNAL: An internal error has occurred\.") as info:
        wire.decode_stream([sse(event("a"), error)])
    assert info.value.status == 500


def test_other_candidates_function_calls_and_unknown_finish_reasons() -> None:
    second = {"candidates": [{"content": {"parts": [{"text": "other"}]}, "index": 1}]}
    call = {"candidates": [{"content": {"parts": [{"functionCall": {"name": "f", "args": {}}}]}, "index": 0}]}
    pieces = wire.decode_stream([sse(second, call, event("x"), event("", "OTHER"))])
    assert texts(pieces) == "x"
    assert [p.finish_reason for p in pieces if isinstance(p, Chunk) and p.finish_reason] == ["other"]


def test_logprobs_that_do_not_spell_the_text_leave_it_whole() -> None:
    lp = {"chosenCandidates": [{"token": "Hel", "logProbability": -1.0}], "topCandidates": []}
    payload = event("Hello", "STOP")
    payload["candidates"][0]["logprobsResult"] = lp
    chunks = [p for p in wire.decode_stream([sse(payload)]) if isinstance(p, Chunk) and p.text]
    assert [(c.text, c.logprob) for c in chunks] == [("Hello", None)]


def test_a_google_key_echoed_in_an_error_is_redacted() -> None:
    """Google's keys look like `AIza` + 35 characters; one echoed by a proxy never reaches the message."""
    key = "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW"
    error = {"error": {"code": 400, "message": f"API key {key} not valid.", "status": "INVALID_ARGUMENT"}}
    with pytest.raises(ProviderStreamError) as info:
        wire.decode_stream([sse(error)])
    assert key not in str(info.value) and "API key [redacted] not valid." in str(info.value)


@pytest.mark.parametrize("name", sorted(DECODES))
def test_the_raw_json_reads_alike_as_a_source(name: str) -> None:
    """The same responses as raw JSON items of a source (what `show()` reads): the same text, reasoning, usage."""
    reader = ItemReader()
    pieces = [piece for line in fixture_payloads(name) for piece in reader(json.loads(line))]
    text, reasoning, usage, finish = DECODES[name]
    assert texts(pieces) == text and texts(pieces, REASONING) == reasoning
    assert last_usage(pieces) == usage and reader.model == "gemini-2.5-flash"
    assert [p.finish_reason for p in pieces if isinstance(p, Chunk) and p.finish_reason] == [finish]


def test_a_langchain_chunk_with_usage_metadata_is_not_taken_for_a_gemini_response() -> None:
    from langchain_core.messages import AIMessageChunk

    chunk = AIMessageChunk(content="Hi", usage_metadata={"input_tokens": 3, "output_tokens": 1, "total_tokens": 4})
    assert [(p.text, p.kind) for p in read_item(chunk) if isinstance(p, Chunk)] == [("Hi", TEXT)]


def test_a_json_array_of_responses_is_read_whole_and_marked_as_fallback() -> None:
    """The stream without `alt=sse` is one JSON array; a proxy may hand it over whole."""
    parser = wire.EventParser()
    pieces = parser.feed(json.dumps([json.loads(line) for line in fixture_payloads("gemini-max-tokens")]))
    parser.close()
    chunks = [p for p in pieces if isinstance(p, Chunk)]
    assert texts(list(pieces)) == "Once upon a time there was" and all(c.fallback for c in chunks)
    assert parser.finish_reason == "length" and last_usage(list(pieces)) == (4, 6)
