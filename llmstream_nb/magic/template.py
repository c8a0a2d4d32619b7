"""Filling `{name}` fields of a prompt from the notebook's namespace, without running code.

A prompt cell is text, not Python: `{name}`, `{name.attr}`, `{name[key]}`, conversions (`!r`)
and format specs (`:>10`) are allowed, `{{` and `}}` are literal braces, and anything else
(calls, operators, `{__import__('os')}`) is refused before a single name is looked up.
`str.format_map` would do the lookups too, but it accepts any field shape and reports a
missing name as a bare `KeyError`; here every problem is one line a learner can act on.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_FIELD = re.compile(rf"^({_NAME})((?:\.{_NAME}|\[[^\[\]]+\])*)$")
_STEP = re.compile(rf"\.({_NAME})|\[([^\[\]]+)\]")
_BRACES_HINT = "write {{ and }} for literal braces, or use --raw"


class TemplateError(ValueError):
    """A prompt field that cannot be filled; the message is one line for the notebook."""


@dataclass(frozen=True)
class FieldPath:
    """`name.attr[key]` split into the variable name and the steps after it."""

    text: str
    name: str
    steps: tuple[tuple[bool, str | int], ...]  # (is_attribute, attribute name or item key)


#: The widest field or longest precision a prompt template may ask for.
MAX_FORMAT_WIDTH = 10_000
_DIGITS = re.compile(r"\d+")


def parse_field(text: str) -> FieldPath:
    """Accept only a name followed by `.attr` and `[key]` steps; refuse everything else."""
    match = _FIELD.match(text)
    if not match:
        if text.strip() == "" or text.isdigit():
            raise TemplateError(
                f"the prompt has a positional field {{{text}}}; use a name such as {{x}}, or {_BRACES_HINT}"
            )
        raise TemplateError(
            f"the prompt field {{{text}}} is not a name: fields may be {{name}}, {{name.attr}} or {{name[key]}}; "
            + _BRACES_HINT
        )
    steps: list[tuple[bool, str | int]] = []
    for attribute, key in _STEP.findall(match.group(2)):
        if attribute:
            if attribute.startswith("__"):
                raise TemplateError(f"the prompt field {{{text}}} uses {attribute}; dunder attributes are not allowed")
            steps.append((True, attribute))
        else:
            steps.append((False, int(key) if key.isdigit() else key))
    return FieldPath(text, match.group(1), tuple(steps))


def field_names(template: str) -> list[str]:
    """Every field of `template` (format specs included), in order; raises on unmatched braces."""
    try:
        return list(_fields(template))
    except ValueError as exc:
        raise TemplateError(f"the prompt has an unmatched brace ({exc}); {_BRACES_HINT}") from None


def _fields(template: str) -> Iterator[str]:
    for _literal, field, spec, _conversion in string.Formatter().parse(template):
        if field is not None:
            yield field
        if spec:
            yield from _fields(spec)


def render_prompt(template: str, namespace: Mapping[str, Any]) -> str:
    """Fill the fields of `template` from `namespace` (the notebook's variables)."""
    paths = [parse_field(field) for field in field_names(template)]
    missing = list(dict.fromkeys(p.name for p in paths if p.name not in namespace))
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        raise TemplateError(f"the prompt uses {_join(missing)}, which {verb} not defined in this notebook")
    try:
        return _NamespaceFormatter(namespace).vformat(template, (), {})
    except TemplateError:
        raise
    except Exception as exc:  # a bad format spec or conversion: report it, never a traceback
        raise TemplateError(f"the prompt could not be filled: {type(exc).__name__}: {exc}") from None


def _join(names: Sequence[str]) -> str:
    fields = [f"{{{name}}}" for name in names]
    return fields[0] if len(fields) == 1 else ", ".join(fields[:-1]) + " and " + fields[-1]


class _NamespaceFormatter(string.Formatter):
    """`string.Formatter` whose fields are looked up, step by checked step, in one mapping."""

    def __init__(self, namespace: Mapping[str, Any]) -> None:
        self.namespace = namespace

    def format_field(self, value: Any, format_spec: str) -> Any:
        """Refuse a width or precision beyond `MAX_FORMAT_WIDTH` (also one taken from a variable):
        `{x:>999999999}` would build a gigabyte prompt and the cell would never return."""
        for digits in _DIGITS.findall(format_spec):
            if len(digits) > 6 or int(digits) > MAX_FORMAT_WIDTH:
                raise TemplateError(
                    f"the prompt's format spec {format_spec[:40]!r} asks for more than {MAX_FORMAT_WIDTH:,} characters"
                )
        return super().format_field(value, format_spec)

    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> tuple[Any, str]:
        path = parse_field(field_name)
        if path.name not in self.namespace:
            raise TemplateError(f"the prompt uses {{{path.name}}}, which is not defined in this notebook")
        value = self.namespace[path.name]
        for is_attribute, step in path.steps:
            try:
                value = getattr(value, step) if is_attribute else value[step]  # type: ignore[arg-type]
            except Exception as exc:
                raise TemplateError(f"the prompt field {{{path.text}}} failed: {type(exc).__name__}: {exc}") from None
        return value, path.name
