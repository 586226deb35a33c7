"""/healthz latency while one user fires forty synchronous generations at once, against an idle server.

Starts `addin-server serve` (local mode, the embedded model, the default 32 request threads), measures
/healthz idle, then again while forty slow `POST /v1/images/generations` from the same user are in flight, and
counts how those forty were answered (200 after waiting, or 429 at once past SERVER_MAX_WAITS_PER_USER).

    python bench/held_threads.py

The last line is one JSON object: the two latencies, their ratio and the answers' status codes.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.addin_server.live_server import LiveServer  # noqa: E402

CLIENTS = 40


def healthz_seconds(server: LiveServer, rounds: int = 5) -> float:
    """The median time /healthz takes to answer."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        requests.get(server.url + "/healthz", timeout=120).raise_for_status()
        times.append(time.perf_counter() - started)
        time.sleep(0.1)
    return statistics.median(times)


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="held-threads-"))
    server = LiveServer(None, folder / "instance", env={"ENGINE_MAX_QUEUED_IMAGES_PER_USER": "0"}).start(timeout=300)
    try:
        idle = healthz_seconds(server)
        slow = {"prompt": "a slow red circle", "steps": 100}
        with ThreadPoolExecutor(CLIENTS) as pool:
            answers = [pool.submit(server.post, "/v1/images/generations", slow, timeout=600) for _ in range(CLIENTS)]
            time.sleep(1.0)  # every request has arrived and is waiting or refused
            busy = healthz_seconds(server, rounds=1)  # one probe: once threads free up, the next is quick
            codes = Counter(answer.result().status_code for answer in answers)
    finally:
        server.stop()
    print(f"/healthz idle {idle * 1000:.0f} ms; with {CLIENTS} waiting requests from one user {busy * 1000:.0f} ms")
    print(f"their answers: {dict(codes)}")
    print(json.dumps({"idle_s": idle, "busy_s": busy, "ratio": busy / idle, "answers": dict(codes)}))


if __name__ == "__main__":
    main()
