"""Scale-out measured in one run on the embedded model, with a real redis-server and real worker processes,
each worker on one CPU thread (OMP_NUM_THREADS=1, as on a 2-core machine):

- images/s with 2 workers ÷ 1 worker (target ≥ 1.6);
- one request's latency through the remote engine ÷ the in-process engine (target ≤ 1.15);
- images/s inside one worker with 8 concurrent clients ÷ the same 8 requests one after another (target ≥ 1.8);
  this worker has the whole machine (one thread per core), as a worker owns its device.

The last line is one JSON object with the three ratios.

    python bench/scale_out.py [--jobs 32] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from engine.api import GenerationRequest
from engine.job_board import JobBoard
from engine.remote import RemoteEngine
from engine.settings import EngineSettings, QueueSettings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_redis(folder: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    executable = shutil.which("redis-server")
    if executable is None:
        sys.exit("redis-server is not installed (apt-get install redis-server)")
    process = subprocess.Popen(
        [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    return process, f"redis://127.0.0.1:{port}/0"


def start_worker(url: str, shared: Path, name: str, log: Path, threads: int = 1) -> subprocess.Popen:
    env = {**os.environ, "ENGINE_QUEUE_URL": url, "ENGINE_SHARED_DIR": str(shared), "OMP_NUM_THREADS": str(threads)}
    env["HF_HUB_OFFLINE"] = "1"
    process = subprocess.Popen(
        [sys.executable, "-m", "addin_server.cli", "worker", f"--name={name}"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    board = JobBoard(url)
    deadline = time.monotonic() + 120
    while not any(worker["name"] == name for worker in board.workers()) or b"ready." not in log.read_bytes():
        if time.monotonic() > deadline or process.poll() is not None:
            sys.exit(f"worker {name} did not start:\n{log.read_text()[-2000:]}")
        time.sleep(0.1)
    return process


def run_all(engine: RemoteEngine, jobs: int, clients: int, seed: int) -> float:
    """Seconds for `jobs` one-image requests from `clients` users, all submitted at once."""
    requests = [
        GenerationRequest(prompt="a red circle", seed=seed + i, owner=f"user-{i % clients}") for i in range(jobs)
    ]
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        handles = list(pool.map(engine.submit, requests))
        list(pool.map(lambda handle: handle.result(timeout=600), handles))
    return time.perf_counter() - started


def one_by_one(submit, count: int, seed: int) -> list[float]:
    times = []
    for i in range(count):
        started = time.perf_counter()
        submit(GenerationRequest(prompt="a red circle", seed=seed + i, owner="solo")).result(timeout=600)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=32, help="one-image jobs per throughput round")
    parser.add_argument("--rounds", type=int, default=3, help="latency samples")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="scale-out-"))
    shared = folder / "shared"
    shared.mkdir()
    redis_process, url = start_redis(folder)
    workers: list[subprocess.Popen] = []
    try:
        engine = RemoteEngine(EngineSettings(queue=QueueSettings(url=url, shared_dir=shared)))

        # 1. Batching inside one worker that has the machine (both cores): 8 clients at once against the same 8
        #    requests one after another.
        batcher = start_worker(url, shared, "batcher", folder / "batcher.log", threads=os.cpu_count() or 1)
        run_all(engine, 4, 4, 0)  # warm up: first calls pay one-time costs
        sequential = sum(one_by_one(engine.submit, 8, 100))
        concurrent = run_all(engine, 8, 8, 200)
        batching = sequential / concurrent
        print(f"one worker: 8 requests one by one {sequential:.2f} s, 8 at once {concurrent:.2f} s → {batching:.2f}×")
        batcher.terminate()
        batcher.wait(60)

        workers.append(start_worker(url, shared, "w1", folder / "w1.log"))
        run_all(engine, 4, 4, 0)

        # 2. Latency of one request: remote (one worker) against in-process, same thread count.
        remote_latency = statistics.median(one_by_one(engine.submit, args.rounds, 300))

        # 3. Throughput: one worker, then two.
        one = run_all(engine, args.jobs, 8, 400)
        workers.append(start_worker(url, shared, "w2", folder / "w2.log"))
        run_all(engine, 4, 4, 500)
        two = run_all(engine, args.jobs, 8, 600)
        scaling = one / two
        print(
            f"{args.jobs} images: 1 worker {one:.2f} s ({args.jobs / one:.2f}/s), 2 workers {two:.2f} s "
            f"({args.jobs / two:.2f}/s) → {scaling:.2f}×"
        )
        for worker in workers:
            worker.terminate()
            worker.wait(60)
        workers.clear()

        import torch

        from engine.local import LocalEngine

        torch.set_num_threads(1)
        local = LocalEngine(EngineSettings())
        one_by_one(local.submit, 1, 700)  # warm up
        local_latency = statistics.median(one_by_one(local.submit, args.rounds, 300))
        local.close()
        latency = remote_latency / local_latency
        print(f"one request: remote {remote_latency:.3f} s, in-process {local_latency:.3f} s → {latency:.3f}×")
        print(
            json.dumps(
                {
                    "workers_2_over_1": round(scaling, 3),
                    "latency_remote_over_local": round(latency, 3),
                    "batching_in_one_worker": round(batching, 3),
                }
            )
        )
    finally:
        for worker in workers:
            worker.kill()
        redis_process.terminate()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
