"""Dynamic batching vs plain sequential pipeline calls, measured in one run on one model.

For N = 1, 2, 4, 8 concurrent requests it times N requests submitted at once to `LocalEngine` against the
same N requests as sequential plain pipeline calls on the same pipeline, and prints images/s, p50/p95
latency and peak RSS. The last line is one JSON object: {"concurrency": 8, "ratio": ..., ...}.

    python bench/engine_batching.py [--model PATH] [--steps N] [--size 256x256] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
import torch

from engine.api import GenerationRequest
from engine.local import LocalEngine
from engine.settings import EngineSettings


class PeakMemory:
    """Samples this process's resident memory every 10 ms while in use; `.peak_mb` is the highest seen."""

    def __enter__(self) -> PeakMemory:
        self._process, self._stop, self.peak_mb = psutil.Process(), threading.Event(), 0.0
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, self._process.memory_info().rss / 2**20)
            time.sleep(0.01)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def plain_call(engine: LocalEngine, request: GenerationRequest) -> None:
    """What a server without an engine would do: one pipeline call per request, on the caller's thread."""
    loaded = engine.model(request.model)
    with torch.inference_mode():
        loaded.pipeline(
            prompt=[request.prompt],
            height=request.height,
            width=request.width,
            num_inference_steps=request.steps,
            guidance_scale=request.guidance_scale,
            generator=[torch.Generator("cpu").manual_seed(request.seed or 0)],
            output_type="pil",
        )


def run_sequential(engine: LocalEngine, requests: list[GenerationRequest]) -> tuple[float, list[float]]:
    started, latencies = time.perf_counter(), []
    for request in requests:
        plain_call(engine, request)
        latencies.append(time.perf_counter() - started)  # each waited for all before it
    return time.perf_counter() - started, latencies


def run_concurrent(engine: LocalEngine, requests: list[GenerationRequest]) -> tuple[float, list[float]]:
    def one(request: GenerationRequest) -> float:
        submitted = time.perf_counter()
        engine.submit(request).result(timeout=600)
        return time.perf_counter() - submitted

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        latencies = list(pool.map(one, requests))
    return time.perf_counter() - started, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="", help="model folder or name (default: the embedded model)")
    parser.add_argument("--steps", type=int, help="denoising steps (default: the model's)")
    parser.add_argument("--size", help="WIDTHxHEIGHT (default: the model's native size)")
    parser.add_argument("--rounds", type=int, default=3, help="repeats per concurrency; the median is reported")
    args = parser.parse_args()

    engine = LocalEngine(EngineSettings(default_model=args.model, max_batch=8, max_wait_ms=20, max_queue=64))
    loaded = engine.model(None)
    width, height = (int(v) for v in args.size.split("x")) if args.size else (None, None)
    template = GenerationRequest(prompt="", steps=args.steps, width=width, height=height)

    def requests(count: int, round_index: int) -> list[GenerationRequest]:
        prompts = [
            "a red circle",
            "a blue square on a yellow background",
            "a small green star, night",
            "a large pink heart in the top left",
            "an orange triangle above a purple diamond",
            "a white circle on a black background",
            "a brown square to the left of a gray star",
            "sunset",
        ]
        return [
            GenerationRequest(
                **{**template.__dict__, "prompt": prompts[i % len(prompts)], "seed": 1000 * round_index + i}
            ).resolved(loaded.name, loaded.limits)
            for i in range(count)
        ]

    print(
        f"model {loaded.name} on {loaded.device} ({torch.get_num_threads()} threads), "
        f"{requests(1, 0)[0].width}x{requests(1, 0)[0].height}, {requests(1, 0)[0].steps} steps"
    )
    plain_call(engine, requests(1, 0)[0])  # warm up both paths
    engine.submit(requests(1, 0)[0]).result(timeout=600)

    print(f"{'N':>3} {'mode':>10} {'images/s':>9} {'p50 s':>7} {'p95 s':>7} {'peak RSS MB':>12}")
    ratios: dict[int, float] = {}
    single = {}
    for count in (1, 2, 4, 8):
        measured = {}
        for mode, runner in (("sequential", run_sequential), ("engine", run_concurrent)):
            walls, latencies, peaks = [], [], []
            for round_index in range(args.rounds):
                with PeakMemory() as memory:
                    wall, lat = runner(engine, requests(count, round_index))
                walls.append(wall)
                latencies.extend(lat)
                peaks.append(memory.peak_mb)
            wall = statistics.median(walls)
            measured[mode] = count / wall
            if count == 1:
                single[mode] = wall
            print(
                f"{count:>3} {mode:>10} {count / wall:>9.2f} {percentile(latencies, 0.5):>7.3f} "
                f"{percentile(latencies, 0.95):>7.3f} {max(peaks):>12.0f}"
            )
        ratios[count] = measured["engine"] / measured["sequential"]
    engine.close()
    print(
        "ratio (engine images/s / sequential images/s): "
        + ", ".join(f"N={count}: {ratio:.2f}" for count, ratio in ratios.items())
    )
    print(
        json.dumps(
            {
                "concurrency": 8,
                "ratio": round(ratios[8], 3),
                "ratios": {str(count): round(ratio, 3) for count, ratio in ratios.items()},
                "single_request_ratio": round(single["engine"] / single["sequential"], 3),
            }
        )
    )


if __name__ == "__main__":
    main()
