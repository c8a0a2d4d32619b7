"""Wire bytes -> chunks, without HTTP: recorded provider streams and hand-made edge cases.

The recorded streams (tests/fixtures) go through the SSE decoder and the provider's parser
(OpenAI chunks, Anthropic events) exactly as a response body would, cut into random reads by hypothesis, so the text
cannot depend on where the network happened to split the bytes.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wire import FIXTURES_DIR, NEWLINES, fixture_flavour, fixture_names, fixture_wire, random_splits, wire_bytes

from llmstream_nb.chunks import REASONING, TEXT, Chunk, Usage
from llmstream_nb.errors import InterruptedStreamError, MalformedStreamError, ProviderStreamError
from llmstream_nb.providers import _anthropic_wire
from llmstream_nb.providers._openai_wire import ChunkParser, decode_stream

EXPECTED_TEXT = {
    "azure-openai-chat-text": "Hello World",
    "deepseek-chat-logprobs": "Answer.",
}
EXPECTED_REASONING = {"deepseek-chat-logprobs": "Think more"}
EXPECTED_USAGE = {"azure-openai-chat-text": (15, 5), "deepseek-chat-logprobs": (3, 4)}
OPENAI_FIXTURES = [name for name in fixture_names() if fixture_flavour(name) == "openai"]
ANTHROPIC_EXPECTED = {  # text, (input, output) tokens
    "anthropic-messages-text": (
        "Hello! I'm doing well, thank you for asking. How are you doing today? Is there anything I can help you with?",
        (12, 30),
    ),
}
ANTHROPIC_FIXTURES = [name for name in fixture_names() if fixture_flavour(name) == "anthropic"]


def texts(pieces: list, kind: str = TEXT) -> str:
    return "".join(p.text for p in pieces if isinstance(p, Chunk) and p.kind == kind)


def usage_of(pieces: list) -> tuple[int | None, int | None] | None:
    found = [p for p in pieces if isinstance(p, Usage)]
    return (found[-1].prompt_tokens, found[-1].completion_tokens) if found else None


def test_every_openai_fixture_has_an_expectation() -> None:
    assert OPENAI_FIXTURES, f"no fixtures found in {FIXTURES_DIR}"
    assert sorted(OPENAI_FIXTURES) == sorted(EXPECTED_TEXT)


@pytest.mark.parametrize("name", OPENAI_FIXTURES)
@pytest.mark.parametrize("newline", NEWLINES, ids=["lf", "crlf", "cr"])
def test_fixture_decodes_whole(name: str, newline: str) -> None:
    pieces = decode_stream([fixture_wire(name, newline)])
    assert texts(pieces) == EXPECTED_TEXT[name]
    assert texts(pieces, REASONING) == EXPECTED_REASONING.get(name, "")
    assert usage_of(pieces) == EXPECTED_USAGE[name]


@pytest.mark.parametrize("name", OPENAI_FIXTURES)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=60), newline=st.sampled_from(NEWLINES))
def test_fixture_decodes_under_random_splits(name: str, cuts: list[int], newline: str) -> None:
    data = fixture_wire(name, newline)
    reads = random_splits(data, cuts)
    pieces = decode_stream(reads)
    assert pieces == decode_stream([data])  # chunk for chunk, not only the joined text
    assert texts(pieces) == EXPECTED_TEXT[name]
    assert texts(pieces, REASONING) == EXPECTED_REASONING.get(name, "")


def test_every_anthropic_fixture_has_an_expectation() -> None:
    assert sorted(ANTHROPIC_FIXTURES) == sorted(ANTHROPIC_EXPECTED)


@pytest.mark.parametrize("name", ANTHROPIC_FIXTURES)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(min_value=0, max_value=3000), max_size=60), newline=st.sampled_from(NEWLINES))
def test_anthropic_fixture_decodes_under_random_splits(name: str, cuts: list[int], newline: str) -> None:
    """Pings, usage split between message_start and message_delta, the stop reason: same pieces however cut."""
    data = fixture_wire(name, newline)
    whole = _anthropic_wire.decode_stream([data])
    pieces = _anthropic_wire.decode_stream(random_splits(data, cuts))
    assert pieces == whole
    assert texts(pieces) == ANTHROPIC_EXPECTED[name][0] and texts(pieces, REASONING) == ""
    assert usage_of(pieces) == ANTHROPIC_EXPECTED[name][1]
    assert [p.finish_reason for p in pieces if isinstance(p, Chunk) and p.finish_reason] == ["stop"]


def test_azure_shapes() -> None:
    """Empty `choices` is skipped, the role-only chunk becomes "", a choice without delta is tolerated."""
    pieces = decode_stream([fixture_wire("azure-openai-chat-text")])
    chunks = [p for p in pieces if isinstance(p, Chunk)]
    assert chunks[0].text == "" and chunks[0].finish_reason is None
    assert [c.text for c in chunks] == ["", "Hello", " World", "", ""]
    assert [c.finish_reason for c in chunks].count("stop") == 1
    assert all(c.logprob is None for c in chunks)


def test_deepseek_reasoning_and_one_logprob_per_token() -> None:
    pieces = decode_stream([fixture_wire("deepseek-chat-logprobs")])
    tokens = [p for p in pieces if isinstance(p, Chunk) and p.text]
    assert [(c.kind, c.text) for c in tokens] == [
        (REASONING, "Think"),
        (REASONING, " more"),
        (TEXT, "Answer"),
        (TEXT, "."),
    ]
    assert [c.logprob for c in tokens] == [-0.1, -0.3, -0.2, -0.05]
    assert tokens[2].top_logprobs == (("Answer", -0.2),)
    assert tokens[3].top_logprobs is None  # an empty list of alternatives


# -- hand-made edge cases -----------------------------------------------------------------


def sse(*payloads: object, done: bool = True) -> bytes:
    lines = [p if isinstance(p, str) else json.dumps(p) for p in payloads]
    return wire_bytes(lines) if done else "".join(f"data: {line}\n\n" for line in lines).encode()


def chat(content: str | None = None, finish: str | None = None, **delta: object) -> dict:
    if content is not None:
        delta["content"] = content
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}], "usage": None}


def test_end_without_done_after_finish_reason_is_fine() -> None:
    pieces = decode_stream([sse(chat("a"), chat("b", "stop"), done=False)])
    assert texts(pieces) == "ab"


def test_end_without_done_or_finish_reason_is_interrupted() -> None:
    with pytest.raises(InterruptedStreamError):
        decode_stream([sse(chat("a"), chat("b"), done=False)])


def test_invalid_json_is_malformed_and_quotes_the_line() -> None:
    bad = '{"choices": [oops' + "x" * 200
    with pytest.raises(MalformedStreamError) as info:
        decode_stream([sse(chat("a"), bad)])
    message = str(info.value)
    assert '{"choices": [oops' in message and "x" * 80 not in message and "\n" not in message


@pytest.mark.parametrize(
    "payload", ["[1, 2]", '{"choices": {"0": 1}}', '{"choices": [{"delta": "text"}]}', '{"usage": 5}']
)
def test_json_not_shaped_like_a_chunk_is_malformed(payload: str) -> None:
    with pytest.raises(MalformedStreamError):
        decode_stream([sse(payload)])


def test_error_object_in_the_stream() -> None:
    error = {"error": {"message": "The server had an error while processing your request.", "type": "server_error"}}
    with pytest.raises(ProviderStreamError, match="server had an error"):
        decode_stream([sse(chat("a"), error, done=False)])
    with pytest.raises(ProviderStreamError, match="vLLM says no"):  # vLLM's older unwrapped shape
        decode_stream([sse({"object": "error", "message": "vLLM says no", "code": 400})])


def test_reasoning_key_and_mixed_delta() -> None:
    pieces = decode_stream([sse(chat(reasoning="hmm"), chat("A", reasoning_content=" so"), chat(None, "stop"))])
    chunks = [(p.kind, p.text) for p in pieces if isinstance(p, Chunk)]
    assert chunks == [(REASONING, "hmm"), (REASONING, " so"), (TEXT, "A"), (TEXT, "")]


def test_other_choices_unknown_fields_and_usage_in_a_choice_chunk() -> None:
    second = {"choices": [{"index": 1, "delta": {"content": "other"}}]}
    odd = {
        "choices": [{"index": 0, "delta": {"content": "x", "x_new": 1}}],
        "x_groq": {"id": "q"},
        "service_tier": None,
    }
    last = {
        "choices": [{"index": 0, "delta": {}, "finish_reason": "length"}],
        "usage": {"prompt_tokens": 2, "completion_tokens": 1},
    }
    pieces = decode_stream([sse(second, odd, last)])
    assert texts(pieces) == "x"
    assert usage_of(pieces) == (2, 1)
    assert pieces[-2].finish_reason == "length"


def test_values_plain_json_accepts_are_read_even_if_orjson_is_used() -> None:
    logprobs = '{"content": [{"token": "z", "logprob": -Infinity, "top_logprobs": []}]}'
    payload = '{"choices": [{"index": 0, "delta": {"content": "z"}, "logprobs": ' + logprobs + "}]}"
    pieces = decode_stream([sse(payload)])
    assert pieces[0].logprob == float("-inf")


def test_legacy_completions_text_and_logprobs() -> None:
    def choice(text: str, lp: float | None, finish: str | None = None) -> dict:
        logprobs = {
            "tokens": [text],
            "token_logprobs": [lp],
            "top_logprobs": [{text: lp, "zz": -9.0}],
            "text_offset": [0],
        }
        return {"choices": [{"index": 0, "text": text, "logprobs": logprobs, "finish_reason": finish}]}

    parser = ChunkParser("completions", keep_top=True)
    pieces = [
        p for payload in (choice("Hi", -0.5), choice("!", -0.25, "stop")) for p in parser.feed(json.dumps(payload))
    ]
    assert [(p.text, p.logprob, p.finish_reason) for p in pieces] == [("Hi", -0.5, None), ("!", -0.25, "stop")]
    assert pieces[0].top_logprobs == (("Hi", -0.5), ("zz", -9.0))
    quiet = ChunkParser("completions", keep_top=False).feed(json.dumps(choice("Hi", -0.5)))
    assert quiet[0].top_logprobs is None and quiet[0].logprob == -0.5
