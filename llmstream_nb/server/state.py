"""One server instance's state, and the protocol-agnostic steps of answering a generation request.

Every protocol (OpenAI, Anthropic, Ollama) parses its own wire format, then asks this module to resolve the
model name and fault spec and answer a `status=` fault (`admit`), and to start the model (`start`). Fault
counters, the request log and the model cache live here, on the app instance, so two servers in one
process never share them.
"""

from __future__ import annotations

import asyncio
import hmac
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from ..chunks import Chunk
from ..errors import ConfigurationError
from ..models.base import Model
from ..models.streams import AsyncTokenStream
from ..options import PromptInput
from .faults import Event, FaultCounters, FaultSpec, FaultSpecError, combine, inject, split_model
from .log import RequestLog, RequestRecord
from .problem import Problem, UnknownModel
from .settings import Latency, ServerSettings

_MODEL_CACHE_SIZE = 32


@dataclass(frozen=True)
class Call:
    """A generation request once its model name is resolved: what to run and how to misbehave."""

    model_name: str
    spec: FaultSpec
    latency: Latency
    model: Model


@dataclass
class Generation:
    """A started answer: `events` to forward, and `stream`, which holds usage once `events` is exhausted."""

    events: AsyncIterator[Event]
    stream: AsyncTokenStream


class ServerState:
    """What one app instance keeps: settings, request log, fault counters, built models."""

    def __init__(self, settings: ServerSettings | None = None) -> None:
        self.settings = settings or ServerSettings()
        self.log = RequestLog(self.settings.log_size)
        self.counters = FaultCounters()
        self._models: dict[Latency, Model] = {}
        self._warm = False
        self._warm_lock = threading.Lock()

    # -- auth -------------------------------------------------------------------------------

    @property
    def requires_key(self) -> bool:
        return bool(self.settings.api_key)

    def key_matches(self, candidate: str | None) -> bool:
        """Constant-time comparison with the configured key (always True when none is configured)."""
        expected = self.settings.api_key
        if not expected:
            return True
        return candidate is not None and hmac.compare_digest(candidate.encode(), expected.encode())

    # -- models -----------------------------------------------------------------------------

    @property
    def served_model(self) -> str:
        """The id listed by `/v1/models` and `/api/tags`."""
        return self.settings.served_model

    @property
    def served_prefixes(self) -> tuple[str, ...]:
        return tuple(p.lower() for p in self.settings.served_prefixes)

    def warm_up(self) -> None:
        """Train the demo model now (about a second, once per process), so no request blocks the loop on it."""
        with self._warm_lock:
            if self._warm:
                return
            if self.settings.serves_demo:
                from ..demo import DemoLM

                DemoLM.shared()
            self._model(self.settings.latency)
            self._warm = True

    async def ensure_warm(self) -> None:
        if not self._warm:
            await asyncio.to_thread(self.warm_up)

    def _model(self, latency: Latency) -> Model:
        model = self._models.get(latency)
        if model is None:
            if len(self._models) >= _MODEL_CACHE_SIZE:
                self._models.clear()
            model = self._models[latency] = self.settings.model_factory(latency)
        return model

    def prepare(self, model_name: str, header_spec: str | None) -> Call:
        """Resolve `ngram+spec` and the fault header into a `Call`; raise a `Problem` (404/400) if they are wrong."""
        base, suffix = split_model(model_name)
        if not base.lower().startswith(self.served_prefixes):
            raise UnknownModel(base or model_name)
        try:
            spec = FaultSpec.parse(combine(suffix, header_spec))
        except FaultSpecError as exc:
            raise Problem(400, str(exc), param="model" if suffix else None, code="invalid_fault_spec") from None
        if not self.settings.serves_demo and (spec.ttft, spec.tps, spec.jitter) != (None, None, None):
            raise Problem(400, "ttft=, tps= and jitter= shape the demo model only", code="invalid_fault_spec")
        spec = self.counters.admit(spec)
        latency = self.settings.latency.override(spec.ttft, spec.tps, spec.jitter)
        try:
            model = self._model(latency)
        except (ConfigurationError, ValueError) as exc:
            raise Problem(400, f"invalid latency override: {exc}", code="invalid_fault_spec") from None
        return Call(base, spec, latency, model)

    def admit(
        self,
        model_name: str,
        header_spec: str | None,
        record: RequestRecord,
        headers: dict[str, str],
        status_problem: Callable[[int, str, str | None], Problem],
    ) -> Call:
        """`prepare`, then what every protocol does next: note the fault on `record` and in the response
        `headers`, and raise a `status=` fault as the protocol's own Problem (`status_problem(status, model,
        retry_after)`)."""
        call = self.prepare(model_name, header_spec)
        record.fault = call.spec.text or None
        if call.spec.is_fault:
            headers["x-llmstream-fault"] = call.spec.text
        if call.spec.status is not None:
            record.faults_fired.append(f"status={call.spec.status}")
            raise status_problem(call.spec.status, call.model_name, call.spec.retry_after_header())
        return call

    def admit_listing(
        self,
        header_spec: str | None,
        record: RequestRecord,
        model_name: str,
        status_problem: Callable[[int, str, str | None], Problem],
    ) -> None:
        """What a model-list route does with a fault header: count it, note it on `record`, and raise a
        `status=` fault as the protocol's own Problem; a spec that cannot be parsed is a 400."""
        if not header_spec:
            return
        try:
            spec = self.counters.admit(FaultSpec.parse(header_spec))
        except FaultSpecError as exc:
            raise Problem(400, str(exc), code="invalid_fault_spec") from None
        record.fault = spec.text
        if spec.status is not None:
            record.faults_fired.append(f"status={spec.status}")
            raise status_problem(spec.status, model_name, spec.retry_after_header())

    async def start(
        self, call: Call, prompt: PromptInput, options: dict[str, Any], record: RequestRecord
    ) -> Generation:
        """Start the model and take its first chunk, so bad options still get a 400 before any header is sent."""
        await self.ensure_warm()
        record.note_asked(prompt)
        try:
            stream = call.model.astream(prompt, **options)
            chunks = stream.__aiter__()
            first: Chunk | None = await chunks.__anext__()
        except StopAsyncIteration:
            first = None
        except (ConfigurationError, ValueError) as exc:
            raise Problem(400, str(exc)) from None
        return Generation(inject(first, chunks, call.spec, record), stream)

    def reset(self) -> None:
        """Forget fault counters and the request log (between tests that share a server)."""
        self.counters.reset()
        self.log.clear()
