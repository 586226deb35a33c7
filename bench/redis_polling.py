"""What following queued edits costs Redis and the web process, scaled out.

Starts a `redis-server` on a free loopback port, publishes a model as a worker would (no worker runs, so the
jobs stay queued), submits ten image-to-image jobs each carrying a 1 MB picture through `RemoteEngine`, and
follows each for `SECONDS` as the web tier does (one thread waiting on `result()` per job). Prints the bytes
Redis sent per second (its `total_net_output_bytes`) and the web process's CPU share.

    python bench/redis_polling.py

The last line is one JSON object with both figures.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.api import GenerationRequest, ModelLimits  # noqa: E402
from engine.remote import RemoteEngine  # noqa: E402
from engine.settings import EngineSettings, QueueSettings  # noqa: E402

JOBS = 10
PICTURE_BYTES = 1_000_000
SECONDS = 5.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def follow(engine: RemoteEngine, job_id: str) -> None:
    with contextlib.suppress(TimeoutError):  # queued all along, as meant
        engine.result(job_id, timeout=SECONDS)


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="redis-polling-"))
    port = free_port()
    server = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--port", str(port), "--save", "", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
    )
    try:
        url = f"redis://127.0.0.1:{port}/0"
        client = redis.Redis.from_url(url)
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        limits = ModelLimits(default_width=256, default_height=256, min_size=64, max_size=512, size_multiple=8)
        client.hset("addin:models", "bench", json.dumps({**asdict(limits), "schedulers": [], "known_words": []}))
        queue = QueueSettings(url=url, shared_dir=folder / "shared")
        engine = RemoteEngine(EngineSettings(default_model="bench", models="bench=/nonexistent", queue=queue))
        picture = os.urandom(PICTURE_BYTES)
        handles = [
            engine.submit(GenerationRequest(prompt=f"edit {n}", owner=f"user-{n}", source_image=picture, strength=0.5))
            for n in range(JOBS)
        ]
        sent_before = int(client.info("stats")["total_net_output_bytes"])
        cpu_before, started = time.process_time(), time.perf_counter()
        with ThreadPoolExecutor(JOBS) as pool:
            list(pool.map(lambda handle: follow(engine, handle.job_id), handles))
        elapsed = time.perf_counter() - started
        cpu_share = (time.process_time() - cpu_before) / elapsed
        per_second = (int(client.info("stats")["total_net_output_bytes"]) - sent_before) / elapsed
        engine.close()
    finally:
        server.terminate()
        server.wait(10)
    print(f"{JOBS} queued edits of {PICTURE_BYTES / 1e6:.0f} MB followed for {elapsed:.1f} s:")
    print(f"Redis sent {per_second / 1e6:.3f} MB/s; the web process used {cpu_share:.1%} of a core")
    print(json.dumps({"redis_bytes_per_s": round(per_second), "web_cpu_share": round(cpu_share, 4)}))


if __name__ == "__main__":
    main()
