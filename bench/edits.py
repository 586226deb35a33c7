"""Edit jobs batched against the same jobs one after another, on the embedded model, in one run.

Four image-to-image requests (one picture, four seeds, strength 0.6) are submitted at once to the engine, which
runs them as one pipeline call, and then the same four one at a time. The last line is one JSON object:
{"concurrency": 4, "batched_over_sequential": ..., ...} (target ≥ 1.8).

    python bench/edits.py [--rounds 2] [--strength 0.6]
"""

from __future__ import annotations

import argparse
import io
import json
import time

from PIL import Image

from engine.api import GenerationRequest
from engine.local import LocalEngine
from engine.settings import EngineSettings

CONCURRENCY = 4


def picture(width: int, height: int) -> bytes:
    source = Image.new("RGB", (width, height), (200, 40, 40))
    source.paste((40, 40, 200), (width // 2, 0, width, height))
    buffer = io.BytesIO()
    source.save(buffer, format="PNG")
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--strength", type=float, default=0.6)
    args = parser.parse_args()
    engine = LocalEngine(EngineSettings(max_wait_ms=50))
    limits = engine.limits()
    source = picture(limits.default_width, limits.default_height)

    def request(seed: int) -> GenerationRequest:
        return GenerationRequest(prompt="a blue square, flat", seed=seed, source_image=source, strength=args.strength)

    engine.submit(request(0)).result()  # warm up: the image-to-image pipeline is made on first use
    batched, sequential, sizes = [], [], set()
    for round_ in range(args.rounds):
        seeds = range(round_ * 10, round_ * 10 + CONCURRENCY)
        started = time.perf_counter()
        handles = [engine.submit(request(seed)) for seed in seeds]
        sizes |= {handle.result().batch_size for handle in handles}
        batched.append(time.perf_counter() - started)
        started = time.perf_counter()
        for seed in seeds:
            engine.submit(request(seed)).result()
        sequential.append(time.perf_counter() - started)
    engine.close()
    best_batched, best_sequential = min(batched), min(sequential)
    ratio = best_sequential / best_batched
    print(
        f"{CONCURRENCY} edits at once: {best_batched:.2f} s (batch sizes {sorted(sizes)}); one by one: "
        f"{best_sequential:.2f} s → {ratio:.2f}×"
    )
    print(
        json.dumps(
            {
                "concurrency": CONCURRENCY,
                "batched_over_sequential": round(ratio, 3),
                "batched_s": round(best_batched, 3),
                "sequential_s": round(best_sequential, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
