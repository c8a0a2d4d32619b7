"""`StreamInterrupted`: what a blocking view raises when Jupyter's interrupt stops it.

An interrupted blocking cell must still fail, so "Run all" does not go on to the cells
queued after it; but a deliberate stop is not a crash, and the default traceback (the cell,
show.py, stream_view.py, sources.py, streams.py, the provider) is a wall of red under a view
that already shows "stopped" with the text so far.

IPython draws an exception that has `_render_traceback_()` with the lines that method
returns instead of a formatted traceback (terminal IPython and ipykernel alike, whatever
`%xmode`), so the person sees one line. `__tracebackhide__` cannot do this: IPython never
hides the frame an exception was raised in, so the traceback would still name our file.
Outside IPython the exception is an ordinary KeyboardInterrupt, raised `from None`.
"""

from __future__ import annotations

STOPPED_KEPT = "stream stopped by interrupt; the partial answer is kept in the view"
STOPPED_EMPTY = "stream stopped by interrupt before any text arrived"


class StreamInterrupted(KeyboardInterrupt):
    """A KeyboardInterrupt that stopped a view; IPython shows it as one line."""

    def _render_traceback_(self) -> list[str]:
        return [f"KeyboardInterrupt: {self}"]


def stream_interrupted(partial_text: str) -> StreamInterrupted:
    return StreamInterrupted(STOPPED_KEPT if partial_text else STOPPED_EMPTY)
