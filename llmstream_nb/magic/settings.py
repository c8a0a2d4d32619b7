"""`%llmstream config key=value`: the magic's defaults, stored as traitlets traits.

The same traits are what `%config LLMStreamMagics.key = value` and `ipython_config.py`
set, so there is one source of truth whichever way a person prefers. Values are checked
by the trait before anything changes: `config temperature=hot model=x` changes nothing.
"""

from __future__ import annotations

import difflib
import os
import shlex
from typing import Any

from traitlets import HasTraits, TraitError, TraitType, Unicode

from ..errors import one_line
from ..options import parse_value, public_options
from ..registry import DEFAULT_MODEL, MODEL_ENV
from .arguments import MagicUsageError

#: Names accepted by `%llmstream config` besides the trait names themselves.
ALIASES = {"async": "async_mode"}


def setting_names(obj: HasTraits) -> list[str]:
    return sorted(obj.trait_names(config=True))


def apply_settings(obj: HasTraits, line: str) -> list[str]:
    """Set every `key=value` on `line`, all or none; return the trait names that were set."""
    try:
        items = shlex.split(line)
    except ValueError as exc:
        raise MagicUsageError(f"cannot read the settings ({exc})") from None
    if items == ["reset"]:
        defaults: dict[str, Any] = dict(obj.trait_defaults(*setting_names(obj)))  # type: ignore[arg-type]
        for name, value in defaults.items():
            setattr(obj, name, value)
        return list(defaults)
    values: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep:
            raise MagicUsageError(f"expected key=value, got {item!r}; `%llmstream config` alone lists the settings")
        name = resolve_name(obj, key)
        values[name] = convert(obj.traits()[name], raw.strip())
    before = {name: getattr(obj, name) for name in values}
    try:
        for name, value in values.items():
            setattr(obj, name, value)
    except TraitError as exc:
        for name, value in before.items():
            setattr(obj, name, value)
        raise MagicUsageError(one_line(str(exc)).rstrip(".")) from None
    return list(values)


def resolve_name(obj: HasTraits, key: str) -> str:
    """`max-tokens` and `async` name the traits `max_tokens` and `async_mode`; typos get a suggestion."""
    key = key.strip().replace("-", "_")
    name = ALIASES.get(key, key)
    known = setting_names(obj)
    if name not in known:
        close = difflib.get_close_matches(name, known + list(ALIASES), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise MagicUsageError(f"unknown setting {key!r}{hint}; settings: {', '.join(known)}")
    return name


def convert(trait: TraitType, raw: str) -> Any:
    """Text from the magic's line to a value: strings stay strings, the rest reads like the CLI's --opt."""
    if raw.lower() in ("none", "null") and trait.allow_none:
        return None
    if isinstance(trait, Unicode):
        return raw
    return parse_value(raw)


def format_settings(obj: HasTraits) -> str:
    """The current defaults, one per line, with where an unset model comes from."""
    lines = [f"llmstream defaults (set with %llmstream config key=value, or %config {type(obj).__name__}.key = value):"]
    for name in setting_names(obj):
        value = getattr(obj, name)
        if isinstance(value, dict):  # model_options may hold an api_key: never printed
            value = public_options(value)
        note = ""
        if name == "model" and value is None:
            source = f"${MODEL_ENV}" if os.environ.get(MODEL_ENV) else "the offline demo"
            note = f"  -> {os.environ.get(MODEL_ENV) or DEFAULT_MODEL} ({source})"
        lines.append(f"  {name:<14} {value!r}{note}")
    return "\n".join(lines)
