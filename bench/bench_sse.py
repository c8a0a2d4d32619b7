"""How many µs per event SSE decoding costs, ours against httpx-sse and a floor with no spec handling.

    .venv/bin/python bench/bench_sse.py [--events 20000] [--repeat 7]

Builds a 20,000-event OpenAI chat stream (~280-byte chunk JSON, some non-ASCII tokens), cuts it into reads of
4 KiB, one per event (a server flushing each chunk) and 64 bytes, and prints the median over interleaved runs as a
Markdown table, decoding alone and with `json.loads` of each payload. Reads are prepared beforehand, so only
decoding is timed. The openai SDK row (its SSE decoder alone, no pydantic) is a reference when openai is installed.

`HttpxSSEDecoder` (httpx-sse's decoders behind our feed/close API) also serves tests/test_sse.py when run with
LLMSTREAM_SSE_DECODER=httpx-sse.
"""

from __future__ import annotations

import argparse
import codecs
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from llmstream_nb.http.sse import SSEEvent, iter_sse


class HttpxSSEDecoder:
    """httpx-sse 0.4.3 as EventSource.iter_sse uses it (SSELineDecoder, then SSEDecoder per line), fed by an
    incremental UTF-8 decoder as httpx's iter_text would, plus BOM stripping that iter_text lacks."""

    def __init__(self) -> None:
        from httpx_sse._decoders import SSEDecoder, SSELineDecoder

        self._text = codecs.getincrementaldecoder("utf-8-sig")("replace")
        self._lines = SSELineDecoder()
        self._events = SSEDecoder()
        self.retry: int | None = None  # the last retry it reported (it keeps none of its own)

    @property
    def last_event_id(self) -> str | None:
        return self._events._last_event_id or None

    def feed(self, data: bytes) -> list[SSEEvent]:
        text = self._text.decode(data)
        return self._dispatch(self._lines.decode(text) if text else [])

    def close(self) -> list[SSEEvent]:
        text = self._text.decode(b"", final=True)
        lines = self._lines.decode(text) if text else []
        return self._dispatch(lines + self._lines.flush())

    def _dispatch(self, lines: list[str]) -> list[SSEEvent]:
        events = []
        for line in lines:
            sse = self._events.decode(line)
            if sse is not None:
                self.retry = sse.retry if sse.retry is not None else self.retry
                events.append(SSEEvent(sse.event, sse.data, sse.id or None, sse.retry))
        return events


def iter_httpx_sse(chunks: Iterable[bytes]) -> Iterator[SSEEvent]:
    decoder = HttpxSSEDecoder()
    for chunk in chunks:
        yield from decoder.feed(chunk)
    yield from decoder.close()


def iter_floor(chunks: Iterable[bytes]) -> Iterator[str]:
    """The least any decoder must do: split events on b"\\n\\n", drop "data: ", decode. No spec handling."""
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        events = buffer.split(b"\n\n")
        buffer = events.pop()
        for event in events:
            yield event[6:].decode("utf-8")


def iter_openai_sdk(chunks: Iterable[bytes]) -> Iterator[object]:
    """The official SDK's decoder alone (no pydantic models), for reference."""
    from openai._streaming import SSEDecoder

    return SSEDecoder().iter_bytes(iter(chunks))


def make_stream(events: int) -> bytes:
    tokens = [" The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", ".", " café", " 🫧"]
    parts = []
    for i in range(events - 1):
        chunk = {
            "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
            "object": "chat.completion.chunk",
            "created": 1741570283,
            "model": "gpt-4o-2024-08-06",
            "service_tier": "default",
            "system_fingerprint": "fp_eb9dce56a8",
            "choices": [
                {"index": 0, "delta": {"content": tokens[i % len(tokens)]}, "logprobs": None, "finish_reason": None}
            ],
        }
        parts.append(b"data: " + json.dumps(chunk, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n")
    parts.append(b"data: [DONE]\n\n")
    return b"".join(parts)


def datas(events: Iterable[object]) -> list[str]:
    return [e if isinstance(e, str) else e.data for e in events]  # type: ignore[attr-defined]


def run(decode: Callable[[list[bytes]], Iterable[object]], reads: list[bytes], parse: bool) -> float:
    """CPU seconds of one full pass (process time, so other work on the machine barely shifts it), garbage
    collector paused as timeit does."""
    gc.collect()
    gc.disable()
    try:
        start = time.process_time()
        if parse:
            loads = json.loads
            for event in decode(reads):
                data = event if isinstance(event, str) else event.data  # type: ignore[attr-defined]
                if data != "[DONE]":
                    loads(data)
        else:
            for _ in decode(reads):
                pass
        return time.process_time() - start
    finally:
        gc.enable()


def cut_reads(stream: bytes, size: int | None) -> list[bytes]:
    """Reads of `size` bytes, or one read per event (size None), as a server flushing each chunk gives them."""
    if size is None:
        return [event + b"\n\n" for event in stream.split(b"\n\n")[:-1]]
    return [stream[i : i + size] for i in range(0, len(stream), size)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    stream = make_stream(args.events)
    floor_name = "floor: split on b'\\n\\n'"
    decoders: dict[str, Callable[[list[bytes]], Iterable[object]]] = {
        "ours (llmstream_nb.http.sse)": iter_sse,
        "httpx-sse 0.4.3 decoders": iter_httpx_sse,
        floor_name: iter_floor,
    }
    try:
        import openai

        decoders[f"openai {openai.__version__} SDK SSEDecoder, no json"] = iter_openai_sdk
    except ImportError:
        pass
    timed = [(name, parse) for name in decoders for parse in (False, True) if not (parse and "SDK" in name)]

    print(
        f"{args.events:,} events, {len(stream) / args.events:.0f} B/event, median of {args.repeat} interleaved runs, "
        f"Python {sys.version.split()[0]}\n"
    )
    print("| decoder | reads | µs/event | x floor | + json.loads µs/event | x floor |")
    print("|---|---|---:|---:|---:|---:|")
    for label, size in (("4 KiB", 4096), ("1 per event", None), ("64 B", 64)):
        reads = cut_reads(stream, size)
        expected = datas(iter_floor(reads))
        for name, decode in decoders.items():
            assert datas(decode(reads)) == expected, f"{name} decodes differently"
        # Interleaved, so that a noisy neighbour slows every decoder alike.
        runs: dict[tuple[str, bool], list[float]] = {key: [] for key in timed}
        for _ in range(args.repeat):
            for (name, parse), times in runs.items():
                times.append(run(decoders[name], reads, parse))
        us = {key: statistics.median(times) / args.events * 1e6 for key, times in runs.items()}
        for name in decoders:
            plain = us[name, False]
            cells = [f"{plain:.2f}", f"{plain / us[floor_name, False]:.1f}"]
            if (name, True) in us:
                cells += [f"{us[name, True]:.2f}", f"{us[name, True] / us[floor_name, True]:.2f}"]
            else:
                cells += ["", ""]
            print(f"| {name} | {label} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
