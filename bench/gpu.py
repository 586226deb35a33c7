"""The engine's GPU path against plain diffusers, on random-weight pipelines built from the real configs of
Stable Diffusion 1.5 (512², 50 steps) and SDXL (1024², 30 steps): nothing is downloaded.

Plain: `from_pretrained(folder, dtype=float16)` on the GPU, called one request at a time (diffusers' documented
baseline). Engine: a `LocalEngine` on the same folder with its automatic GPU levers (bf16 or fp16, SDPA,
channels-last, fused QKV, regional `torch.compile` of the repeated blocks, VAE tiling for 1024 px). It prints
per-image latency and images/s at 4 concurrent requests for both, as ratios, and ends with one JSON line.
Sized to finish within 8 minutes on one data-centre GPU; `--steps`, `--models` and `--device` shrink it.

    python bench/gpu.py [--models sd15,sdxl] [--device cuda] [--steps N] [--size N]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
from diffusers import (
    AutoencoderKL,
    EulerDiscreteScheduler,
    StableDiffusionPipeline,
    StableDiffusionXLPipeline,
    UNet2DConditionModel,
)
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

from engine.api import GenerationRequest
from engine.local import LocalEngine
from engine.settings import EngineSettings, LoadOptions
from tests.tiny_pipelines import tiny_tokenizer

CONCURRENCY = 4
#: The published figures the README puts these beside (diffusers' and fal's benchmarks, A100 80 GB).
PUBLISHED = {
    "sd15": "A100: 1.59 s plain fp16 -> 1.07 s compiled + channels-last (512², 50 steps)",
    "sdxl": "A100: 7.36 s fp32 -> 2.43 s fully optimised (1024², 30 steps)",
}


def clip_text(hidden: int, layers: int, heads: int, projection: bool = False) -> torch.nn.Module:
    config = CLIPTextConfig(
        hidden_size=hidden,
        intermediate_size=hidden * 4,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        max_position_embeddings=77,
        vocab_size=49408,
        hidden_act="gelu" if projection else "quick_gelu",
        projection_dim=hidden,
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=1,
    )
    return CLIPTextModelWithProjection(config) if projection else CLIPTextModel(config)


def vae(sample_size: int, scaling_factor: float) -> AutoencoderKL:
    return AutoencoderKL(
        block_out_channels=(128, 256, 512, 512),
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        layers_per_block=2,
        latent_channels=4,
        sample_size=sample_size,
        scaling_factor=scaling_factor,
    )


def build_sd15(folder: Path) -> Path:
    """Stable Diffusion 1.5's configuration (runwayml/stable-diffusion-v1-5) with random weights."""
    unet = UNet2DConditionModel(
        sample_size=64,
        block_out_channels=(320, 640, 1280, 1280),
        layers_per_block=2,
        cross_attention_dim=768,
        attention_head_dim=8,
        down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
    )
    pipeline = StableDiffusionPipeline(
        unet=unet,
        vae=vae(512, 0.18215),
        text_encoder=clip_text(768, 12, 12),
        tokenizer=tiny_tokenizer(),
        scheduler=EulerDiscreteScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipeline.save_pretrained(folder)
    return folder


def build_sdxl(folder: Path) -> Path:
    """SDXL 1.0 base's configuration (stabilityai/stable-diffusion-xl-base-1.0) with random weights."""
    unet = UNet2DConditionModel(
        sample_size=128,
        block_out_channels=(320, 640, 1280),
        layers_per_block=2,
        transformer_layers_per_block=(1, 2, 10),
        attention_head_dim=(5, 10, 20),
        cross_attention_dim=2048,
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=256,
        projection_class_embeddings_input_dim=2816,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    )
    pipeline = StableDiffusionXLPipeline(
        unet=unet,
        vae=vae(1024, 0.13025),
        text_encoder=clip_text(768, 12, 12),
        text_encoder_2=clip_text(1280, 32, 20, projection=True),
        tokenizer=tiny_tokenizer(),
        tokenizer_2=tiny_tokenizer(),
        scheduler=EulerDiscreteScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012),
    )
    pipeline.save_pretrained(folder)
    return folder


def plain_latency(folder: Path, device: str, request: GenerationRequest, family: str, rounds: int) -> float:
    cls = StableDiffusionPipeline if family == "sd15" else StableDiffusionXLPipeline
    pipeline = cls.from_pretrained(str(folder), dtype=torch.float16, local_files_only=True).to(device)
    pipeline.set_progress_bar_config(disable=True)

    def once() -> float:
        synchronize(device)
        started = time.perf_counter()
        pipeline(
            prompt=request.prompt,
            height=request.height,
            width=request.width,
            num_inference_steps=request.steps,
            generator=torch.Generator("cpu").manual_seed(0),
        )
        synchronize(device)
        return time.perf_counter() - started

    once()
    latency = min(once() for _ in range(rounds))
    pipeline.to("cpu")  # the engine's run that follows gets the whole GPU
    free(device)
    return latency


def engine_figures(folder: Path, device: str, request: GenerationRequest, rounds: int) -> tuple[float, float, str]:
    with tempfile.TemporaryDirectory() as cache:
        options = LoadOptions(device=device, compile_cache_dir=Path(cache))
        engine = LocalEngine(EngineSettings(default_model=str(folder), max_batch=CONCURRENCY, load=options))
        loaded = engine.model(None)
        resolved = request.resolved(loaded.name, loaded.limits)

        def once() -> float:
            started = time.perf_counter()
            engine.submit(resolved).result(timeout=600)
            return time.perf_counter() - started

        once()  # compiles the repeated blocks on first use
        latency = min(once() for _ in range(rounds))
        started = time.perf_counter()
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            list(pool.map(lambda _: engine.submit(resolved).result(timeout=600), range(CONCURRENCY)))
        throughput = CONCURRENCY / (time.perf_counter() - started)
        plan = loaded.speed.describe() if loaded.speed else ""
        engine.close()
    free(device)
    return latency, throughput, plan


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def free(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.empty_cache()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="sd15,sdxl")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--steps", type=int, help="denoising steps (default: 50 for SD 1.5, 30 for SDXL)")
    parser.add_argument("--size", type=int, help="picture side (default: 512 for SD 1.5, 1024 for SDXL)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("no CUDA device: run this on a GPU machine (or pass --device cpu with small --size/--steps)")
    figures = []
    with tempfile.TemporaryDirectory() as scratch:
        for family in args.models.split(","):
            folder = (build_sd15 if family == "sd15" else build_sdxl)(Path(scratch) / family)
            side = args.size or (512 if family == "sd15" else 1024)
            steps = args.steps or (50 if family == "sd15" else 30)
            request = GenerationRequest(prompt="a red circle on a blue sky", width=side, height=side, steps=steps)
            plain_s = plain_latency(folder, args.device, request, family, args.rounds)
            engine_s, engine_rate, plan = engine_figures(folder, args.device, request, args.rounds)
            row = {
                "model": family,
                "size": side,
                "steps": steps,
                "plain_fp16_latency_s": round(plain_s, 3),
                "engine_latency_s": round(engine_s, 3),
                "latency_ratio": round(engine_s / plain_s, 3),
                "plain_images_per_s": round(1 / plain_s, 3),
                "engine_images_per_s_at_4": round(engine_rate, 3),
                "throughput_ratio": round(engine_rate * plain_s, 3),
                "speed_plan": plan,
                "published": PUBLISHED[family],
            }
            print(json.dumps(row), flush=True)
            figures.append(row)
    print(
        json.dumps(
            {"device": torch.cuda.get_device_name() if torch.cuda.is_available() else args.device, "models": figures}
        )
    )


if __name__ == "__main__":
    main()
