"""What a server instance is configured with: its default latency profile, its API key, its log size."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..models.base import Model

#: The environment variable `llmstream-nb serve` reads when `--api-key` is not given.
API_KEY_ENV = "LLMSTREAM_SERVER_API_KEY"


@dataclass(frozen=True)
class Latency:
    """The demo model's simulated latency. None keeps the demo model's own (realistic) default."""

    ttft: float | None = None
    tps: float | None = None
    jitter: float | None = None

    def override(self, ttft: float | None = None, tps: float | None = None, jitter: float | None = None) -> Latency:
        """A copy with the given values replaced (None leaves a value as it is)."""
        return replace(
            self,
            ttft=self.ttft if ttft is None else ttft,
            tps=self.tps if tps is None else tps,
            jitter=self.jitter if jitter is None else jitter,
        )

    @property
    def is_zero(self) -> bool:
        """True when the model never waits: the server may then batch writes (see streaming.py)."""
        return self.ttft == 0 and self.tps is not None and self.tps <= 0

    def model_options(self) -> dict[str, float]:
        """The keyword arguments `get_model("demo", ...)` takes for this profile."""
        names = {"ttft": self.ttft, "tokens_per_second": self.tps, "jitter": self.jitter}
        return {k: v for k, v in names.items() if v is not None}


FAST = Latency(0.0, 0.0, 0.0)


def _demo_model(latency: Latency) -> Model:
    from ..registry import get_model

    return get_model("demo", **latency.model_options())


@dataclass(frozen=True)
class ServerSettings:
    """A server's configuration. `model_factory` builds the served model for a latency profile."""

    latency: Latency = Latency()
    api_key: str | None = None
    log_size: int = 1000
    model_factory: Callable[[Latency], Model] = _demo_model

    def __repr__(self) -> str:  # never show the key
        key = "set" if self.api_key else "none"
        return f"ServerSettings(latency={self.latency}, api_key={key}, log_size={self.log_size})"

    @classmethod
    def build(
        cls,
        *,
        ttft: float | None = None,
        tps: float | None = None,
        jitter: float | None = None,
        fast: bool = False,
        api_key: str | None = None,
        **more: Any,
    ) -> ServerSettings:
        """Settings from the flat arguments the CLI and `BackgroundServer` take; `fast` is zero latency."""
        base = FAST if fast else Latency()
        return cls(latency=base.override(ttft, tps, jitter), api_key=api_key or None, **more)
