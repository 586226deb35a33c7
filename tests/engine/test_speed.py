"""The speed levers: chosen from the hardware, logged, and each leaves the pictures as they were."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import StableDiffusionPipeline

from engine.api import GenerationRequest
from engine.bf16_trial import Bf16Trial, time_bf16_against_fp32
from engine.compiled_modules import shape_key
from engine.hardware import Hardware, cpu_flags
from engine.local import LocalEngine
from engine.model_sources import EMBEDDED_MODEL_DIR, ModelSource
from engine.models import load_model
from engine.settings import EngineSettings, LoadOptions
from engine.speed_plan import choose_speed_plan

# Pixel values (0-255) may move by one rounding step where float summation order changes.
PIXEL_TOLERANCE = 1
# bf16 (chosen where a CPU runs it natively) moves more: on average at most one step, and 99 % of the values by
# at most four. The evaluator's scores for the embedded model stay the same (README, "Speed").
BF16_MEAN_TOLERANCE = 1.0
BF16_SHARE_WITHIN_FOUR = 0.99

AVX2_CPU = Hardware("cpu", cores=8, cpu_flags=frozenset({"avx2", "fma"}), can_compile=True)
TWO_CORES = Hardware("cpu", cores=2, cpu_flags=frozenset({"avx2", "fma"}), can_compile=True)
AMX_CPU = Hardware("cpu", cores=32, cpu_flags=frozenset({"avx2", "avx512f", "amx_tile", "amx_bf16"}), can_compile=True)
GPU = Hardware("cuda", cores=16, cpu_flags=frozenset(), can_compile=True)


class StableDiffusionLike:
    """Just enough of a pipeline for the plan: an SD-style `encode_prompt` and a UNet config."""

    vae_scale_factor = 8

    class unet:  # noqa: N801 - stands for the pipeline's attribute
        class config:  # noqa: N801
            sample_size = 128

    def encode_prompt(self, prompt, device, num_images_per_prompt, do_classifier_free_guidance, negative_prompt):
        raise NotImplementedError

    def __call__(self, prompt=None, prompt_embeds=None):
        raise NotImplementedError


def plan_for(hardware: Hardware, **options):
    options.setdefault("compile_cache_dir", Path("/tmp/cache"))
    return choose_speed_plan(LoadOptions(**options), hardware, StableDiffusionLike())


def test_auto_levers_follow_the_hardware():
    cpu = plan_for(AVX2_CPU)
    assert cpu.threads == 8
    assert cpu.channels_last_vae and not cpu.channels_last_denoiser  # the denoiser measured no faster on a CPU
    assert cpu.vae_slicing and not cpu.vae_tiling and not cpu.fuse_qkv
    assert cpu.compile and cpu.distinct_prompts

    gpu = plan_for(GPU)
    assert gpu.channels_last_denoiser and gpu.fuse_qkv is False  # this stand-in has no fuse_qkv_projections
    assert not gpu.vae_slicing and gpu.vae_tiling  # native 1024 px: tiles on a GPU
    assert gpu.threads == 16


def test_compile_stays_off_under_auto_without_a_compiler_or_a_cache_folder():
    no_compiler = plan_for(Hardware("cpu", 2, frozenset(), can_compile=False))
    assert not no_compiler.compile and "no compiler" in no_compiler.describe()
    no_cache = plan_for(AVX2_CPU, compile_cache_dir=None)
    assert not no_cache.compile and "no cache folder" in no_cache.describe()
    assert plan_for(AVX2_CPU, compile="off").compile is False
    few = plan_for(TWO_CORES)
    assert not few.compile and "2 cores" in few.describe() and plan_for(TWO_CORES, compile="on").compile
    assert plan_for(Hardware("cpu", 2, frozenset(), can_compile=False), compile="on").compile is True


def test_explicit_settings_win_over_auto():
    plan = plan_for(AVX2_CPU, threads=1, channels_last="on", vae_slicing="off", distinct_prompts="off")
    assert plan.threads == 1 and plan.channels_last_denoiser and plan.channels_last_vae
    assert not plan.vae_slicing and not plan.distinct_prompts
    assert not plan_for(AVX2_CPU, channels_last="off").channels_last_vae


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse2 avx2 fma\n\nprocessor\t: 1\n")
    assert cpu_flags(cpuinfo) == frozenset({"fpu", "sse2", "avx2", "fma"})
    assert cpu_flags(tmp_path / "missing") == frozenset()
    assert "no native bf16" in AVX2_CPU.describe() and "AVX2" in AVX2_CPU.describe()
    assert AMX_CPU.native_bf16 and "AMX" in AMX_CPU.describe() and "native bf16" in AMX_CPU.describe()


def test_bf16_is_chosen_only_when_the_trial_finds_it_clearly_faster():
    assert Bf16Trial(fp32_s=0.146, bf16_s=0.083).bf16_is_faster  # the embedded model on a Zen 4 core
    assert not Bf16Trial(fp32_s=0.020, bf16_s=0.032).bf16_is_faster  # a tiny random-weight SD pipeline
    assert not Bf16Trial(fp32_s=0.100, bf16_s=0.090).bf16_is_faster  # within the trial's noise
    assert Bf16Trial(0.146, 0.083).describe() == "bf16 (measured 83 ms in bf16 against 146 ms in fp32)"


def test_the_bf16_trial_leaves_the_fp32_pipeline_as_it_was(sd15_dir):
    pipeline = StableDiffusionPipeline.from_pretrained(str(sd15_dir), local_files_only=True)
    pipeline.set_progress_bar_config(disable=True)

    def picture() -> np.ndarray:
        generator = torch.Generator().manual_seed(5)
        return pipeline(prompt="red", num_inference_steps=3, generator=generator, output_type="np").images[0]

    before = picture()
    trial = time_bf16_against_fp32(pipeline, 64, pipeline.unet)
    assert trial is not None and trial.fp32_s > 0 and trial.bf16_s > 0
    assert {parameter.dtype for parameter in pipeline.unet.parameters()} == {torch.float32}
    assert {parameter.dtype for parameter in pipeline.vae.parameters()} == {torch.float32}
    assert np.array_equal(picture(), before)


def test_the_dtype_follows_the_trial_on_a_cpu_with_native_bf16_and_a_setting_skips_it(caplog):
    with caplog.at_level(logging.INFO, logger="engine.models"):
        chosen = load_model(ModelSource("embedded", str(EMBEDDED_MODEL_DIR)))
        requested = load_model(ModelSource("embedded", str(EMBEDDED_MODEL_DIR)), LoadOptions(dtype="float32"))
    first, second = (record.getMessage() for record in caplog.records if "threads" in record.getMessage())
    assert requested.dtype is torch.float32 and "measured" not in second
    if Hardware.detect("cpu").native_bf16:
        assert "measured" in first
        assert (chosen.dtype is torch.bfloat16) == (", bf16 (measured" in first)
    else:
        assert chosen.dtype is torch.float32 and "measured" not in first


def test_bf16_keeps_the_embedded_models_pictures_within_the_stated_tolerance():
    pictures = {}
    for dtype in ("float32", "bfloat16"):
        engine = engine_on(EMBEDDED_MODEL_DIR, dtype=dtype)
        assert engine.model(None).dtype == getattr(torch, dtype)
        pictures[dtype] = np.stack(four_images(engine))
        engine.close()
    difference = np.abs(pictures["bfloat16"] - pictures["float32"])
    assert difference.max() > 0, "bf16 ran exactly as fp32: it was not applied"
    assert difference.mean() <= BF16_MEAN_TOLERANCE
    assert (difference <= 4).mean() >= BF16_SHARE_WITHIN_FOUR


def test_a_shape_key_tells_shapes_apart_but_not_values():
    one, same_shape, eight = torch.zeros(2, 4, 8, 8), torch.ones(2, 4, 8, 8), torch.zeros(16, 4, 8, 8)
    assert shape_key((one, 1.0), {"return_dict": False}) == shape_key((same_shape, 7.0), {"return_dict": False})
    assert shape_key((one,), {}) != shape_key((eight,), {})
    assert shape_key((one,), {"return_dict": False}) != shape_key((one,), {"return_dict": True})


def engine_on(folder, **options) -> LocalEngine:
    return LocalEngine(EngineSettings(default_model=str(folder), max_wait_ms=300, load=LoadOptions(**options)))


def four_images(engine: LocalEngine) -> list[np.ndarray]:
    """Two requests of two images each, submitted together so they share one batch: two distinct prompts."""
    requests = [GenerationRequest(prompt="red", n=2, seed=3), GenerationRequest(prompt="blue sky", n=2, seed=9)]
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda request: engine.submit(request).result(timeout=120), requests))
    assert all(result.batch_size == 4 for result in results)
    return [np.asarray(image.image, dtype=np.int16) for result in results for image in result.images]


class EncoderCalls:
    """A forward hook counting the prompts the text encoder encodes, and on which threads."""

    def __init__(self) -> None:
        self.rows = 0
        self.threads: set[str] = set()

    def record(self, module, args, output) -> None:
        self.rows += args[0].shape[0]
        self.threads.add(threading.current_thread().name)


def test_the_text_encoder_runs_once_per_distinct_prompt_and_the_pictures_stay(sd15_dir):
    pictures, encoded_rows, threads = {}, {}, {}
    for lever in ("off", "on"):
        engine = engine_on(sd15_dir, distinct_prompts=lever)
        loaded = engine.model(None)
        calls = EncoderCalls()
        loaded.pipeline.text_encoder.register_forward_hook(calls.record)
        pictures[lever] = four_images(engine)
        encoded_rows[lever], threads[lever] = calls.rows, calls.threads
        engine.close()
    assert encoded_rows["off"] == 8  # four prompts and four negative prompts
    assert encoded_rows["on"] == 4  # two distinct prompts and their two negatives
    for with_lever, without in zip(pictures["on"], pictures["off"]):
        assert np.abs(with_lever - without).max() <= PIXEL_TOLERANCE
    # The owner thread, which loaded the model, is the only one that runs it.
    assert threads["on"] == {f"engine-{loaded.name}"}


def test_the_chosen_levers_are_logged_at_start(sd15_dir, caplog):
    with caplog.at_level(logging.INFO, logger="engine.models"):
        engine = engine_on(sd15_dir, compile="off")
    engine.close()
    line = next(record.getMessage() for record in caplog.records if "threads" in record.getMessage())
    assert "CPU" in line and "native bf16" in line and "compile off" in line and "VAE slicing on" in line


def test_compiling_runs_in_the_background_keeps_its_cache_and_the_pictures(sd15_dir, tmp_path):
    reference_engine = engine_on(sd15_dir, compile="off")
    reference = four_images(reference_engine)
    reference_engine.close()

    cache = tmp_path / "compile-cache"
    engine = engine_on(sd15_dir, compile="on", compile_cache_dir=cache)
    loaded = engine.model(None)
    assert loaded.compiler is not None
    first = four_images(engine)  # served at once, eagerly, while its shapes compile
    assert loaded.compiler.wait_idle(timeout=800)
    gated = loaded.pipeline.unet.forward
    assert gated.ready, "no shape of the denoiser was compiled"
    compiled = four_images(engine)
    engine.close()
    for ours, theirs in zip(first + compiled, reference + reference):
        assert np.abs(ours - theirs).max() <= PIXEL_TOLERANCE
    assert any(cache.rglob("*")), "the compiled kernels were not kept in the cache folder"


@pytest.mark.parametrize(
    ("location", "steps", "guidance"),
    [
        ("stabilityai/sd-turbo", 1, 0.0),
        ("/models/sdxl-turbo", 1, 0.0),
        ("/cache/models--black-forest-labs--FLUX.1-schnell", 4, 0.0),
    ],
)
def test_few_step_models_get_their_presets(location, steps, guidance):
    from engine.model_defaults import ModelDefaults

    preset = ModelDefaults.preset_for(location)
    assert (preset.default_steps, preset.default_guidance_scale) == (steps, guidance)
    assert ModelDefaults.preset_for("runwayml/stable-diffusion-v1-5").default_steps is None
