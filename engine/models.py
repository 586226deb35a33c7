"""Loading a model source onto its device, all offline (`model_sources.py` says what a source is).

Loading goes through `AutoPipelineForText2Image.from_pretrained` for folders and cache ids, and through the
pipeline class's `from_single_file` for checkpoints, so the embedded model and Stable Diffusion, SDXL, SD3 or
FLUX weights all take the same path.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from engine.api import PICTURE_CHANGES, ModelLimits
from engine.bf16_trial import Bf16Trial, time_bf16_against_fp32
from engine.compiled_modules import BackgroundCompiler
from engine.errors import InvalidRequest, ModelNotFound
from engine.hardware import Hardware
from engine.latent_blend import blends_to_inpaint
from engine.model_defaults import ModelDefaults
from engine.model_sources import EMBEDDED_MODEL_DIR, ModelSource
from engine.openvino_backend import run_on_openvino
from engine.prompt_words import keep_known_words
from engine.schedulers import SchedulerChoice
from engine.settings import LoadOptions
from engine.speed_plan import SpeedPlan, apply_speed_plan, choose_speed_plan, denoiser_of, native_size

log = logging.getLogger(__name__)

_DTYPES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "float16": torch.float16,
    "fp16": torch.float16,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
}


def choose_device(requested: str | None) -> torch.device:
    """The requested device, else CUDA when present, else MPS, else CPU."""
    if requested:
        return torch.device(requested)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def choose_dtype(device: torch.device, requested: str | None) -> torch.dtype:
    """The requested dtype, else bf16 on CUDA cards that have it, fp16 on other accelerators, fp32 on CPU (where
    `load_model` then tries bf16 if the CPU runs it natively, `bf16_trial.py`)."""
    if requested:
        if requested.lower() not in _DTYPES:
            raise ValueError(f"unknown dtype {requested!r}; choose one of {', '.join(_DTYPES)}")
        return _DTYPES[requested.lower()]
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "mps":
        return torch.float16
    return torch.float32


@dataclass
class LoadedModel:
    """A pipeline on its device, with the limits and defaults requests are checked against."""

    name: str
    pipeline: Any
    limits: ModelLimits
    device: torch.device
    dtype: torch.dtype
    schedulers: SchedulerChoice
    call_parameters: frozenset[str] = field(default_factory=frozenset)
    #: Image-to-image and inpainting pipelines made from `pipeline` on first use, sharing its weights.
    derived_pipelines: dict[str, Any] = field(default_factory=dict, repr=False)
    _derive_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    #: The speed levers this model got, and the compiler working on it in the background (None: not compiling).
    speed: SpeedPlan | None = None
    #: What runs the denoiser, for the log and the benchmarks: "PyTorch bfloat16", "OpenVINO f32", ...
    runtime: str = ""
    compiler: BackgroundCompiler | None = field(default=None, repr=False)

    def pipeline_for(self, kind: str) -> Any:
        """The pipeline for a request `kind`: the loaded text-to-image one, or an image-to-image ("edit") or
        inpainting one built with diffusers' `from_pipe` (the same modules, no second copy of the weights).
        A UNet model without an inpainting UNet inpaints through its image-to-image pipeline, blending latents
        (`latent_blend.py`). Raises `InvalidRequest`, naming the picture field, when the model cannot."""
        if kind == "generate":
            return self.pipeline
        field_name, what = PICTURE_CHANGES[kind]
        derived_kind = "edit" if kind == "inpaint" and self.inpaints_by_blending else kind
        with self._derive_lock:
            if derived_kind not in self.derived_pipelines:
                from diffusers import AutoPipelineForImage2Image, AutoPipelineForInpainting

                auto = AutoPipelineForImage2Image if derived_kind == "edit" else AutoPipelineForInpainting
                try:
                    derived = auto.from_pipe(self.pipeline)
                except (ValueError, KeyError, TypeError):
                    family = type(self.pipeline).__name__
                    raise InvalidRequest(field_name, f"the model {self.name!r} ({family}) cannot {what}") from None
                if hasattr(derived, "set_progress_bar_config"):
                    derived.set_progress_bar_config(disable=True)
                self.derived_pipelines[derived_kind] = derived
            return self.derived_pipelines[derived_kind]

    @property
    def inpaints_by_blending(self) -> bool:
        return blends_to_inpaint(self.pipeline)

    def pipeline_prompt(self, prompt: str) -> str:
        """`prompt` as the pipeline gets it: without the words this model says it does not know."""
        known = self.limits.known_words
        return keep_known_words(prompt, known) if known else prompt


def load_model(source: ModelSource, options: LoadOptions | None = None) -> LoadedModel:
    """Load `source` offline onto its device; raise `ModelNotFound` with the path and what was expected."""
    _stay_offline_and_quiet()
    options = options or LoadOptions()
    device = choose_device(options.device)
    hardware = Hardware.detect(device.type)
    dtype = choose_dtype(device, options.dtype)
    pipeline = _load_onto(source, dtype, device)
    plan = choose_speed_plan(options, hardware, pipeline)
    apply_speed_plan(pipeline, plan)
    dtype_text = str(dtype).removeprefix("torch.")
    bf16_pays = options.dtype is None and device.type == "cpu" and hardware.native_bf16
    if bf16_pays:
        trial = _bf16_trial(pipeline)
        dtype_text = trial.describe() if trial else dtype_text
        bf16_pays = bool(trial and trial.bf16_is_faster)
    runtime = f"PyTorch {str(dtype).removeprefix('torch.')}"
    if plan.openvino and dtype == torch.float32:
        # OpenVINO compiles from the fp32 weights, and runs in bf16 where bf16 pays.
        precision = "bf16" if bf16_pays else "f32"
        seconds = _route_to_openvino(pipeline, plan, precision)
        if seconds is not None:
            runtime = f"OpenVINO {precision}"
            dtype_text += f"; OpenVINO {precision}, traced and compiled in {seconds:.1f} s"
    elif bf16_pays:
        del pipeline  # before the bf16 copy loads: a large model should not be in memory twice
        dtype = torch.bfloat16
        pipeline = _load_onto(source, dtype, device)
        apply_speed_plan(pipeline, plan)
        runtime = "PyTorch bfloat16"
    log.info("model %s on %s, %s: %s", source.name, hardware.describe(), dtype_text, plan.describe())
    schedulers = SchedulerChoice(pipeline.scheduler)
    loaded = LoadedModel(
        name=source.name,
        pipeline=pipeline,
        limits=_limits_for(pipeline, source, schedulers),
        device=device,
        dtype=dtype,
        schedulers=schedulers,
        call_parameters=frozenset(inspect.signature(pipeline.__call__).parameters),
        speed=plan,
        runtime=runtime,
        compiler=_start_compiling(pipeline, plan, device),
    )
    # What it can do with a picture, known now, so a request it cannot serve is refused before it is queued
    # (the workers publish this to a web tier that has no torch).
    loaded.limits = dataclasses.replace(loaded.limits, changes_pictures=_picture_changes(loaded))
    return loaded


def _picture_changes(loaded: LoadedModel) -> tuple[str, ...]:
    """The request kinds besides text to image that `loaded` has pipelines for."""
    kinds = []
    for kind in PICTURE_CHANGES:
        try:
            loaded.pipeline_for(kind)
            kinds.append(kind)
        except InvalidRequest:
            pass
    return tuple(kinds)


def _load_onto(source: ModelSource, dtype: torch.dtype, device: torch.device) -> Any:
    if Path(source.location) == EMBEDDED_MODEL_DIR:
        # Two known, harmless notes on its tiny VAE (an unused config key, a class the pipeline does not
        # expect): a new user's first start-up should not show them.
        with _diffusers_quiet():
            pipeline = _load_pipeline(source, dtype)
    else:
        pipeline = _load_pipeline(source, dtype)
    pipeline.to(device)
    if hasattr(pipeline, "set_progress_bar_config"):
        pipeline.set_progress_bar_config(disable=True)
    return pipeline


def _bf16_trial(pipeline: Any) -> Bf16Trial | None:
    """The bf16 trial at the model's native size (at most 512 px, to bound the start of a 1024-px model on a
    CPU); None (fp32 stays) where the model cannot run it."""
    try:
        return time_bf16_against_fp32(pipeline, min(native_size(pipeline), 512), denoiser_of(pipeline))
    except (RuntimeError, TypeError, ValueError) as error:  # an operation without a bf16 kernel, say
        log.info("bf16 was not tried for this model: %s", error)
        return None


def _route_to_openvino(pipeline: Any, plan: SpeedPlan, precision: str) -> float | None:
    """Route the denoiser and VAE decoder to OpenVINO; the seconds it took, or None where it could not trace
    them (PyTorch then runs them)."""
    size = min(native_size(pipeline), 512)
    try:
        return run_on_openvino(pipeline, size, precision, plan.threads, plan.compile_cache_dir)
    except Exception as error:  # noqa: BLE001 - any tracing failure leaves the PyTorch path serving
        log.warning("OpenVINO could not take this model, PyTorch runs it: %s", error)
        return None


def _start_compiling(pipeline: Any, plan: SpeedPlan, device: torch.device) -> BackgroundCompiler | None:
    """On a GPU, diffusers' regional compile of the denoiser's repeated blocks (seconds, not minutes); on a CPU,
    the denoiser and VAE decoder gated for background compiling. None when the plan does not compile."""
    if not plan.compile:
        return None
    denoiser = denoiser_of(pipeline)
    if device.type == "cuda" and getattr(denoiser, "_repeated_blocks", None):
        denoiser.compile_repeated_blocks(fullgraph=True)
        return None
    compiler = BackgroundCompiler(plan.compile_cache_dir, freeze_weights=device.type == "cpu")
    if denoiser is not None:
        compiler.gate(denoiser, "denoiser")
    decoder = getattr(getattr(pipeline, "vae", None), "decoder", None)
    if decoder is not None:
        compiler.gate(decoder, "VAE decoder")
    return compiler


@contextmanager
def _diffusers_quiet() -> Iterator[None]:
    """diffusers' warnings off for the duration, then as they were."""
    from diffusers.utils import logging as diffusers_logging

    previous = diffusers_logging.get_verbosity()
    diffusers_logging.set_verbosity_error()
    try:
        yield
    finally:
        diffusers_logging.set_verbosity(previous)


def _stay_offline_and_quiet() -> None:
    """Never reach the Hub (every load also passes local_files_only), and no loading bars or library chatter
    between the CLI's own progress bar and the server's logs. Called before each load, never at import."""
    import huggingface_hub.constants
    from transformers.utils import logging as transformers_logging

    # Before diffusers imports transformers' image processors, which warn about backends this engine never uses.
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    from diffusers.utils import logging as diffusers_logging

    diffusers_logging.disable_progress_bar()
    if "HF_HUB_OFFLINE" not in os.environ:
        huggingface_hub.constants.HF_HUB_OFFLINE = True


def _load_pipeline(source: ModelSource, dtype: torch.dtype) -> Any:
    from diffusers import AutoPipelineForText2Image

    kind = source.kind
    try:
        if kind == "folder":
            folder = Path(source.location)
            if not (folder / "model_index.json").is_file():
                what = "folder has no model_index.json" if folder.is_dir() else "no such folder"
                raise ModelNotFound(
                    f"model {source.name!r}: {what} at {folder} "
                    "(expected a diffusers pipeline folder, as written by save_pretrained)"
                )
            return AutoPipelineForText2Image.from_pretrained(
                str(folder), dtype=dtype, local_files_only=True, **_absent_components(folder)
            )
        if kind == "hf_cache":
            return AutoPipelineForText2Image.from_pretrained(source.location, dtype=dtype, local_files_only=True)
        return _load_single_file(source, dtype)
    except ModelNotFound:
        raise
    except Exception as error:  # diffusers raises OSError, ValueError, EnvironmentError... for the same cause
        expected = {
            "folder": "a diffusers pipeline folder",
            "hf_cache": "a repo id already downloaded into the local Hugging Face cache "
            f"({os.environ.get('HF_HOME', '~/.cache/huggingface')}); the engine never downloads",
            "single_file": "a .safetensors checkpoint plus #config=<diffusers folder with its configs>",
        }[kind]
        raise ModelNotFound(
            f"model {source.name!r}: cannot load {source.location} (expected {expected}): {error}"
        ) from error


def _absent_components(folder: Path) -> dict[str, None]:
    """Components saved as absent (e.g. SD3 without its T5 encoder) must be passed as None to load."""
    index = json.loads((folder / "model_index.json").read_text())
    return {
        name: None
        for name, value in index.items()
        if isinstance(value, list) and value and value[0] is None and not name.startswith("_")
    }


def _load_single_file(source: ModelSource, dtype: torch.dtype) -> Any:
    import diffusers

    checkpoint = Path(source.location)
    if not checkpoint.is_file():
        raise ModelNotFound(f"model {source.name!r}: no checkpoint file at {checkpoint}")
    if not source.config or not (Path(source.config) / "model_index.json").is_file():
        raise ModelNotFound(
            f"model {source.name!r}: a single-file checkpoint needs a local config folder "
            f"(FILE.safetensors#config=DIR, DIR holding model_index.json); got {source.config!r}"
        )
    class_name = json.loads((Path(source.config) / "model_index.json").read_text())["_class_name"]
    pipeline_class = getattr(diffusers, class_name)
    try:
        return pipeline_class.from_single_file(
            str(checkpoint), config=source.config, dtype=dtype, local_files_only=True
        )
    except Exception as original_format_error:
        # Not an original-format checkpoint: it may hold the denoiser's weights in diffusers' own layout,
        # as fine-tunes of one component are often shipped.
        pipeline = _pipeline_with_denoiser_weights(checkpoint, Path(source.config), dtype)
        if pipeline is None:
            raise original_format_error
        return pipeline


def _pipeline_with_denoiser_weights(checkpoint: Path, config: Path, dtype: torch.dtype) -> Any | None:
    """The config folder's pipeline with its UNet or transformer weights taken from `checkpoint`, if they fit."""
    from diffusers import AutoPipelineForText2Image
    from safetensors.torch import load_file

    if checkpoint.suffix != ".safetensors":
        return None
    weights = load_file(str(checkpoint))
    pipeline = AutoPipelineForText2Image.from_pretrained(
        str(config), dtype=dtype, local_files_only=True, **_absent_components(config)
    )
    denoiser = getattr(pipeline, "unet", None) or getattr(pipeline, "transformer", None)
    if denoiser is None or set(weights) != set(denoiser.state_dict()):
        return None
    denoiser.load_state_dict({name: tensor.to(dtype) for name, tensor in weights.items()})
    return pipeline


def _limits_for(pipeline: Any, source: ModelSource, schedulers: SchedulerChoice) -> ModelLimits:
    """Defaults from the pipeline's own signature and config, overridden by the folder's engine_defaults.json."""
    call_defaults = {
        name: parameter.default
        for name, parameter in inspect.signature(pipeline.__call__).parameters.items()
        if parameter.default is not inspect.Parameter.empty
    }
    vae_scale = int(getattr(pipeline, "vae_scale_factor", 8) or 8)
    native = native_size(pipeline)
    values: dict[str, Any] = {
        "default_width": native,
        "default_height": native,
        "min_size": max(8, vae_scale * 2),
        "max_size": max(native * 2, 1024),
        "size_multiple": max(8, vae_scale),
        "default_steps": int(call_defaults.get("num_inference_steps") or 25),
        "default_guidance_scale": float(call_defaults.get("guidance_scale") or 0.0),
        "default_scheduler": schedulers.default_name,
        "schedulers": tuple(schedulers.names()),
    }
    values.update(ModelDefaults.preset_for(source.location).overrides())
    if source.kind != "hf_cache":
        values.update(ModelDefaults.read(Path(source.config or source.location)).overrides())
    return ModelLimits(**values)
