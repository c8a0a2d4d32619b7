"""Finding models by name: `get_model("provider:model", **options)`.

Providers are registered by import path and imported on first use, so `import
llmstream_nb` stays light (no httpx until an HTTP model is asked for).
"""

from __future__ import annotations

import difflib
import importlib
import os
from typing import Any

from .errors import ConfigurationError
from .models.base import Model, ProviderStatus
from .models.chat import use_model_factory

DEFAULT_MODEL = "demo"
MODEL_ENV = "LLMSTREAM_MODEL"

_PROVIDERS: dict[str, str | type[Model]] = {
    "demo": "llmstream_nb.providers.demo:DemoModel",
    "anthropic": "llmstream_nb.providers.anthropic:AnthropicModel",
    "gemini": "llmstream_nb.providers.gemini:GeminiModel",
    "openai": "llmstream_nb.providers.openai:OpenAIModel",
    "ollama": "llmstream_nb.providers.ollama:OllamaModel",
    "replay": "llmstream_nb.providers.replay:ReplayModel",
    "llamacpp": "llmstream_nb.providers.llamacpp:LlamaCppModel",
}


def register_provider(name: str, target: str | type[Model]) -> None:
    """Make `get_model("name:...")` build `target` (a Model subclass or "module:Class")."""
    _PROVIDERS[name] = target


def provider_names() -> list[str]:
    return sorted(_PROVIDERS)


def provider_class(name: str) -> type[Model]:
    try:
        target = _PROVIDERS[name]
    except KeyError:
        close = difflib.get_close_matches(name, _PROVIDERS, n=1)
        suggestion = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigurationError(
            f"unknown provider {name!r}.{suggestion} Known providers: {', '.join(provider_names())}"
        ) from None
    if isinstance(target, str):
        module_name, _, attr = target.partition(":")
        target = getattr(importlib.import_module(module_name), attr)
        _PROVIDERS[name] = target
    return target


def split_spec(spec: str) -> tuple[str, str | None]:
    """ "openai:gpt-4o-mini" -> ("openai", "gpt-4o-mini"); "demo" -> ("demo", None)."""
    provider, sep, model = spec.strip().partition(":")
    return provider.strip().lower(), (model.strip() or None) if sep else None


def get_model(spec: str | Model | None = None, **options: Any) -> Model:
    """Build a model from "provider:model" (default: $LLMSTREAM_MODEL, else the offline demo)."""
    if isinstance(spec, Model):
        if options:
            raise ConfigurationError("options cannot be applied to a model object; pass them when you create it")
        return spec
    spec = spec or os.environ.get(MODEL_ENV) or DEFAULT_MODEL
    if not isinstance(spec, str):
        raise ConfigurationError(
            f"cannot make a model from a {type(spec).__name__}; give 'provider:model' text or a model object"
        )
    provider, model = split_spec(spec)
    if not provider:
        raise ConfigurationError(
            f"no provider in model name {spec!r}; use 'provider:model', e.g. 'demo' or 'openai:gpt-4o-mini'"
        )
    return provider_class(provider)(model, **options)


use_model_factory(get_model)  # Chat.load builds a saved chat's model by name


def provider_statuses(list_models: bool = True) -> list[ProviderStatus]:
    """Each provider's configuration state and, where its server answers, its models."""
    statuses = []
    for name in provider_names():
        try:
            statuses.append(provider_class(name).status(list_models=list_models))
        except Exception as exc:  # one broken provider must not hide the others
            statuses.append(ProviderStatus(name, False, "could not be loaded", error=str(exc)))
    return statuses
