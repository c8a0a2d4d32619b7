"""Property tests for every decoder: whatever bytes arrive and whatever JSON value sits in whatever field,
the result is chunks whose text is a `str`, or an error from our hierarchy, never anything else."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmstream_nb.chunks import Chunk
from llmstream_nb.errors import LLMStreamError
from llmstream_nb.http.client import LineSplitter
from llmstream_nb.http.sse import SSEDecoder
from llmstream_nb.providers._anthropic_wire import EventParser
from llmstream_nb.providers._ollama_wire import LineParser
from llmstream_nb.providers._openai_wire import ChunkParser

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)

#: A well-formed event or line of each protocol: the shapes whose fields get replaced.
TEMPLATES: dict[str, list[dict[str, Any]]] = {
    "openai-chat": [
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {"content": "hi", "reasoning_content": "hm"},
                    "finish_reason": None,
                    "logprobs": {
                        "content": [
                            {"token": "hi", "logprob": -0.1, "top_logprobs": [{"token": "hi", "logprob": -0.1}]}
                        ]
                    },
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 2},
        },
        {"error": {"message": "boom", "code": 500}},
    ],
    "openai-completions": [
        {
            "choices": [
                {
                    "index": 0,
                    "text": "hi",
                    "finish_reason": "stop",
                    "logprobs": {"token_logprobs": [-0.1], "top_logprobs": [{"hi": -0.1}]},
                }
            ]
        },
    ],
    "anthropic": [
        {"type": "message_start", "message": {"usage": {"input_tokens": 3}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": "hi"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hi"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "hm"}},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 3},
        },
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
    ],
    "ollama-chat": [
        {"message": {"role": "assistant", "content": "hi", "thinking": "hm"}, "done": False},
        {"message": {"content": ""}, "done": True, "done_reason": "stop", "eval_count": 3, "eval_duration": 10},
    ],
    "ollama-generate": [
        {"response": "hi", "thinking": "hm", "done": False},
        {"response": "", "done": True, "prompt_eval_count": 2, "total_duration": 5},
    ],
}

PARSERS: dict[str, Callable[[], Any]] = {
    "openai-chat": lambda: ChunkParser("chat"),
    "openai-completions": lambda: ChunkParser("completions"),
    "anthropic": EventParser,
    "ollama-chat": lambda: LineParser("chat"),
    "ollama-generate": lambda: LineParser("generate"),
}


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON value that can hold another value."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield (*prefix, key)
            yield from paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield (*prefix, index)
            yield from paths(inner, (*prefix, index))


def replaced(template: Any, path: tuple[Any, ...], value: Any) -> Any:
    result = copy.deepcopy(template)
    target = result
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return result


@st.composite
def mutated_events(draw: st.DrawFn, protocol: str) -> str:
    template = draw(st.sampled_from(TEMPLATES[protocol]))
    path = draw(st.sampled_from(list(paths(template))))
    return json.dumps(replaced(template, path, draw(JSON_VALUES)))


def feed_checked(parser: Any, data: str) -> None:
    try:
        pieces = parser.feed(data)
    except LLMStreamError:
        return
    for piece in pieces:
        if isinstance(piece, Chunk):
            assert type(piece.text) is str, (data, piece)


def _property(protocol: str) -> Callable[[], None]:
    @SETTINGS
    @given(events=st.lists(mutated_events(protocol) | JSON_VALUES.map(json.dumps) | st.text(max_size=40), max_size=6))
    def check(events: list[str]) -> None:
        parser = PARSERS[protocol]()
        for data in events:
            feed_checked(parser, data)
        try:
            parser.close()
        except LLMStreamError:
            pass

    check.__name__ = f"test_{protocol.replace('-', '_')}_parser_gives_text_or_our_error"
    return check


test_openai_chat_parser = _property("openai-chat")
test_openai_completions_parser = _property("openai-completions")
test_anthropic_parser = _property("anthropic")
test_ollama_chat_parser = _property("ollama-chat")
test_ollama_generate_parser = _property("ollama-generate")


@SETTINGS
@given(reads=st.lists(st.binary(max_size=64), max_size=12))
def test_sse_decoder_takes_any_bytes(reads: list[bytes]) -> None:
    decoder = SSEDecoder()
    for read in reads:
        for event in decoder.feed(read):
            assert type(event.data) is str and type(event.event) is str
    assert decoder.close() == []


@SETTINGS
@given(body=st.binary(max_size=400), cuts=st.lists(st.integers(0, 400), max_size=8))
def test_sse_decoder_does_not_depend_on_where_reads_are_cut(body: bytes, cuts: list[int]) -> None:
    whole = SSEDecoder().feed(body)
    decoder, start, pieces = SSEDecoder(), 0, []
    for cut in sorted(set(cuts)):
        pieces.extend(decoder.feed(body[start:cut]))
        start = max(start, cut)
    pieces.extend(decoder.feed(body[start:]))
    assert [(e.event, e.data) for e in pieces] == [(e.event, e.data) for e in whole]


@SETTINGS
@given(reads=st.lists(st.binary(max_size=64), max_size=12))
def test_ndjson_splitter_takes_any_bytes(reads: list[bytes]) -> None:
    splitter = LineSplitter()
    lines = [line for read in reads for line in splitter.feed(read)] + splitter.close()
    assert all(type(line) is str and "\n" not in line for line in lines)
