"""`demo`: the built-in offline model. No key, no network, no download.

A small n-gram language model (see `llmstream_nb.demo`) behind a simulated serving latency,
so streaming looks and feels like a real provider's. `ttft=0, tokens_per_second=0` makes it
instant, for tests and benchmarks.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, AsyncIterator, Iterator

from ..chunks import Chunk, ProviderTimings, Usage
from ..errors import ConfigurationError
from ..models.base import Model
from ..models.streams import Piece
from ..options import Request, bounded_number

if TYPE_CHECKING:
    from ..demo.lm import Generation

DEFAULT_TEMPERATURE = 0.8
DEFAULT_MAX_TOKENS = 256
#: A wait for the model shorter than this is not reported as loading (the model was ready).
LOAD_REPORTED_FROM = 0.01


#: The demo's simulated latency stays within what a lesson can wait for.
MAX_SECONDS = 600.0
MAX_RATE = 1_000_000.0


class DemoModel(Model):
    """The offline n-gram model with a configurable latency profile."""

    provider = "demo"
    default_model = "ngram"
    settings = ("ttft", "tokens_per_second", "jitter")
    extra_call_options = ("top_k", "min_tokens")
    #: Measures the wait for the trained model (first-use training, or the warm-up thread still at it).
    clock = staticmethod(time.perf_counter)

    def _configure(  # type: ignore[override]  # Model.__init__ passes only the names in `settings`
        self, ttft: float | None = None, tokens_per_second: float | None = None, jitter: float | None = None
    ) -> None:
        from ..demo import LatencyProfile
        from ..demo.warmup import warm_demo_model

        warm_demo_model()  # trains on a daemon thread now, not in the first stream's time to first token

        if self.model != self.default_model:
            raise ConfigurationError(
                f"unknown demo model {self.model!r}; the demo provider has one model: {self.default_model!r}"
            )
        base = LatencyProfile()
        self.latency = LatencyProfile(
            ttft=base.ttft if ttft is None else bounded_number("ttft", ttft, 0, MAX_SECONDS, "seconds"),
            tokens_per_second=base.tokens_per_second
            if tokens_per_second is None
            else bounded_number("tokens_per_second", tokens_per_second, 0, MAX_RATE, "tokens a second"),
            jitter=base.jitter if jitter is None else bounded_number("jitter", jitter, 0, MAX_SECONDS, "seconds"),
        )

    def _start(self, request: Request) -> tuple[Generation, float]:
        """Train on first use, retrieve the topic and build the generator: the CPU-heavy part.

        Also returns how long getting the trained model took: a loading cost, reported apart from
        the time to first token (as Ollama reports `load_duration`), not the model's latency.
        """
        from ..demo import DemoLM

        options = request.options
        started = self.clock()
        lm = DemoLM.shared()
        load = self.clock() - started
        try:
            return lm.generate(
                request.last_user_text,
                system=options.system,
                temperature=DEFAULT_TEMPERATURE if options.temperature is None else options.temperature,
                top_k=request.extra.get("top_k", 40),
                seed=options.seed,
                max_tokens=DEFAULT_MAX_TOKENS if options.max_tokens is None else options.max_tokens,
                stop=options.stop,
                top_logprobs=(options.top_logprobs or 0) if options.logprobs else 0,
                min_tokens=request.extra.get("min_tokens", 0),
            ), load
        except ValueError as exc:
            raise ConfigurationError(f"{self.name}: {exc}") from None

    def _pieces(self, request: Request, started: tuple[Generation, float]) -> Iterator[tuple[float, Piece]]:
        """Each piece with the delay before it: role chunk, the loading time if there was one, tokens,
        final chunk, usage."""
        generation, load = started
        options = request.options
        with_top = options.logprobs and bool(options.top_logprobs)
        delays = self.latency.delays(options.seed)
        yield 0.0, Chunk("")
        if load >= LOAD_REPORTED_FROM:
            yield 0.0, ProviderTimings(load=load)
        for token in generation:
            yield (
                next(delays),
                Chunk(
                    token.text,
                    logprob=token.logprob if options.logprobs else None,
                    top_logprobs=token.top_logprobs if with_top else None,
                ),
            )
        yield 0.0, Chunk("", finish_reason=generation.finish_reason or "stop")
        yield 0.0, Usage(prompt_tokens=generation.prompt_tokens, completion_tokens=generation.completion_tokens)

    def _stream_chunks(self, request: Request) -> Iterator[Piece]:
        for delay, piece in self._pieces(request, self._start(request)):
            if delay > 0:
                time.sleep(delay)
            yield piece

    async def _astream_chunks(self, request: Request) -> AsyncIterator[Piece]:
        started = await asyncio.to_thread(self._start, request)  # keeps the caller's loop free
        for delay, piece in self._pieces(request, started):
            if delay > 0:
                await asyncio.sleep(delay)
            yield piece

    @classmethod
    def status(cls, list_models: bool = True) -> Any:
        from ..models.base import ProviderStatus

        return ProviderStatus(cls.provider, True, "built in, offline, no key needed", [cls.default_model])
