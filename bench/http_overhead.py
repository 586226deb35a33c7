"""What the HTTP server costs over calling the engine directly, measured in one run on one model.

1. Latency: the same single requests, alternately through `POST /v1/images/generations` (b64_json, so the
   PNG travels back) on a real `addin-server serve` and directly through an in-process `LocalEngine`.
2. Throughput: images/s with 8 concurrent HTTP clients against 8 threads submitting to the engine directly.

The server and the direct engine never run at the same time. The last line is one JSON object with
`latency_ratio` (HTTP ÷ direct, median), `latency_overhead_ms` and `throughput_ratio` (HTTP ÷ direct).

    python bench/http_overhead.py [--model PATH] [--rounds 8] [--requests-per-client 3] [--throughput-rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.api import GenerationRequest  # noqa: E402
from engine.local import LocalEngine  # noqa: E402
from engine.model_sources import ModelRegistry  # noqa: E402
from engine.settings import EngineSettings  # noqa: E402
from tests.addin_server.live_server import LiveServer  # noqa: E402

CONCURRENCY = 8


def direct_request(engine: LocalEngine, prompt: str, seed: int) -> float:
    started = time.perf_counter()
    engine.submit(GenerationRequest(prompt=prompt, seed=seed)).result(timeout=600)
    return time.perf_counter() - started


def http_request(session: requests.Session | types.ModuleType, url: str, prompt: str, seed: int) -> float:
    started = time.perf_counter()
    response = session.post(
        url + "/v1/images/generations",
        json={"prompt": prompt, "seed": seed, "response_format": "b64_json"},
        timeout=600,
    )
    response.raise_for_status()
    return time.perf_counter() - started


def images_per_second(run_one, requests_per_client: int) -> float:
    """Total images ÷ wall time for CONCURRENCY workers, each running `requests_per_client` requests."""

    def client(index: int) -> None:
        for round_ in range(requests_per_client):
            run_one(f"a red circle number {index}", 1000 * index + round_)

    started = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(client, range(CONCURRENCY)))
    return CONCURRENCY * requests_per_client / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a diffusers folder (default: the embedded model)")
    parser.add_argument("--rounds", type=int, default=8, help="single requests timed on each path")
    parser.add_argument("--requests-per-client", type=int, default=3)
    parser.add_argument("--throughput-rounds", type=int, default=3, help="alternating throughput runs per path")
    args = parser.parse_args()

    settings = EngineSettings(default_model=args.model or "", max_jobs_per_owner=0)
    engine = LocalEngine(settings, ModelRegistry.from_settings("", settings.default_model))
    instance = Path(tempfile.mkdtemp(prefix="http-overhead-")) / "instance"
    server = LiveServer(
        Path(args.model) if args.model else None,
        instance,
        env={"ENGINE_MAX_JOBS_PER_USER": "0", "RATE_LIMIT": "100000/minute"},
    ).start()
    session = requests.Session()
    try:
        # Warm both paths once.
        direct_request(engine, "warm up", 1)
        http_request(session, server.url, "warm up", 1)

        # 1. Single-request latency, alternating so drifts hit both paths alike.
        direct, http = [], []
        for round_ in range(args.rounds):
            direct.append(direct_request(engine, "a blue square on white", round_))
            http.append(http_request(session, server.url, "a blue square on white", round_))
        direct_median, http_median = statistics.median(direct), statistics.median(http)
        print(
            f"single request: direct {direct_median * 1000:.0f} ms, HTTP {http_median * 1000:.0f} ms "
            f"(median of {args.rounds})"
        )

        # 2. Throughput at CONCURRENCY concurrent callers.
        def http_one(prompt: str, seed: int) -> None:
            http_request(requests, server.url, prompt, seed)

        def direct_one(prompt: str, seed: int) -> None:
            direct_request(engine, prompt, seed)

        direct_rates, http_rates = [], []
        for round_ in range(args.throughput_rounds):  # alternating, like the latency rounds
            direct_rates.append(images_per_second(direct_one, args.requests_per_client))
            http_rates.append(images_per_second(http_one, args.requests_per_client))
            print(f"  round {round_ + 1}: direct {direct_rates[-1]:.2f}, HTTP {http_rates[-1]:.2f} images/s")
        direct_rate, http_rate = statistics.mean(direct_rates), statistics.mean(http_rates)
        print(
            f"{CONCURRENCY} concurrent: direct {direct_rate:.2f} images/s, HTTP {http_rate:.2f} images/s "
            f"(mean of {args.throughput_rounds} rounds)"
        )
    finally:
        server.stop()
        engine.close()

    print(
        json.dumps(
            {
                "latency_ratio": round(http_median / direct_median, 3),
                "latency_overhead_ms": round((http_median - direct_median) * 1000, 1),
                "throughput_ratio": round(http_rate / direct_rate, 3),
                "direct_latency_s": round(direct_median, 3),
                "http_latency_s": round(http_median, 3),
                "direct_images_per_s": round(direct_rate, 3),
                "http_images_per_s": round(http_rate, 3),
                "concurrency": CONCURRENCY,
            }
        )
    )


if __name__ == "__main__":
    main()
