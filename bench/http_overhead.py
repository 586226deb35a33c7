"""What the HTTP server costs over calling the engine directly, measured in one run on one model.

1. Latency: the same single requests, alternately through `POST /v1/images/generations` (b64_json, so the
   PNG travels back) on a real `addin-server serve` and directly through an in-process `LocalEngine`.
2. Throughput: images/s with 8 concurrent HTTP clients against 8 threads submitting to the engine directly.
3. Fairness: a second server, signed in through a local Entra-like provider so two users exist. User A starts a
   100-image document; user B then asks for one image of the same size, just as one of A's batches starts.
   B's latency ÷ the time of one full batch of that size on the idle server (target <= 2.2: B waits for the
   running batch, then its own).

Every engine setting is the default; only the rate limit is raised for the first server, where every client
is the one local user. The server and the direct engine never run at the same time. The last line is one JSON
object with `latency_ratio` (HTTP ÷ direct, median), `latency_overhead_ms`, `throughput_ratio` (HTTP ÷ direct)
and `fairness_ratio`.

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


def deck_image_size(deck: dict, model: Path | None) -> str:
    """The size the deck's pictures are drawn at, as the server plans them for `model`."""
    from addin_server.documents.build import plan_build
    from addin_server.documents.images import ImageMaker
    from addin_server.documents.spec import parse_spec
    from engine.api import ModelLimits
    from engine.model_defaults import ModelDefaults
    from engine.model_sources import EMBEDDED_MODEL_DIR

    limits = ModelLimits(**ModelDefaults.read(model or EMBEDDED_MODEL_DIR).overrides())

    class Planner:
        def limits(self, name: str | None = None) -> ModelLimits:
            return limits

    plan = plan_build(parse_spec(dict(deck)), ImageMaker(Planner()))  # type: ignore[arg-type]
    return f"{plan.orders[0].width}x{plan.orders[0].height}"


def fairness_ratio(model: Path | None) -> float:
    """B's latency for one image while A's 100-image document runs ÷ one full batch on the idle server."""
    from tests.identity_provider import LocalIdentityProvider

    folder = Path(tempfile.mkdtemp(prefix="fairness-"))
    provider = LocalIdentityProvider(folder / "identity").start()
    server = LiveServer(model, folder / "instance", env=provider.server_env()).start()
    alice = {"Authorization": f"Bearer {provider.token(oid='alice')}"}
    bob = {"Authorization": f"Bearer {provider.token(oid='bob')}"}
    try:
        server.post("/v1/images/generations", {"prompt": "warm up"}, headers=alice).raise_for_status()
        deck = {"title": "A's deck", "slides": [{"title": str(n), "image": f"a blue square {n}"} for n in range(100)]}
        size = deck_image_size(deck, model)
        batch_times = []
        for seed in range(2):  # one full batch (ENGINE_MAX_BATCH images) of the deck's size on the idle server
            started = time.perf_counter()
            body = {"prompt": "a red circle", "n": 8, "seed": seed, "size": size}
            server.post("/v1/images/generations", body, headers=alice).raise_for_status()
            batch_times.append(time.perf_counter() - started)
        full_batch = statistics.median(batch_times)
        document = server.post("/api/documents", deck, headers=alice).json()
        status = f"/api/documents/{document['id']}/status"
        while server.get(status, headers=alice).json()["progress"]["images_done"] < 1:
            time.sleep(0.05)
        started = time.perf_counter()
        body = {"prompt": "a yellow star", "seed": 5, "size": size}
        server.post("/v1/images/generations", body, headers=bob).raise_for_status()
        waited = time.perf_counter() - started
        requests.delete(server.url + f"/api/documents/{document['id']}", headers=alice, timeout=60)
        print(f"fairness: one full batch {full_batch:.2f} s idle; B's image {waited:.2f} s during A's document")
        return waited / full_batch
    finally:
        server.stop()
        provider.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a diffusers folder (default: the embedded model)")
    parser.add_argument("--rounds", type=int, default=8, help="single requests timed on each path")
    parser.add_argument("--requests-per-client", type=int, default=3)
    parser.add_argument("--throughput-rounds", type=int, default=3, help="alternating throughput runs per path")
    args = parser.parse_args()

    settings = EngineSettings(default_model=args.model or "")
    engine = LocalEngine(settings, ModelRegistry.from_settings("", settings.default_model))
    instance = Path(tempfile.mkdtemp(prefix="http-overhead-")) / "instance"
    server = LiveServer(
        Path(args.model) if args.model else None,
        instance,
        env={"RATE_LIMIT": "100000/minute"},
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

    fairness = fairness_ratio(Path(args.model) if args.model else None)

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
                "fairness_ratio": round(fairness, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
