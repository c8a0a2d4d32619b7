"""`show()`: display a stream (or a model's answer to a prompt) and run it, in one call."""

from __future__ import annotations

from typing import Any, Mapping

from .. import runtime
from ..models import Chat
from ..sources import as_model, is_async_source, is_model_like
from .stream_view import StreamView


def show(
    source_or_model: Any,
    prompt: Any = None,
    *,
    async_: bool | None = None,
    options: Mapping[str, Any] | None = None,
    **view_options: Any,
) -> StreamView:
    """Show a stream live and return its `StreamView`.

    `source_or_model` is a stream (anything `StreamView` takes) or, with `prompt`, a `Chat` (the
    answer is its next turn) or a model:
    a name for `get_model` (e.g. "demo"), our `Model`, or any model object `as_model` takes
    (a LangChain model or Runnable, anything with `stream()`/`astream()`); `options` go to its `stream()`.
    It runs as a task on the running loop (the cell returns at once) when `async_=True`,
    or when the source is async and `async_` is not False; otherwise the cell blocks until
    the stream ends. Without a running loop (plain Python) it always blocks.
    """
    running = runtime.loop_is_running()
    if isinstance(source_or_model, Chat):  # the next turn of a conversation, kept when it ends
        if prompt is None:
            raise TypeError("show(chat, prompt): a chat needs a prompt")
        use_async = bool(async_) and running
        chat, asked = source_or_model, dict(options or {})
        source: Any
        source = chat.astream(prompt, **asked) if use_async else chat.stream(prompt, **asked)
    elif isinstance(source_or_model, str) or is_model_like(source_or_model):
        if prompt is None:
            raise TypeError("show(model, prompt): a model needs a prompt")
        from ..registry import get_model

        model = get_model(source_or_model) if isinstance(source_or_model, str) else as_model(source_or_model)
        use_async = bool(async_) and running
        opened = model.astream if use_async else model.stream
        source = opened(prompt, **dict(options or {}))
    else:
        if prompt is not None or options:
            raise TypeError("a prompt and options go with a model; this source is already a stream")
        source = source_or_model
        use_async = running and (is_async_source(source) if async_ is None else async_)
    view = StreamView(source, **view_options)
    return view.start() if use_async else view.run()
