"""Reading untrusted JSON from a stream: whatever a server sends, the result is a value or a `ValueError`.

`json.loads` raises `RecursionError` on deeply nested arrays (`[[[[...`), and `ValueError` on integers
longer than CPython's 4,300-digit limit; callers already turn `ValueError` into a `MalformedStreamError`,
so `loads` makes every refusal a `ValueError`. `text_field` checks that a token is text, and names the
field when it is not (a number or an object where the answer belongs).
"""

from __future__ import annotations

import json
from typing import Any


def loads(data: str | bytes) -> Any:
    """`json.loads`, with nesting too deep for the interpreter reported as a `ValueError`."""
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


class FieldTypeError(TypeError):
    """A field that must hold text holds something else; `why` says which field and what it held."""

    def __init__(self, name: str, value: Any) -> None:
        self.why = f"{name} is {'null' if value is None else type(value).__name__}, not text"
        super().__init__(self.why)


def text_field(value: Any, name: str) -> str:
    """`value` when it is a string, "" when absent (None), else `FieldTypeError` naming the field."""
    if value.__class__ is str:
        return value  # type: ignore[no-any-return]
    if value is None:
        return ""
    if isinstance(value, str):
        return str(value)
    raise FieldTypeError(name, value)


def why_malformed(exc: BaseException, default: str) -> str:
    """What to say about data that is JSON but not the protocol's shape."""
    return f"{default} ({exc.why})" if isinstance(exc, FieldTypeError) else default
