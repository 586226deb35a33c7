"""How fast the embedded model draws at its default settings, measured in one run through the engine.

Times one 256x256 picture and one request for four (one batch), median of --rounds after a warm-up, and
prints the seconds and the batch's speed-up in pictures per second. The last line is one JSON object.

    python bench/embedded_model.py [--model PATH] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.api import GenerationRequest  # noqa: E402
from engine.local import LocalEngine  # noqa: E402
from engine.settings import EngineSettings  # noqa: E402


def seconds_for(engine: LocalEngine, n: int, rounds: int) -> float:
    """Median wall time of `rounds` requests for `n` pictures at the model's default size and steps."""
    times = []
    for round_ in range(rounds + 1):
        started = time.perf_counter()
        engine.submit(
            GenerationRequest(prompt="a small yellow star in the top left of a night sky", n=n, seed=round_)
        ).result(timeout=600)
        if round_:  # the first is a warm-up
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="", help="model folder (default: the embedded model)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    engine = LocalEngine(EngineSettings(default_model=args.model, max_batch=4, max_wait_ms=0))
    try:
        limits = engine.limits()
        one = seconds_for(engine, 1, args.rounds)
        four = seconds_for(engine, 4, args.rounds)
    finally:
        engine.close()
    print(
        f"{limits.default_width}x{limits.default_height}, {limits.default_steps} steps: "
        f"1 picture {one:.2f} s, 4 in one batch {four:.2f} s ({4 * one / four:.2f}x the pictures per second)"
    )
    print(json.dumps({"one_s": round(one, 3), "four_s": round(four, 3), "batch_speedup": round(4 * one / four, 3)}))


if __name__ == "__main__":
    main()
