"""The values a stream carries: chunks, usage, timings and the finished answer.

A `Chunk` prints as its text, so `print(chunk, end="|")` shows token boundaries as on
LangChain's streaming page, while its slots keep the metadata a teacher or a benchmark
needs. Slots keep a chunk small: a 100,000-token answer is held in memory chunk by chunk.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

TEXT = "text"
REASONING = "reasoning"
#: A model's refusal to answer (OpenAI's `delta.refusal`), kept apart from the answer's text.
REFUSAL = "refusal"
#: A fragment of a tool call's arguments (see `llmstream_nb.tool_calls`): never part of the answer's text.
TOOL_CALL = "tool_call"


@dataclass(slots=True, eq=False)
class Chunk:
    """One piece of a streamed answer.

    `t` is the arrival time in seconds since the request was sent; `index` counts chunks
    from 0 in arrival order. `fallback` is True when the provider answered whole and this
    single chunk stands in for a stream.
    """

    text: str
    kind: str = TEXT
    index: int = 0
    t: float = 0.0
    finish_reason: str | None = None
    logprob: float | None = None
    top_logprobs: tuple[tuple[str, float], ...] | None = None
    fallback: bool = False
    #: The model's token ids this text came from, where the provider knows them (llama.cpp does).
    token_ids: tuple[int, ...] | None = None

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        extra = "".join(
            f", {name}={value!r}"
            for name in ("kind", "finish_reason", "logprob", "fallback")
            if (value := getattr(self, name)) not in (None, False, TEXT)
        )
        return f"Chunk({self.text!r}, index={self.index}, t={self.t:.4f}{extra})"

    def __len__(self) -> int:
        return len(self.text)

    def __eq__(self, other: object) -> bool:
        """A chunk equals its text, so `chunks == ["", "Spark", ...]` reads naturally."""
        if isinstance(other, Chunk):
            return (self.text, self.kind) == (other.text, other.kind)
        if isinstance(other, str):
            return self.text == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __add__(self, other: Chunk | str) -> Chunk:
        """Concatenate like LangChain's chunks: text joins, the later finish reason wins."""
        if isinstance(other, str):
            return Chunk(self.text + other, self.kind, self.index, self.t, self.finish_reason)
        return Chunk(
            self.text + other.text,
            self.kind,
            self.index,
            self.t,
            other.finish_reason or self.finish_reason,
            fallback=self.fallback and other.fallback,
        )

    @property
    def content(self) -> str:
        """Alias for chat-model habits (`chunk.content`)."""
        return self.text

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}  # type: ignore[attr-defined]


@dataclass(slots=True)
class Usage:
    """Token counts as the provider reported them (None where it did not)."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None

    @property
    def total_tokens(self) -> int | None:
        if self.prompt_tokens is None or self.completion_tokens is None:
            return None
        return self.prompt_tokens + self.completion_tokens

    def to_dict(self) -> dict[str, int | None]:
        return {**asdict(self), "total_tokens": self.total_tokens}


@dataclass(slots=True)
class Timings:
    """Where the time went, measured on our side of the wire.

    `ttft` is the time to the first chunk with text; `tokens_per_second` counts text chunks
    after the first one over the time they took, so it measures throughput, not latency.
    `load` is the time the provider said it spent loading the model first (the demo model's
    first-use training, Ollama's `load_duration`): a cost of the first request, not the model's
    latency, so `ttft` leaves it out and it is shown apart ("loaded in 0.8 s").
    """

    ttft: float | None = None
    elapsed: float = 0.0
    chunks: int = 0
    tokens_per_second: float | None = None
    load: float | None = None

    @classmethod
    def from_chunks(cls, chunks: list[Chunk], elapsed: float, load: float | None = None) -> Timings:
        times = [c.t for c in chunks if c.text]
        rate = None
        if len(times) > 1 and times[-1] > times[0]:
            rate = (len(times) - 1) / (times[-1] - times[0])
        ttft = without_load(times[0], load) if times else None
        return cls(ttft=ttft, elapsed=elapsed, chunks=len(times), tokens_per_second=rate, load=load)

    def to_dict(self) -> dict[str, float | int | None]:
        return asdict(self)


def without_load(first: float, load: float | None) -> float:
    """A first token's arrival minus the model's loading time, never below zero."""
    return max(0.0, first - load) if load else first


@dataclass(slots=True)
class ProviderTimings:
    """Where the time went, as the provider measured it on its side (Ollama and llama.cpp report it).

    Our `Timings` include the network and any queue in front of the model; these do not, so the two
    side by side show where a slow answer lost its time. Seconds and tokens per second; None where
    the provider did not say. Kept on the stream and the `Completion`, never on each chunk.
    """

    total: float | None = None
    load: float | None = None
    prompt: float | None = None
    generation: float | None = None
    prompt_tokens_per_second: float | None = None
    tokens_per_second: float | None = None

    def to_dict(self) -> dict[str, float | None]:
        return asdict(self)


@dataclass
class Completion:
    """A finished answer: what `invoke` returns and a stream leaves behind.

    Prints as its text. `reasoning` holds reasoning-model thoughts apart from the answer;
    `provider_timings` what the provider measured itself, if it reports that (None otherwise).
    """

    text: str
    chunks: list[Chunk] = field(default_factory=list, repr=False)
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    timings: Timings = field(default_factory=Timings)
    model: str = ""
    reasoning: str = ""
    provider_timings: ProviderTimings | None = None
    #: The tool calls the model asked for (`llmstream_nb.tool_calls.ToolCall`), in order; [] when none.
    tool_calls: list[Any] = field(default_factory=list)

    def __str__(self) -> str:
        return self.text

    @property
    def content(self) -> str:
        return self.text

    @property
    def streamed(self) -> bool:
        """False when the provider answered whole (one fallback chunk)."""
        return not any(c.fallback for c in self.chunks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "reasoning": self.reasoning,
            "finish_reason": self.finish_reason,
            "model": self.model,
            "usage": self.usage.to_dict(),
            "timings": self.timings.to_dict(),
            "provider_timings": self.provider_timings.to_dict() if self.provider_timings else None,
            "streamed": self.streamed,
            "tool_calls": [call.to_dict() for call in self.tool_calls],
        }
