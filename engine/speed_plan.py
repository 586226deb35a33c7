"""Which speed levers a loaded model gets: each `ENGINE_*` lever is `on`, `off` or `auto`, and `auto` is decided
here from the hardware (`hardware.py`) and the model, by rules measured with `bench/engine_speed.py`:

- the VAE in channels-last layout decodes faster on a CPU's oneDNN kernels as on a GPU; the denoiser gains
  only on a GPU (on a 2-core AVX2 CPU it measured the same or slower);
- a CPU decodes a batch faster one image at a time (the activations of one 256-px picture stay in cache);
- `torch.compile` with frozen weights made the denoiser about 15 % faster on a 2-core CPU, but costs a minute or
  more per shape there, so it runs in the background while the model serves (`compiled_modules.py`), with its
  kernels kept in a cache folder across restarts; `auto` chooses it on a GPU and on CPUs with 4 cores or more,
  where a compiler and a cache folder are at hand;
- the text encoder runs once per distinct prompt wherever the pipeline takes prompt embeddings;
- OpenVINO's CPU runtime ran the embedded model's denoiser and decoder about 1.5-2x faster than PyTorch's eager
  kernels with the same pictures, so `auto` uses it on a CPU wherever it can trace the model.

`apply_speed_plan` pulls the levers on a freshly loaded pipeline; the engine logs `SpeedPlan.describe()`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from engine.hardware import Hardware
from engine.openvino_backend import openvino_installed, why_not_openvino
from engine.settings import LoadOptions

log = logging.getLogger(__name__)

#: A CPU compiles in the background under `auto` only with this many cores: on 2 cores the first request waited
#: 5.8 s instead of 0.8 s while 150 s of compiling ran beside it, for a denoiser 15 % faster afterwards.
MIN_CORES_TO_COMPILE = 4

#: Models whose native size is at least this many pixels a side get VAE tiling on a GPU under `auto`.
LARGE_NATIVE_SIZE = 1024


@dataclass(frozen=True)
class SpeedPlan:
    """The levers resolved for one model on one device: what `apply_speed_plan` does and the log line says."""

    threads: int
    channels_last_vae: bool
    channels_last_denoiser: bool
    compile: bool
    compile_cache_dir: Path | None
    distinct_prompts: bool
    vae_slicing: bool
    vae_tiling: bool
    fuse_qkv: bool
    #: The denoiser and VAE decoder on OpenVINO's CPU runtime (`openvino_backend.py`); torch.compile then stays off.
    openvino: bool = False
    #: Why `compile` is off under `auto`, for the log; "" when on or chosen.
    compile_note: str = ""
    #: Why OpenVINO is off under `auto` on a CPU, for the log.
    openvino_note: str = ""

    def describe(self) -> str:
        def flag(name: str, value: bool) -> str:
            return f"{name} {'on' if value else 'off'}"

        compile_text = flag("compile", self.compile)
        if self.compile and self.compile_cache_dir:
            compile_text += f" (cache {self.compile_cache_dir})"
        elif self.compile_note:
            compile_text += f" ({self.compile_note})"
        openvino_text = flag("OpenVINO", self.openvino)
        if self.openvino_note and not self.openvino:
            openvino_text += f" ({self.openvino_note})"
        return ", ".join(
            [
                f"{self.threads} threads",
                openvino_text,
                flag("channels-last VAE", self.channels_last_vae),
                flag("channels-last denoiser", self.channels_last_denoiser),
                compile_text,
                flag("text encoder once per distinct prompt", self.distinct_prompts),
                flag("VAE slicing", self.vae_slicing),
                flag("VAE tiling", self.vae_tiling),
                flag("fused QKV", self.fuse_qkv),
            ]
        )


def choose_speed_plan(options: LoadOptions, hardware: Hardware, pipeline: Any) -> SpeedPlan:
    """Resolve every `auto` lever of `options` for `pipeline` on `hardware`."""
    on_gpu = hardware.device_type == "cuda"
    on_cpu = hardware.device_type == "cpu"

    def lever(value: str, automatic: bool) -> bool:
        return automatic if value == "auto" else value == "on"

    compile_note = ""
    compile_automatic = False
    if options.compile == "auto":
        if not hardware.can_compile:
            compile_note = "no compiler for torch.compile found"
        elif options.compile_cache_dir is None:
            compile_note = "no cache folder for compiled kernels"
        elif not (on_cpu or on_gpu):
            compile_note = f"not tried on {hardware.device_type}"
        elif on_cpu and hardware.cores < MIN_CORES_TO_COMPILE:
            compile_note = f"{hardware.cores} cores: compiling would slow serving for minutes (ENGINE_COMPILE=on)"
        else:
            compile_automatic = True
    openvino_note = why_not_openvino(pipeline) if on_cpu else f"not on {hardware.device_type}"
    if not openvino_note and not openvino_installed():
        openvino_note = "the openvino package is not installed"
    openvino = lever(options.openvino, on_cpu and not openvino_note)
    if openvino and options.compile != "off":
        compile_note, compile_automatic = "OpenVINO runs the denoiser", False
    native = native_size(pipeline)
    return SpeedPlan(
        threads=options.threads or hardware.cores,
        channels_last_vae=lever(options.channels_last, on_cpu or on_gpu),
        channels_last_denoiser=lever(options.channels_last, on_gpu),
        compile=not openvino and lever(options.compile, compile_automatic),
        compile_cache_dir=options.compile_cache_dir,
        distinct_prompts=lever(options.distinct_prompts, takes_prompt_embeddings(pipeline)),
        vae_slicing=lever(options.vae_slicing, on_cpu),
        vae_tiling=lever(options.vae_tiling, on_gpu and native >= LARGE_NATIVE_SIZE),
        fuse_qkv=lever(options.fuse_qkv, on_gpu and hasattr(pipeline, "fuse_qkv_projections")),
        openvino=openvino,
        compile_note=compile_note,
        openvino_note=openvino_note,
    )


def apply_speed_plan(pipeline: Any, plan: SpeedPlan) -> None:
    """Pull the plan's levers on `pipeline` (all but compiling, which `compiled_modules.py` does in the
    background once the model serves)."""
    torch.set_num_threads(plan.threads)
    vae = getattr(pipeline, "vae", None)
    if vae is not None:
        if plan.channels_last_vae:
            vae.to(memory_format=torch.channels_last)
        if plan.vae_slicing and hasattr(vae, "enable_slicing"):
            vae.enable_slicing()
        if plan.vae_tiling and hasattr(vae, "enable_tiling"):
            vae.enable_tiling()
    denoiser = denoiser_of(pipeline)
    if plan.channels_last_denoiser and denoiser is not None:
        denoiser.to(memory_format=torch.channels_last)
    if plan.fuse_qkv and hasattr(pipeline, "fuse_qkv_projections"):
        try:
            pipeline.fuse_qkv_projections()
        except (AttributeError, ValueError, NotImplementedError) as error:
            log.info("fused QKV projections are not available for this model: %s", error)


def denoiser_of(pipeline: Any) -> Any:
    """The pipeline's UNet or transformer, or None."""
    return getattr(pipeline, "unet", None) or getattr(pipeline, "transformer", None)


#: `encode_prompt`'s first parameters in Stable Diffusion 1.x/2.x pipelines (text, image and inpainting alike).
_SD_ENCODE_PROMPT = ("prompt", "device", "num_images_per_prompt", "do_classifier_free_guidance", "negative_prompt")


def takes_prompt_embeddings(pipeline: Any) -> bool:
    """True when `pipeline` encodes prompts the Stable Diffusion way and accepts the embeddings back."""
    import inspect

    encode = getattr(pipeline, "encode_prompt", None)
    if encode is None:
        return False
    parameters = tuple(inspect.signature(encode).parameters)
    call = inspect.signature(pipeline.__call__).parameters
    return parameters[: len(_SD_ENCODE_PROMPT)] == _SD_ENCODE_PROMPT and "prompt_embeds" in call


def native_size(pipeline: Any) -> int:
    """The side, in pixels, the pipeline's model was made for: its sample size times the VAE's scale."""
    scale = int(getattr(pipeline, "vae_scale_factor", 8) or 8)
    sample = getattr(pipeline, "default_sample_size", None)
    denoiser = denoiser_of(pipeline)
    if sample is None and denoiser is not None:
        sample = getattr(denoiser.config, "sample_size", 64)
    if isinstance(sample, (list, tuple)):
        sample = sample[0]
    return int(sample or 64) * scale
