"""`replay`: plays a recording (llmstream_nb.recording) back as a live stream, with no network.

`get_model("replay:run.jsonl", speed=2.0)`: the recorded chunks, with their kinds, logprobs,
finish reasons and fallback marks, arrive at their recorded times (divided by `speed`; 0 is
instant: see pacing.py, which slow motion shares), then the recorded usage; a recording of a failed stream fails the same way, with the
same error type and message, after the same partial text.

Each chunk is due at `start + t / speed`, not after a `sleep(gap)`: a sleep that overshoots
never delays the chunks after it, so a long replay keeps the recorded pace to its end. The
clock and the sleeps are injectable (`clock=`, `sleep=`, `asleep=` on the model), like `SlowMotion`'s,
so tests replay a recording's pace without waiting for it.

A replay answers any prompt with the recorded answer (it is a recording, not a model), but
warns once per differing prompt when the prompt it is given is not the recorded one: a
teacher who edited the cell learns that the class sees the old answer. The file is read
when the model is made (a missing or malformed one fails at once) and again whenever it
has changed, so a notebook that re-records into the same path replays the new answer.
"""

from __future__ import annotations

import asyncio
import os
import time
import warnings
from dataclasses import replace
from typing import Any, AsyncIterator, Awaitable, Callable, Iterator, Mapping

from ..errors import ConfigurationError, one_line
from ..models import Piece
from ..models.base import Model, ProviderStatus
from ..options import Request
from ..pacing import Clock, check_speed, due_time
from ..recording import HOW_TO_RECORD, Recording, load, resolve

#: (seconds since the start, piece or None); None only waits (for the recorded end).
_Step = tuple[float, Piece | None]


class ReplayModel(Model):
    """Replays the recording at `replay:PATH`; `speed` (default 1.0) is a model or per-call option."""

    provider = "replay"
    extra_call_options = ("speed",)
    #: The clock the recorded times are kept by, and the waits: replaced in tests, as in `SlowMotion`.
    clock: Clock = staticmethod(time.perf_counter)  # type: ignore[assignment]
    sleep: Callable[[float], Any] = staticmethod(time.sleep)
    asleep: Callable[[float], Awaitable[Any]] = staticmethod(asyncio.sleep)

    def _configure(self, **settings: Any) -> None:  # no settings: `speed` is a per-call option
        if not self.model:
            raise ConfigurationError(
                f"the replay provider needs a recording: get_model('replay:run.jsonl') ({HOW_TO_RECORD})"
            )
        _speed(self.extra)
        self.path = resolve(self.model)
        self._stamp = _file_stamp(self.path)
        self._loaded = load(self.path)  # now: a bad file fails when the model is made, not mid-lesson

    @property
    def recording(self) -> Recording:
        """The recording, read again if the file changed since it was last read."""
        stamp = _file_stamp(self.path)
        if stamp != self._stamp:
            self._loaded, self._stamp = load(self.path), stamp
        return self._loaded

    @classmethod
    def status(cls, list_models: bool = True) -> ProviderStatus:
        return ProviderStatus(cls.provider, True, "plays recordings: replay:PATH (speed=2 twice as fast, 0 instant)")

    # -- streaming ----------------------------------------------------------------------

    def _stream_chunks(self, request: Request) -> Iterator[Piece]:
        steps, speed, recording = self._begin(request)
        start = self.clock()
        for due, piece in steps:
            wait = due_time(start, due, speed) - self.clock()
            if wait > 0:
                self.sleep(wait)
            if piece is not None:
                yield piece
        _raise_recorded_error(recording)

    async def _astream_chunks(self, request: Request) -> AsyncIterator[Piece]:
        steps, speed, recording = self._begin(request)
        start = self.clock()
        for due, piece in steps:
            wait = due_time(start, due, speed) - self.clock()
            if wait > 0:
                await self.asleep(wait)
            if piece is not None:
                yield piece
        _raise_recorded_error(recording)

    def _begin(self, request: Request) -> tuple[list[_Step], float, Recording]:
        speed = _speed(request.extra)
        recording = self.recording
        self._warn_if_asked_otherwise(recording, request)
        return _steps(recording), speed, recording

    def _warn_if_asked_otherwise(self, recording: Recording, request: Request) -> None:
        recorded = recording.prompt_text
        asked = request.last_user_text
        if recorded is not None and recorded.strip() != asked.strip():
            message = f"{self.name} replays its answer to {recorded!r:.80}, not to {asked!r:.80}"
            warnings.warn(one_line(message), UserWarning, stacklevel=2)


def _steps(recording: Recording) -> list[_Step]:
    """Fresh chunks (streams stamp them), then the end: usage and provider timings, or just the wait."""
    steps: list[_Step] = [(chunk.t, replace(chunk)) for chunk in recording.chunks]
    steps.append((recording.end, None))
    if any(value is not None for value in (recording.usage.prompt_tokens, recording.usage.completion_tokens)):
        steps.append((recording.end, replace(recording.usage)))
    if recording.provider_timings is not None:
        steps.append((recording.end, recording.provider_timings))
    return steps


def _raise_recorded_error(recording: Recording) -> None:
    if recording.error is not None:
        raise recording.error.to_exception()


def _speed(options: Mapping[str, Any]) -> float:
    return check_speed(options.get("speed", 1.0), "replay speed")


def _file_stamp(path: os.PathLike[str]) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size
