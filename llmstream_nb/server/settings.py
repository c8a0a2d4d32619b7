"""What a server instance is configured with: its default latency profile, its API key, its log size."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError

if TYPE_CHECKING:
    from ..models.base import Model

#: The environment variable `llmstream-nb serve` reads when `--api-key` is not given.
API_KEY_ENV = "LLMSTREAM_SERVER_API_KEY"
#: The id `/v1/models` lists for the demo model; any id starting with one of `DEMO_PREFIXES` is served by it.
DEMO_ID = "ngram"
DEMO_PREFIXES = ("ngram", "demo")


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


def named_model_factory(spec: str) -> tuple[Callable[[Latency], Model], str]:
    """For `serve --model SPEC` with a real model: a factory that builds it (and loads it, if it can be
    loaded ahead) once, and the id the server lists it under. A real model has its own latency, so the
    factory ignores the latency profile. Raises ConfigurationError at once if the model cannot be made."""
    from ..registry import get_model

    model = get_model(spec)
    load = getattr(model, "load", None)
    if callable(load):
        load()  # a local model: read its weights now, not on the first request
    served = Path(model.model).stem if model.model and model.model.endswith(".gguf") else model.model or model.provider
    return (lambda latency: model), served


@dataclass(frozen=True)
class ServerSettings:
    """A server's configuration. `model_factory` builds the served model for a latency profile."""

    latency: Latency = Latency()
    api_key: str | None = None
    log_size: int = 1000
    model_factory: Callable[[Latency], Model] = _demo_model
    #: The id `/v1/models` and `/api/tags` list; a request for any id starting with one of `served_prefixes`
    #: goes to the served model.
    served_model: str = DEMO_ID
    served_prefixes: tuple[str, ...] = DEMO_PREFIXES

    @property
    def serves_demo(self) -> bool:
        """True for the demo model, the only one whose latency the settings and `ttft=`/`tps=` faults shape."""
        return self.served_prefixes == DEMO_PREFIXES

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
        model: str | None = None,
        **more: Any,
    ) -> ServerSettings:
        """Settings from the flat arguments the CLI and `BackgroundServer` take; `fast` is zero latency.

        `model` ("llamacpp:smollm2", a GGUF path after "llamacpp:", any `get_model` name) serves that model
        instead of the demo; the latency arguments then do not apply.
        """
        if model and model.strip().lower() not in ("demo", "demo:ngram"):
            if ttft is not None or tps is not None or jitter is not None or fast:
                raise ConfigurationError(f"--ttft, --tps, --jitter and --fast shape the demo model only, not {model}")
            factory, served = named_model_factory(model)
            prefixes = (served, model.partition(":")[0].lower())
            return cls(api_key=api_key or None, model_factory=factory, served_model=served, served_prefixes=prefixes)
        base = FAST if fast else Latency()
        return cls(latency=base.override(ttft, tps, jitter), api_key=api_key or None, **more)
