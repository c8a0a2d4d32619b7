"""The model interface and the streams it returns."""

from .base import Model
from .streams import AsyncTokenStream, TokenStream

__all__ = ["AsyncTokenStream", "Model", "TokenStream"]
