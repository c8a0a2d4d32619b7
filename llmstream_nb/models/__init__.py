"""The model interface and the streams it returns."""

from .base import Model
from .chat import Chat
from .streams import AsyncTokenStream, TokenStream

__all__ = ["AsyncTokenStream", "Chat", "Model", "TokenStream"]
