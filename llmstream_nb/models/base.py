"""The model interface: invoke, ainvoke, batch, abatch, stream, astream, astream_events.

A provider implements what its wire protocol can do, any of:

- `_stream_chunks(request)` / `_astream_chunks(request)`: yield `Chunk`s (and `Usage`);
- `_complete(request)` / `_acomplete(request)`: return the whole answer as a `Completion`.

Everything else is derived here. A provider that can only answer whole still streams
(one chunk, the whole answer, marked `fallback=True`), as LangChain's page describes.
A sync-only provider is driven from async code on a worker thread, and an async-only one
from sync code on a worker thread with its own loop, so no event loop is ever blocked or
patched.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any, AsyncIterator, Callable, ClassVar, Iterator, Sequence, TypeVar

from ..chunks import Completion
from ..options import (
    GENERATION_OPTION_NAMES,
    GenerationOptions,
    PromptInput,
    Request,
    check_option_names,
    to_messages,
)
from . import bridge
from .events import stream_events
from .streams import AsyncTokenStream, Piece, TokenStream, one_chunk_pieces

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class ProviderStatus:
    """What `llmstream-nb models` shows for one provider. Never holds a key's value."""

    provider: str
    configured: bool
    detail: str
    models: list[str] = field(default_factory=list)
    error: str | None = None


class Model:
    """Base class of every model. Subclasses set `provider` and implement the hooks above."""

    provider: ClassVar[str] = "base"
    default_model: ClassVar[str] = ""
    #: Options a provider takes besides the generation options (e.g. base_url, api_key).
    settings: ClassVar[tuple[str, ...]] = ()
    #: Options forwarded per call besides the generation options (e.g. demo's min_tokens).
    extra_call_options: ClassVar[tuple[str, ...]] = ()

    def __init__(self, model: str | None = None, **options: Any) -> None:
        self.model = model or self.default_model
        known = sorted(GENERATION_OPTION_NAMES | set(self.settings) | set(self.extra_call_options))
        check_option_names(list(options), known, self.name)
        generation = {k: v for k, v in options.items() if k in GENERATION_OPTION_NAMES}
        self.options = GenerationOptions().merged(generation)
        self.extra = {k: v for k, v in options.items() if k in self.extra_call_options}
        self._configure(**{k: v for k, v in options.items() if k in self.settings})

    def _configure(self, **settings: Any) -> None:
        """Take provider settings (keys, URLs, timeouts). The base has none."""

    @property
    def name(self) -> str:
        return f"{self.provider}:{self.model}" if self.model else self.provider

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    @classmethod
    def status(cls, list_models: bool = True) -> ProviderStatus:
        """Configuration state for `llmstream-nb models`; HTTP providers add keys and server models."""
        return ProviderStatus(cls.provider, True, "built in", [cls.default_model] if cls.default_model else [])

    # -- what providers implement -------------------------------------------------------

    def _stream_chunks(self, request: Request) -> Iterator[Piece]:
        raise NotImplementedError

    def _astream_chunks(self, request: Request) -> AsyncIterator[Piece]:
        raise NotImplementedError

    def _complete(self, request: Request) -> Completion:
        raise NotImplementedError

    async def _acomplete(self, request: Request) -> Completion:
        raise NotImplementedError

    def _implements(self, hook: str) -> bool:
        return getattr(type(self), hook) is not getattr(Model, hook)

    @property
    def can_stream(self) -> bool:
        """True when the provider streams for real (not the one-chunk fallback)."""
        return self._implements("_stream_chunks") or self._implements("_astream_chunks")

    # -- requests -----------------------------------------------------------------------

    def _request(self, input: PromptInput, options: dict[str, Any]) -> Request:
        known = sorted(GENERATION_OPTION_NAMES | set(self.extra_call_options))
        check_option_names(list(options), known, self.name)
        merged = self.options.merged({k: v for k, v in options.items() if k in GENERATION_OPTION_NAMES})
        extra = {**self.extra, **{k: v for k, v in options.items() if k in self.extra_call_options}}
        return Request(messages=to_messages(input, merged.system), options=merged, extra=extra)

    # -- streaming ----------------------------------------------------------------------

    def stream(self, input: PromptInput, **options: Any) -> TokenStream:
        """Stream the answer as `Chunk`s; the returned stream keeps usage and timings."""
        request = self._request(input, options)
        return _asked(TokenStream(self._sync_pieces(request), self.name), input, request)

    def astream(self, input: PromptInput, **options: Any) -> AsyncTokenStream:
        """Async twin of `stream`, for `async for`."""
        request = self._request(input, options)
        return _asked(AsyncTokenStream(self._async_pieces(request), self.name), input, request)

    def _sync_pieces(self, request: Request) -> Iterator[Piece]:
        if self._implements("_stream_chunks"):
            return self._stream_chunks(request)
        if self._implements("_astream_chunks"):
            return bridge.iterate_async_in_thread(lambda: self._astream_chunks(request))
        return self._fallback_sync(request)

    def _async_pieces(self, request: Request) -> AsyncIterator[Piece]:
        if self._implements("_astream_chunks"):
            return self._astream_chunks(request)
        if self._implements("_stream_chunks"):
            return bridge.aiterate_sync_in_thread(self._stream_chunks(request))
        return self._fallback_async(request)

    def _fallback_sync(self, request: Request) -> Iterator[Piece]:
        yield from one_chunk_pieces(self._complete_sync(request))

    async def _fallback_async(self, request: Request) -> AsyncIterator[Piece]:
        for piece in one_chunk_pieces(await self._complete_async(request)):
            yield piece

    # -- whole answers ------------------------------------------------------------------

    def _complete_sync(self, request: Request) -> Completion:
        if self._implements("_complete"):
            return self._complete(request)
        if self._implements("_acomplete"):
            return bridge.run_coroutine_sync(lambda: self._acomplete(request))
        raise NotImplementedError(f"{type(self).__name__} implements no way to answer")

    async def _complete_async(self, request: Request) -> Completion:
        if self._implements("_acomplete"):
            return await self._acomplete(request)
        return await asyncio.to_thread(self._complete_sync, request)

    def invoke(self, input: PromptInput, **options: Any) -> Completion:
        """The whole answer. Streams under the hood where the provider can, so timings are real."""
        stream = self.stream(input, **options)
        with stream:
            for _ in stream:
                pass
        return stream.completion

    async def ainvoke(self, input: PromptInput, **options: Any) -> Completion:
        stream = self.astream(input, **options)
        async for _ in stream:
            pass
        return stream.completion

    # -- many at once -------------------------------------------------------------------

    def batch(
        self,
        inputs: Sequence[PromptInput],
        *,
        max_concurrency: int | None = None,
        return_exceptions: bool = False,
        **options: Any,
    ) -> list[Completion | Exception]:
        """Answer each input, at most `max_concurrency` at a time, in input order."""
        if not inputs:
            return []
        call = _maybe_capture(lambda item: self.invoke(item, **options), return_exceptions)
        workers = max(1, min(max_concurrency or len(inputs), len(inputs)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="llmstream-batch") as pool:
            futures = [pool.submit(call, item) for item in inputs]
            try:
                return [f.result() for f in futures]
            except BaseException:
                for f in futures:
                    f.cancel()
                raise

    async def abatch(
        self,
        inputs: Sequence[PromptInput],
        *,
        max_concurrency: int | None = None,
        return_exceptions: bool = False,
        **options: Any,
    ) -> list[Completion | Exception]:
        """Async twin of `batch`: the first error cancels the rest unless `return_exceptions`."""
        limit = asyncio.Semaphore(max_concurrency or len(inputs) or 1)

        async def one(item: PromptInput) -> Completion | Exception:
            async with limit:
                try:
                    return await self.ainvoke(item, **options)
                except Exception as exc:
                    if return_exceptions:
                        return exc
                    raise

        tasks = [asyncio.ensure_future(one(item)) for item in inputs]
        try:
            return list(await asyncio.gather(*tasks))
        finally:
            for task in tasks:
                task.cancel()

    # -- events -------------------------------------------------------------------------

    def astream_events(
        self,
        input: PromptInput,
        config: dict[str, Any] | None = None,
        *,
        version: str = "v2",
        include_names: Sequence[str] | None = None,
        include_types: Sequence[str] | None = None,
        include_tags: Sequence[str] | None = None,
        exclude_names: Sequence[str] | None = None,
        exclude_types: Sequence[str] | None = None,
        exclude_tags: Sequence[str] | None = None,
        **options: Any,
    ) -> AsyncIterator[dict[str, Any]]:
        """Events in LangChain's schema (`config` may carry tags, metadata and run_name)."""
        config = config or {}
        filters = {
            "include_names": include_names,
            "include_types": include_types,
            "include_tags": include_tags,
            "exclude_names": exclude_names,
            "exclude_types": exclude_types,
            "exclude_tags": exclude_tags,
        }
        return stream_events(
            self,
            input,
            version=version,
            tags=config.get("tags"),
            metadata=config.get("metadata"),
            run_name=config.get("run_name"),
            filters=filters,
            **options,
        )

    # -- resources ----------------------------------------------------------------------

    def close(self) -> None:
        """Release pooled connections. Models that hold none need not override this."""

    async def aclose(self) -> None:
        self.close()

    def __enter__(self) -> Model:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


S = TypeVar("S", TokenStream, AsyncTokenStream)


def _asked(stream: S, input: PromptInput, request: Request) -> S:
    """Note on the stream what it answers: the prompt and the generation options set."""
    stream.prompt = input
    stream.options = {k: v for k, v in asdict(request.options).items() if v not in (None, False)}
    return stream


def _maybe_capture(call: Callable[[T], R], capture: bool) -> Callable[[T], R | Exception]:
    if not capture:
        return call

    def captured(item: T) -> R | Exception:
        try:
            return call(item)
        except Exception as exc:
            return exc

    return captured
