"""SSE decoding against the WHATWG rules (HTML 9.2.5-9.2.6) and the recorded provider streams.

LLMSTREAM_SSE_DECODER=httpx-sse runs the decoder tests against httpx-sse's decoders instead of ours: that is the
evidence behind the choice stated in llmstream_nb/http/sse.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wire import (
    FIXTURES_DIR,
    NEWLINES,
    Flavour,
    fixture_flavour,
    fixture_names,
    fixture_payloads,
    fixture_wire,
    random_splits,
    wire_bytes,
)

from llmstream_nb.http.sse import SSEDecoder, SSEEvent, aiter_sse, iter_sse


def _decoder_class() -> type[SSEDecoder]:
    if os.environ.get("LLMSTREAM_SSE_DECODER") == "httpx-sse":
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
        from bench_sse import HttpxSSEDecoder

        return HttpxSSEDecoder  # type: ignore[return-value]
    return SSEDecoder


Decoder = _decoder_class()


def decode(*reads: bytes) -> list[SSEEvent]:
    """Every event a fresh decoder yields for these reads, end of stream included."""
    decoder = Decoder()
    events = [event for read in reads for event in decoder.feed(read)]
    return events + decoder.close()


def datas(*reads: bytes) -> list[str]:
    return [event.data for event in decode(*reads)]


# --- Line ends -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("nl", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "CR"])
def test_each_line_end_style_ends_lines_and_events(nl: bytes) -> None:
    assert decode(b"data: a" + nl + b"data: b" + nl + nl + b"data: c" + nl + nl) == [
        SSEEvent(data="a\nb"),
        SSEEvent(data="c"),
    ]


def test_mixed_line_ends_in_one_stream() -> None:
    assert datas(b"data: a\rdata: b\r\ndata: c\n\r\n") == ["a\nb\nc"]


def test_crlf_split_across_two_reads_is_one_line_end_not_an_extra_blank_line() -> None:
    # Were the lone LF a blank line, "a" and "b" would come out as two events.
    assert datas(b"data: a\r", b"\ndata: b\r\n\r\n") == ["a\nb"]


def test_crlf_split_after_a_blank_line_dispatches_once() -> None:
    assert datas(b"data: a\r\n\r", b"\ndata: b\r\n\r\n") == ["a", "b"]


def test_an_event_ended_by_cr_is_returned_by_the_read_that_ends_it() -> None:
    # A CR-only stream must not wait for the next network read (which may be seconds away) to see its event.
    assert [e.data for e in Decoder().feed(b"data: a\r\r")] == ["a"]


def test_empty_reads_change_nothing() -> None:
    assert datas(b"", b"data: a\r", b"", b"\n\r\n", b"") == ["a"]


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e"])
def test_other_unicode_line_breaks_stay_inside_the_data(char: str) -> None:
    # str.splitlines (and so httpx's iter_lines) would cut the line here.
    assert datas(f"data: a{char}b\n\n".encode()) == [f"a{char}b"]


# --- Bytes and UTF-8 -------------------------------------------------------------------------------------------


def test_multibyte_characters_survive_one_byte_reads() -> None:
    wire = "data: café 🫧 naïve\n\n".encode()
    assert datas(*random_splits(wire, list(range(len(wire))))) == ["café 🫧 naïve"]


def test_invalid_utf8_bytes_become_replacement_characters() -> None:
    assert datas(b"data: \xff ok\n\n") == ["\ufffd ok"]


def test_a_truncated_character_at_a_line_end_does_not_swallow_the_line_end() -> None:
    assert datas(b"data: \xe2\x82\n\ndata: b\n\n") == ["\ufffd", "b"]


def test_a_leading_bom_is_stripped() -> None:
    # Left in place it would make the first field "\ufeffdata", an unknown field, and the event would be lost.
    assert datas(b"\xef\xbb\xbfdata: a\n\n") == ["a"]


def test_a_leading_bom_split_across_reads_is_stripped() -> None:
    assert datas(b"\xef", b"\xbb", b"\xbfdata: a\n\n") == ["a"]


def test_only_the_first_bom_is_stripped() -> None:
    assert datas(b"\xef\xbb\xbfdata: a\n\n\xef\xbb\xbfdata: b\n\ndata: \xef\xbb\xbfc\n\n") == ["a", "\ufeffc"]


# --- Fields ----------------------------------------------------------------------------------------------------


def test_comment_lines_are_ignored() -> None:
    assert datas(b": keep-alive\n\ndata: a\n: between data lines\ndata: b\n\n") == ["a\nb"]


def test_data_lines_are_joined_with_newlines() -> None:
    assert datas(b"data: a\ndata:\ndata: c\n\n") == ["a\n\nc"]


def test_one_leading_space_after_the_colon_is_stripped() -> None:
    assert datas(b"data:  two spaces\n\ndata:none\n\n") == [" two spaces", "none"]


def test_colons_inside_a_value_are_kept() -> None:
    assert datas(b'data: {"a": "b:c"}\n\n') == ['{"a": "b:c"}']


def test_a_field_line_without_a_colon_has_an_empty_value() -> None:
    assert datas(b"data\ndata\n\n") == ["\n"]


def test_data_with_an_empty_value_still_dispatches_an_event() -> None:
    assert datas(b"data:\n\n") == [""]


def test_event_sets_the_type_for_one_event_only() -> None:
    assert [e.event for e in decode(b"event: content_block_delta\ndata: a\n\ndata: b\n\n")] == [
        "content_block_delta",
        "message",
    ]


def test_an_empty_event_type_means_message() -> None:
    assert [e.event for e in decode(b"event:\ndata: a\n\n")] == ["message"]


def test_a_block_without_data_is_not_dispatched() -> None:
    assert decode(b"event: ping\n\nid: 1\n\nretry: 10\n\n: comment\n\n") == []


def test_a_block_without_data_does_not_leak_its_event_type() -> None:
    assert [e.event for e in decode(b"event: ping\n\ndata: a\n\n")] == ["message"]


def test_extra_blank_lines_after_an_event_with_an_id_yield_no_empty_events() -> None:
    # Keep-alive blank lines must not turn into events a provider would then try to json.loads.
    assert datas(b"id: 1\ndata: a\n\n\n\n") == ["a"]


def test_id_is_kept_for_later_events() -> None:
    assert [e.id for e in decode(b"data: a\n\nid: 7\ndata: b\n\ndata: c\n\nid:\ndata: d\n\n")] == [None, "7", "7", ""]


def test_an_id_containing_nul_is_ignored() -> None:
    assert [e.id for e in decode(b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n")] == ["1", "1"]


def test_retry_in_digits_sets_the_reconnection_time() -> None:
    assert [e.retry for e in decode(b"retry: 3000\ndata: a\n\ndata: b\n\n")] == [3000, None]


def test_retry_in_a_block_without_data_still_sets_the_reconnection_time() -> None:
    decoder = Decoder()
    decoder.feed(b"retry: 10\n\n")
    assert decoder.retry == 10


@pytest.mark.parametrize(
    "value",
    [b"-1", b"+5", b"1_000", b"1.5", b" 7", b"7 ", b"\xd9\xa3", b"", pytest.param(b"9" * 5000, id="5000 digits")],
)
def test_retry_that_is_not_only_ascii_digits_is_ignored(value: bytes) -> None:
    assert [e.retry for e in decode(b"retry: " + value + b"\ndata: a\n\n")] == [None]


def test_unknown_fields_are_ignored() -> None:
    assert decode(b"foo: bar\nData: x\ndata : y\ndata: a\n\n") == [SSEEvent(data="a")]


# --- End of stream ---------------------------------------------------------------------------------------------


def test_an_event_without_its_closing_blank_line_is_discarded() -> None:
    assert datas(b"data: a\n\ndata: b\n") == ["a"]


def test_a_last_line_without_a_line_end_is_still_processed() -> None:
    decoder = Decoder()
    decoder.feed(b"data: a\n\nid: 7")
    decoder.close()
    assert decoder.last_event_id == "7"


# --- iter_sse / aiter_sse --------------------------------------------------------------------------------------


def test_iter_sse_yields_each_event_before_the_next_read() -> None:
    def reads() -> Iterator[bytes]:
        yield b"data: a\n\n"
        raise AssertionError("read more than needed")

    assert next(iter_sse(reads())) == SSEEvent(data="a")


@pytest.mark.asyncio
async def test_aiter_sse_decodes_split_reads() -> None:
    async def reads() -> AsyncIterator[bytes]:
        for read in (b"event: x\r", b"\ndata: caf\xc3", b"\xa9\r\n", b"\r\ndata: b\n", b"\n"):
            await asyncio.sleep(0)
            yield read

    assert [e async for e in aiter_sse(reads())] == [SSEEvent("x", "café"), SSEEvent(data="b")]


@pytest.mark.asyncio
async def test_aiter_sse_yields_each_event_before_the_next_read() -> None:
    async def reads() -> AsyncIterator[bytes]:
        yield b"data: a\n\n"
        raise AssertionError("read more than needed")

    assert await anext(aiter_sse(reads())) == SSEEvent(data="a")


# --- wire.py ---------------------------------------------------------------------------------------------------


def test_fixtures_are_present() -> None:
    assert fixture_names(), f"no *.chunks.jsonl in {FIXTURES_DIR}"


def test_openai_wire_ends_with_done() -> None:
    wire = fixture_wire("azure-openai-chat-text", "\r\n")
    assert wire.startswith(b"data: {") and wire.endswith(b"}\r\n\r\ndata: [DONE]\r\n\r\n")


def test_anthropic_wire_names_each_event_by_its_type() -> None:
    assert fixture_wire("anthropic-messages-text").startswith(b'event: message_start\ndata: {"type":"message_start"')


def test_random_splits_join_back() -> None:
    assert random_splits(b"abcdef", [4, 0, 2, 2, 99]) == [b"ab", b"cd", b"ef"]


# --- Any split of a whole stream -------------------------------------------------------------------------------

# Fixture-like OpenAI stream with multi-byte characters and, inside the data, the line breaks SSE must not split on.
SYNTHETIC_PAYLOADS = [
    json.dumps({"choices": [{"delta": {"content": text}, "index": 0}]}, ensure_ascii=False)
    for text in ["café 🫧 naïve", " line\u2028separator", " para\u2029graph \x85 nel", "日本語", ""]
] + ['{"raw": "vt\x0b ff\x0c fs\x1c gs\x1d rs\x1e"}']
STREAMS = {name: (fixture_payloads(name), fixture_flavour(name)) for name in fixture_names()}
STREAMS["synthetic-openai-unicode"] = (SYNTHETIC_PAYLOADS, "openai")


def expected_events(payloads: list[str], flavour: Flavour) -> list[tuple[str, str]]:
    if flavour == "anthropic":
        return [(json.loads(payload)["type"], payload) for payload in payloads]
    return [("message", payload) for payload in payloads] + [("message", "[DONE]")]


def events_of(reads: list[bytes]) -> list[tuple[str, str]]:
    return [(event.event, event.data) for event in decode(*reads)]


@pytest.mark.parametrize("newline", NEWLINES, ids=["LF", "CRLF", "CR"])
@pytest.mark.parametrize("name", sorted(STREAMS))
def test_one_byte_reads_decode_every_stream(name: str, newline: str) -> None:
    payloads, flavour = STREAMS[name]
    wire = wire_bytes(payloads, flavour, newline)
    assert events_of(random_splits(wire, list(range(len(wire))))) == expected_events(payloads, flavour)


@pytest.mark.parametrize("newline", NEWLINES, ids=["LF", "CRLF", "CR"])
@pytest.mark.parametrize("name", sorted(STREAMS))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(draw=st.data())
def test_any_split_decodes_every_stream(name: str, newline: str, draw: st.DataObject) -> None:
    payloads, flavour = STREAMS[name]
    wire = wire_bytes(payloads, flavour, newline)
    cuts = draw.draw(st.lists(st.integers(0, len(wire)), max_size=40), label="cuts")
    assert events_of(random_splits(wire, cuts)) == expected_events(payloads, flavour)
