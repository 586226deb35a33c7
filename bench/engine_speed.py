"""The engine's fast path against a plain diffusers pipeline, side by side in one process.

For each model (the embedded one, and a tiny random-weight Stable Diffusion 1.x pipeline) it loads a plain
`StableDiffusionPipeline` with `from_pretrained` and a `LocalEngine` on the same folder with its speed levers
(`ENGINE_COMPILE` as `--compile` says), then measures in alternating rounds (the plain pipeline in a child
process, see `PlainPipeline`):
- one request: engine latency ÷ plain latency (target ≤ 0.7);
- eight requests at once through the engine against eight plain calls one after another: images/s ratio
  (target ≥ 2.5);
- the largest and the mean per-pixel difference (0–255) between the engine's and the plain pipeline's pictures
  for the same seeds, and the share of values within 4;
- how long the first request waits after start-up, and how long the background compiler takes.
The last line is one JSON object with those figures.

    python bench/engine_speed.py [--compile auto|on|off] [--dtype bfloat16] [--rounds 3] [--models embedded,tiny-sd]
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch
from diffusers import StableDiffusionPipeline

from engine.api import GenerationRequest
from engine.local import LocalEngine
from engine.model_sources import EMBEDDED_MODEL_DIR
from engine.settings import EngineSettings, LoadOptions

#: Eight prompts the embedded model knows the words of, one per concurrent request.
PROMPTS = [
    "a red circle",
    "a blue square on a yellow background",
    "a small green star, night",
    "a large pink heart in the top left",
    "an orange triangle above a purple diamond",
    "a white circle on a black background",
    "a brown square to the left of a gray star",
    "sunset",
]
CONCURRENCY = 8
Result = TypeVar("Result")


class PlainPipeline:
    """A plain diffusers `StableDiffusionPipeline` in a child process, driven call by call from this one.

    Not in this process: two threads running torch here (ours and the engine's owner) would start two OpenMP
    thread teams, and on 2 cores each then runs about 1.6x slower, which would flatter the engine."""

    def __init__(self, folder: Path) -> None:
        context = multiprocessing.get_context("spawn")
        self._connection, child = context.Pipe()
        self._process = context.Process(target=_serve_plain, args=(str(folder), child), daemon=True)
        self._process.start()
        self._connection.recv()  # loaded

    def pictures(self, request: GenerationRequest) -> tuple[float, list[np.ndarray]]:
        """Seconds the plain call took, and its picture."""
        self._connection.send(request)
        seconds, pictures = self._connection.recv()
        return seconds, [np.asarray(picture, dtype=np.int16) for picture in pictures]

    def close(self) -> None:
        self._connection.send(None)
        self._process.join(30)


def _serve_plain(folder: str, connection) -> None:
    pipeline = StableDiffusionPipeline.from_pretrained(folder, dtype=torch.float32, local_files_only=True)
    pipeline.set_progress_bar_config(disable=True)
    connection.send("loaded")
    while (request := connection.recv()) is not None:
        started = time.perf_counter()
        with torch.inference_mode():
            result = pipeline(
                prompt=[request.prompt],
                height=request.height,
                width=request.width,
                num_inference_steps=request.steps,
                guidance_scale=request.guidance_scale,
                generator=[torch.Generator("cpu").manual_seed(request.seed or 0)],
                output_type="pil",
            )
        connection.send((time.perf_counter() - started, [np.asarray(image) for image in result.images]))


def engine_pictures(engine: LocalEngine, requests: list[GenerationRequest]) -> list[np.ndarray]:
    """The requests submitted at once, as concurrent users would; each picture in request order."""
    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        results = list(pool.map(lambda request: engine.submit(request).result(timeout=1800), requests))
    return [np.asarray(result.images[0].image, dtype=np.int16) for result in results]


def timed(work: Callable[[], Result]) -> tuple[float, Result]:
    started = time.perf_counter()
    value = work()
    return time.perf_counter() - started, value


def measure(name: str, folder: Path, args: argparse.Namespace, cache_dir: Path) -> dict[str, object]:
    plain = PlainPipeline(folder)
    options = LoadOptions(compile=args.compile, compile_cache_dir=cache_dir, dtype=args.dtype)
    settings = EngineSettings(default_model=str(folder), max_batch=CONCURRENCY, max_wait_ms=20, load=options)
    load_s, engine = timed(partial(LocalEngine, settings))
    loaded = engine.model(None)

    def requests(count: int, round_index: int) -> list[GenerationRequest]:
        return [
            GenerationRequest(prompt=PROMPTS[i % len(PROMPTS)], seed=1000 * round_index + i).resolved(
                loaded.name, loaded.limits
            )
            for i in range(count)
        ]

    # Start-up: the first request, then (compiling) the shapes of one and of eight requests, ready.
    first_request_s, _ = timed(partial(engine_pictures, engine, requests(1, 99)))
    compile_s = 0.0
    if loaded.compiler is not None:
        engine_pictures(engine, requests(CONCURRENCY, 99))
        compile_s, _ = timed(loaded.compiler.wait_idle)
    plain.pictures(requests(1, 99)[0])  # warm both paths
    engine_pictures(engine, requests(1, 98))

    singles: dict[str, list[float]] = {"plain": [], "engine": []}
    walls: dict[str, list[float]] = {"plain": [], "engine": []}
    differences: list[np.ndarray] = []
    for round_index in range(args.rounds):
        one, many = requests(1, round_index), requests(CONCURRENCY, round_index)
        plain_s, plain_one = plain.pictures(one[0])
        engine_s, engine_one = timed(partial(engine_pictures, engine, one))
        plain_many = [plain.pictures(request) for request in many]
        engine_many_s, engine_many = timed(partial(engine_pictures, engine, many))
        singles["plain"].append(plain_s)
        singles["engine"].append(engine_s)
        walls["plain"].append(sum(seconds for seconds, _ in plain_many))
        walls["engine"].append(engine_many_s)
        plain_all = plain_one + [pictures[0] for _, pictures in plain_many]
        differences += [np.abs(ours - theirs).ravel() for ours, theirs in zip(engine_one + engine_many, plain_all)]
    plain.close()
    engine.close()

    difference = np.concatenate(differences)
    largest_difference = int(difference.max())
    single_plain, single_engine = statistics.median(singles["plain"]), statistics.median(singles["engine"])
    plain_rate = CONCURRENCY / statistics.median(walls["plain"])
    engine_rate = CONCURRENCY / statistics.median(walls["engine"])
    figures = {
        "model": name,
        "size": f"{loaded.limits.default_width}x{loaded.limits.default_height}",
        "steps": loaded.limits.default_steps,
        "runtime": loaded.runtime,
        "speed_plan": loaded.speed.describe() if loaded.speed else "",
        "single_plain_s": round(single_plain, 3),
        "single_engine_s": round(single_engine, 3),
        "single_latency_ratio": round(single_engine / single_plain, 3),
        "plain_sequential_images_per_s": round(plain_rate, 2),
        "engine_concurrent_images_per_s": round(engine_rate, 2),
        "concurrent_throughput_ratio": round(engine_rate / plain_rate, 3),
        "max_pixel_difference": largest_difference,
        "mean_pixel_difference": round(float(difference.mean()), 3),
        "share_within_4": round(float((difference <= 4).mean()), 4),
        "load_s": round(load_s, 1),
        "first_request_s": round(first_request_s, 2),
        "background_compile_s": round(compile_s, 1),
    }
    print(
        f"{name} ({figures['size']}, {figures['steps']} steps, {figures['runtime']}; {figures['speed_plan']}):\n"
        f"  one request      plain {single_plain:.3f} s, engine {single_engine:.3f} s, "
        f"ratio {figures['single_latency_ratio']} (target <= 0.7)\n"
        f"  {CONCURRENCY} requests       plain one by one {plain_rate:.2f} images/s, engine at once "
        f"{engine_rate:.2f} images/s, ratio {figures['concurrent_throughput_ratio']} (target >= 2.5)\n"
        f"  pixel difference: largest {largest_difference} of 255, mean {figures['mean_pixel_difference']}, "
        f"{figures['share_within_4']:.2%} within 4; start-up: load {load_s:.1f} s, first request "
        f"{first_request_s:.2f} s, background compile {compile_s:.0f} s",
        flush=True,
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--compile", choices=("auto", "on", "off"), default="auto", help="ENGINE_COMPILE")
    parser.add_argument("--dtype", help="ENGINE_DTYPE for the engine (default: automatic)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--models", default="embedded,tiny-sd")
    parser.add_argument("--cache-dir", type=Path, help="compiled-kernel cache (default: a fresh temporary folder)")
    args = parser.parse_args()
    logging.basicConfig(format="  %(message)s")
    logging.getLogger("engine.models").setLevel(logging.INFO)  # what the engine found and chose, bf16 trial included
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, compile {args.compile}", flush=True)
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        cache_dir = args.cache_dir or Path(scratch) / "compile-cache"
        for name in args.models.split(","):
            if name == "embedded":
                folder = EMBEDDED_MODEL_DIR
            else:
                sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' tiny pipelines
                from tests.tiny_pipelines import build_sd15

                folder = build_sd15(Path(scratch) / name)
            results.append(measure(name, folder, args, cache_dir))
    print(json.dumps({"compile": args.compile, "dtype": args.dtype or "automatic", "models": results}))


if __name__ == "__main__":
    main()
