"""The engine's settings, each declared once with its variable, default and meaning (`declared_settings.py`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engine.declared_settings import setting

#: The dtype names ENGINE_DTYPE takes.
DTYPE_NAMES = ("float32", "fp32", "float16", "fp16", "bfloat16", "bf16")


@dataclass(frozen=True)
class LoadOptions:
    """How to place a model: device and dtype (None: automatic) and the GPU-only speed options."""

    device: str | None = setting("ENGINE_DEVICE", None, "`cuda`, `cuda:1`, `mps` or `cpu`", shown_default="automatic")
    dtype: str | None = setting(
        "ENGINE_DTYPE",
        None,
        "`float32`, `float16` or `bfloat16`; a CPU runs fp32",
        choices=DTYPE_NAMES,
        shown_default="automatic",
    )
    vae_tiling: bool = setting("ENGINE_VAE_TILING", False, "decode large images in tiles (GPU only)")
    vae_slicing: bool = setting("ENGINE_VAE_SLICING", False, "decode a batch one image at a time (GPU only)")
    channels_last: bool = setting(
        "ENGINE_CHANNELS_LAST", False, "channels-last memory layout for the denoiser (GPU only)"
    )
    compile: bool = setting("ENGINE_COMPILE", False, "`torch.compile` the denoiser (GPU only)")


@dataclass(frozen=True)
class QueueSettings:
    """Scale-out: the engine in `addin-server worker` processes behind Celery and Redis, not in this process."""

    url: str = setting(
        "ENGINE_QUEUE_URL",
        "",
        "`redis://HOST:6379/0`: hand jobs to `addin-server worker` processes through Celery and Redis (unset: the "
        "engine runs in the server process)",
    )
    shared_dir: Path = setting(
        "ENGINE_SHARED_DIR",
        Path("shared-images"),
        "a folder every web and worker process mounts: workers write the pictures there, the web tier reads them",
        shown_default="`./shared-images`",
    )
    worker_lost_s: float = setting(
        "ENGINE_WORKER_LOST_S",
        60.0,
        "a job whose worker has not been heard from for this long runs again on another worker",
        minimum=2,
    )
    visibility_timeout_s: float = setting(
        "ENGINE_VISIBILITY_TIMEOUT_S",
        6 * 3600.0,
        "how long Redis keeps a task a worker took but did not acknowledge; longer than the longest job",
        minimum=60,
    )

    @property
    def enabled(self) -> bool:
        return bool(self.url)


@dataclass(frozen=True)
class EngineSettings:
    """Which models to serve and how to batch and queue their requests."""

    models: str = setting(
        "ENGINE_MODELS",
        "",
        "models to serve, `name=source,...`; a source is a diffusers "
        "folder, a cached repo id or `FILE.safetensors#config=DIR`",
    )
    default_model: str = setting(
        "ENGINE_MODEL",
        "",
        "the default model: a name from `ENGINE_MODELS` or a source",
        shown_default="the embedded model",
    )
    max_batch: int = setting("ENGINE_MAX_BATCH", 8, "most images in one pipeline call", minimum=1)
    max_wait_ms: float = setting(
        "ENGINE_MAX_WAIT_MS",
        20.0,
        "how long a batch waits for another compatible request after its newest one, in ms (5× this at most)",
        minimum=0,
    )
    max_queue: int = setting(
        "ENGINE_MAX_QUEUE", 256, "most waiting jobs in all; past it requests are refused (HTTP 429)", minimum=1
    )
    max_queued_images_per_owner: int = setting(
        "ENGINE_MAX_QUEUED_IMAGES_PER_USER",
        128,
        "most images one user may have waiting (0: no cap); batches take users round-robin",
        minimum=0,
    )
    result_ttl_s: float = setting(
        "ENGINE_RESULT_TTL_S", 900.0, "seconds finished jobs stay readable in the engine's memory", minimum=1
    )
    preload: bool = setting("ENGINE_PRELOAD", True, "load the default model before serving")
    load: LoadOptions = field(default_factory=LoadOptions)
    queue: QueueSettings = field(default_factory=QueueSettings)
