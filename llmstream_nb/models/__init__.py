"""The model interface and the streams it returns."""

from .base import Model
from .chat import Chat
from .streams import AsyncTokenStream, Piece, StreamRecord, TokenStream, one_chunk_pieces

__all__ = ["AsyncTokenStream", "Chat", "Model", "Piece", "StreamRecord", "TokenStream", "one_chunk_pieces"]
