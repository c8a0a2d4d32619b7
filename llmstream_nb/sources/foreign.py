"""A model object from elsewhere behind our `Model` interface: what `%%llmstream --llm` runs.

LangChain LLMs, chat models and Runnables, or any object with `stream()`/`astream()`,
become a `ForeignModel` whose streams are our `TokenStream`s, so the magic and the views
record chunks, usage and timings the same way whatever the object is. The object is the
caller's: it is configured by them (no generation options here) and never closed here.
"""

from __future__ import annotations

from typing import Any, AsyncIterator, Iterable, Iterator, Sequence

from ..chunks import Chunk
from ..errors import ConfigurationError
from ..models.base import Model
from ..models.bridge import aiterate_sync_in_thread, iterate_async_in_thread
from ..models.streams import AsyncTokenStream, Piece, TokenStream
from .iterators import aclose_source, close_source
from .langchain import answers_whole, is_langchain
from .reading import ItemReader

EXPECTED = "a Model, a LangChain model or Runnable, or an object with stream()/astream()"


def is_model_like(obj: Any) -> bool:
    """Our `Model`, or an instance (not a class) with a callable `stream` or `astream`."""
    if isinstance(obj, Model):
        return True
    if isinstance(obj, type):
        return False
    return callable(getattr(obj, "stream", None)) or callable(getattr(obj, "astream", None))


def as_model(obj: Any) -> Model:
    """`obj` as our `Model` (ours are returned as they are); TypeError, in one line, for anything else."""
    if isinstance(obj, Model):
        return obj
    if not is_model_like(obj):
        what = f"the class {obj.__name__} (make an instance)" if isinstance(obj, type) else f"a {type(obj).__name__}"
        raise TypeError(f"{what} is not a model: expected {EXPECTED}")
    return ForeignModel(obj)


def _label(obj: Any) -> str:
    """What the view's header calls it: the model's name if it has one, else the Runnable's or the class's."""
    for attribute in ("model_name", "model"):
        value = getattr(obj, attribute, None)
        if isinstance(value, str) and value:
            return value
    get_name = getattr(obj, "get_name", None)
    name = get_name() if callable(get_name) else None
    return name if isinstance(name, str) and name else type(obj).__name__


class ForeignModel(Model):
    """Wraps an object with `stream`/`astream`; whichever it lacks is bridged through a thread."""

    provider = "object"

    def __init__(self, obj: Any) -> None:
        self.obj = obj
        self.family = "langchain" if is_langchain(obj) else "object"
        super().__init__(model=_label(obj))

    @property
    def name(self) -> str:
        return f"{self.family}:{self.model}"

    @property
    def can_stream(self) -> bool:
        return not answers_whole(self.obj, async_api=False)

    def _no_options(self, options: dict[str, Any]) -> None:
        if options:
            raise ConfigurationError(
                f"{self.name} takes no call options ({', '.join(sorted(options))}): configure the object itself"
            )

    def stream(self, input: Any, **options: Any) -> TokenStream:
        """The object's `stream(input)` (or its `astream`, on a worker thread) as our stream."""
        self._no_options(options)
        stream = getattr(self.obj, "stream", None)
        if callable(stream):
            items: Iterable[Any] = stream(input)
            whole = answers_whole(self.obj, async_api=False)
        else:
            items = iterate_async_in_thread(lambda: self.obj.astream(input))
            whole = answers_whole(self.obj, async_api=True)
        return TokenStream(_pieces(items, whole), self.name)

    def astream(self, input: Any, **options: Any) -> AsyncTokenStream:
        """The object's `astream(input)` (or its `stream`, on a worker thread) as our stream."""
        self._no_options(options)
        astream = getattr(self.obj, "astream", None)
        if callable(astream):
            items: Any = astream(input)
            whole = answers_whole(self.obj, async_api=True)
        else:
            items = aiterate_sync_in_thread(iter(self.obj.stream(input)))
            whole = answers_whole(self.obj, async_api=False)
        return AsyncTokenStream(_apieces(items, whole), self.name)

    def astream_events(  # type: ignore[override]  # the object's own signature, passed through
        self,
        input: Any,
        config: dict[str, Any] | None = None,
        *,
        version: str = "v2",
        **kwargs: Any,
    ) -> AsyncIterator[dict[str, Any]]:
        """The object's own `astream_events` (a chain's nested runs), else ours over its stream."""
        own = getattr(self.obj, "astream_events", None)
        if callable(own):
            filters = {k: v for k, v in kwargs.items() if v is not None}
            return own(input, config, version=version, **filters)  # type: ignore[no-any-return]
        return super().astream_events(input, config, version=version, **_filters(kwargs))

    def __repr__(self) -> str:
        return f"<ForeignModel {self.name}>"


def _filters(kwargs: dict[str, Any]) -> dict[str, Sequence[str] | None]:
    """Our `astream_events` takes the include/exclude filters only."""
    unknown = sorted(k for k in kwargs if not k.startswith(("include_", "exclude_")))
    if unknown:
        raise ConfigurationError(f"astream_events takes no {', '.join(unknown)} for this object")
    return kwargs


def _mark(pieces: list[Piece], whole: bool) -> list[Piece]:
    """A model that answered whole gave one chunk standing in for a stream: say so."""
    if whole:
        for piece in pieces:
            if isinstance(piece, Chunk):
                piece.fallback = True
    return pieces


def _pieces(items: Iterable[Any], whole: bool) -> Iterator[Piece]:
    reader = ItemReader()
    iterator = iter(items)
    try:
        for item in iterator:
            yield from _mark(reader(item), whole)
    finally:
        close_source(iterator)


async def _apieces(items: Any, whole: bool) -> AsyncIterator[Piece]:
    reader = ItemReader()
    try:
        async for item in items:
            for piece in _mark(reader(item), whole):
                yield piece
    finally:
        await aclose_source(items)
