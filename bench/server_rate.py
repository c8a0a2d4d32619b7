"""How many chunks per second the local server emits: `python -m bench.server_rate [--chunks N] [--runs R]`.

Client benchmarks (`python -m bench`) stream 20,000 chunks through the server in zero-latency mode; this
checks how much of what they measure is the server. A raw httpx client reads the bytes and counts SSE events (no parsing),
against two zero-latency servers: the demo model, and an instant model that yields ready-made tokens
(so what is left is the server's own cost). The demo model alone, without HTTP, is timed for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import AsyncIterator, Sequence

import httpx

from llmstream_nb.chunks import Chunk, Usage
from llmstream_nb.models.base import Model
from llmstream_nb.models.streams import Piece
from llmstream_nb.options import Request
from llmstream_nb.registry import get_model
from llmstream_nb.server.run import BackgroundServer
from llmstream_nb.server.settings import FAST, Latency, ServerSettings

PROMPT = "Tell me about trains"


class InstantModel(Model):
    """Yields `max_tokens` copies of one token with no work in between."""

    provider = "instant"
    default_model = "ngram"
    extra_call_options = ("top_k", "min_tokens")

    async def _astream_chunks(self, request: Request) -> AsyncIterator[Piece]:
        count = request.options.max_tokens or 256
        yield Chunk("")
        for _ in range(count):
            yield Chunk(" token")
        yield Chunk("", finish_reason="length")
        yield Usage(1, count)


def _instant(latency: Latency) -> Model:
    return InstantModel()


def server_rate(http: httpx.Client, chunks: int) -> float:
    """Chunks (SSE events) per second for one streamed chat answer of `chunks` tokens."""
    body = {
        "model": "ngram",
        "messages": [{"role": "user", "content": PROMPT}],
        "seed": 2,
        "max_tokens": chunks,
        "min_tokens": chunks,
        "stream": True,
    }
    started = time.perf_counter()
    events = 0
    with http.stream("POST", "/v1/chat/completions", json=body) as response:
        response.raise_for_status()
        for data in response.iter_raw():
            events += data.count(b"\n\n")
    return events / (time.perf_counter() - started)


def model_rate(chunks: int) -> float:
    """The demo model's own chunks per second through `astream`, without a server."""
    model = get_model("demo", ttft=0, tokens_per_second=0)

    async def run() -> float:
        started = time.perf_counter()
        count = 0
        async for _ in model.astream(PROMPT, seed=2, max_tokens=chunks, min_tokens=chunks):
            count += 1
        return count / (time.perf_counter() - started)

    return asyncio.run(run())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.server_rate", description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    rates: dict[str, list[float]] = {
        "demo model alone (astream, no HTTP)": [],
        "server + demo model": [],
        "server + instant model": [],
    }
    with (
        BackgroundServer(fast=True) as demo,
        BackgroundServer(settings=ServerSettings(FAST, model_factory=_instant)) as instant,
        httpx.Client(base_url=demo.url, timeout=120) as to_demo,
        httpx.Client(base_url=instant.url, timeout=120) as to_instant,
    ):
        model_rate(args.chunks), server_rate(to_demo, args.chunks), server_rate(to_instant, args.chunks)  # warm up
        for _ in range(args.runs):  # interleaved, so a busy machine slows all three alike
            rates["demo model alone (astream, no HTTP)"].append(model_rate(args.chunks))
            rates["server + demo model"].append(server_rate(to_demo, args.chunks))
            rates["server + instant model"].append(server_rate(to_instant, args.chunks))
    print(f"{args.chunks:,} chunks per answer, {args.runs} runs, median (min-max) chunks/s:")
    for name, values in rates.items():
        print(f"  {name:<38} {statistics.median(values):>9,.0f}  ({min(values):,.0f}-{max(values):,.0f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
