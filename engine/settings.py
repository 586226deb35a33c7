"""The engine's settings as plain dataclasses; `addin_server.config` fills them from the environment."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class LoadOptions:
    """How to place a model: device and dtype (None: automatic) and the GPU-only speed options."""

    device: str | None = None
    dtype: str | None = None
    vae_tiling: bool = False
    vae_slicing: bool = False
    channels_last: bool = False
    compile: bool = False


@dataclass(frozen=True)
class EngineSettings:
    """Which models to serve and how to batch and queue their requests."""

    #: "name=source,name=source" (ENGINE_MODELS); a source is a folder, a cached repo id or FILE#config=DIR.
    models: str = ""
    #: The default model: a name from `models` or a source (ENGINE_MODEL); empty means the embedded model.
    default_model: str = ""
    #: Most images one pipeline call may hold.
    max_batch: int = 8
    #: How long a batch waits for another compatible request after its newest one (at most 5 times this in all).
    max_wait_ms: float = 20.0
    #: Most jobs waiting across all models; past it `submit` raises QueueFull.
    max_queue: int = 64
    #: Most unfinished jobs one owner may have (0: no limit).
    max_jobs_per_owner: int = 0
    #: How long a finished job (and its images) stays readable.
    result_ttl_s: float = 900.0
    #: Load the default model when the engine starts rather than on its first request.
    preload: bool = True
    load: LoadOptions = field(default_factory=LoadOptions)
