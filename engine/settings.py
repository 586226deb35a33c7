"""The engine's settings, each declared once with its variable, default and meaning (`declared_settings.py`)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from engine.declared_settings import setting

#: The dtype names ENGINE_DTYPE takes.
DTYPE_NAMES = ("float32", "fp32", "float16", "fp16", "bfloat16", "bf16")


#: The values of a speed lever: `auto` lets the engine choose from the hardware it finds (and logs its choice).
LEVER_CHOICES = ("auto", "on", "off")


@dataclass(frozen=True)
class LoadOptions:
    """How to place a model (device, dtype) and which speed levers to pull; `speed_plan.py` resolves `auto`."""

    device: str | None = setting("ENGINE_DEVICE", None, "`cuda`, `cuda:1`, `mps` or `cpu`", shown_default="automatic")
    dtype: str | None = setting(
        "ENGINE_DTYPE",
        None,
        "`float32`, `float16` or `bfloat16`; automatic is bf16 or fp16 on a GPU; on a CPU, bf16 where the CPU "
        "runs it natively (AVX-512 BF16 or AMX) and a trial at load finds it clearly faster, else fp32",
        choices=DTYPE_NAMES,
        shown_default="automatic",
    )
    threads: int = setting(
        "ENGINE_THREADS", 0, "threads for the engine's math (0: one per core this process may use)", minimum=0
    )
    channels_last: str = setting(
        "ENGINE_CHANNELS_LAST",
        "auto",
        "channels-last memory layout (`auto`: the VAE everywhere, the denoiser on a GPU)",
        choices=LEVER_CHOICES,
    )
    compile: str = setting(
        "ENGINE_COMPILE",
        "auto",
        "`torch.compile` the denoiser and VAE decoder in the background while serving (`auto`: on a GPU, and on "
        "a CPU with 4 cores or more, where a compiler and a cache folder are at hand)",
        choices=LEVER_CHOICES,
    )
    openvino: str = setting(
        "ENGINE_OPENVINO",
        "auto",
        "run the denoiser and VAE decoder on OpenVINO's CPU runtime (`auto`: on a CPU, for Stable Diffusion "
        "1.x/2.x UNets, where the `openvino` package is installed)",
        choices=LEVER_CHOICES,
    )
    compile_cache_dir: Path | None = setting(
        "ENGINE_COMPILE_CACHE_DIR",
        None,
        "where compiled kernels (torch.compile's and OpenVINO's) are kept, so a restart does not compile again",
        shown_default="`compile-cache` in the instance folder",
    )
    distinct_prompts: str = setting(
        "ENGINE_DISTINCT_PROMPTS",
        "auto",
        "run the text encoder once per distinct prompt of a batch (`auto`: on for Stable Diffusion pipelines)",
        choices=LEVER_CHOICES,
    )
    vae_slicing: str = setting(
        "ENGINE_VAE_SLICING",
        "auto",
        "decode a batch one image at a time (`auto`: on a CPU, where it is faster)",
        choices=LEVER_CHOICES,
    )
    vae_tiling: str = setting(
        "ENGINE_VAE_TILING",
        "auto",
        "decode large images in tiles (`auto`: on a GPU for models made for 1024 px and more)",
        choices=LEVER_CHOICES,
    )
    fuse_qkv: str = setting(
        "ENGINE_FUSE_QKV",
        "auto",
        "fuse the attention projections where the model has them (`auto`: on a GPU)",
        choices=LEVER_CHOICES,
    )


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

    def with_compile_cache_in(self, instance_folder: Path) -> EngineSettings:
        """These settings with compiled kernels kept in `instance_folder`/compile-cache, unless a folder is set."""
        if self.load.compile_cache_dir is not None:
            return self
        load = replace(self.load, compile_cache_dir=instance_folder.resolve() / "compile-cache")
        return replace(self, load=load)
