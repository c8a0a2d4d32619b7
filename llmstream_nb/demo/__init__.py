"""The built-in offline ``demo`` model: a small n-gram language model trained on a packaged corpus.

Importing this package is cheap; the model trains on the first ``DemoLM.shared()`` call and the
tokenizer learns its vocabulary on the first ``tokenize`` call.
"""

from .latency import LatencyProfile
from .lm import DemoLM, Generation, Token
from .tokenizer import count_tokens, tokenize

__all__ = ["DemoLM", "Generation", "LatencyProfile", "Token", "count_tokens", "tokenize"]
