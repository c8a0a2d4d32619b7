"""Live views of a stream: `StreamView` and `show()` (a widget in a notebook, a printer elsewhere).

Importing this package does not import ipywidgets; a view imports it when it is made
inside a kernel.
"""

from .compare import Comparison, compare
from .events_view import EventsView
from .show import show
from .stream_view import StreamView

__all__ = ["Comparison", "EventsView", "StreamView", "compare", "show"]
