"""Builds the engine the server and the CLI talk to; the only place that imports `engine.local` (and torch).

With ENGINE_QUEUE_URL set the server gets a `RemoteEngine` instead, and never imports torch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from engine.api import BatchReport, EngineClient
from engine.settings import EngineSettings

if TYPE_CHECKING:
    from engine.local import LocalEngine


def create_local_engine(
    settings: EngineSettings,
    extra_model: str | None = None,
    on_batch: Callable[[BatchReport], None] | None = None,
) -> tuple[LocalEngine, str]:
    """An in-process engine and the name of the model to use by default.

    `extra_model` is a model name or a path/repo id given on the command line; a path is registered on the fly.
    """
    from engine.local import LocalEngine
    from engine.model_sources import ModelRegistry

    registry = ModelRegistry.from_settings(settings.models, settings.default_model)
    if extra_model:
        registry.default = extra_model if extra_model in registry.sources else registry.add_path(extra_model).name
    engine = LocalEngine(settings, registry=registry, on_batch=on_batch)
    return engine, registry.default


def create_server_engine(settings: EngineSettings) -> EngineClient:
    """The server's engine: the GPU workers' over Celery when ENGINE_QUEUE_URL is set, else in this process."""
    if settings.queue.enabled:
        from engine.remote import RemoteEngine

        return RemoteEngine(settings)
    engine, _ = create_local_engine(settings)
    return engine
