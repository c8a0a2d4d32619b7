"""The model interface and the streams it returns."""

from .base import Model
from .streams import AsyncTokenStream, Piece, StreamRecord, TokenStream, one_chunk_pieces

__all__ = ["AsyncTokenStream", "Model", "Piece", "StreamRecord", "TokenStream", "one_chunk_pieces"]
