"""Scale-out against a real `redis-server` and real `addin-server worker` processes (Celery, threads pool)."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.job_board import JobBoard
from engine.remote import RemoteEngine
from engine.settings import EngineSettings, QueueSettings

#: A lost worker's jobs run again after this (60 s in production).
LOST_S = 3.0
_databases = itertools.count(1)


class WorkerProcess:
    """`addin-server worker` in a subprocess; `start()` waits until it has registered on the board."""

    def __init__(self, queue_url: str, shared: Path, model_dir: Path, name: str, env: dict | None = None) -> None:
        self.queue_url, self.shared, self.model_dir, self.name = queue_url, shared, model_dir, name
        self.env = env or {}
        self.log_path = shared.parent / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self, concurrency: int = 4, wait: bool = True) -> WorkerProcess:
        env = {
            **os.environ,
            "ENGINE_QUEUE_URL": self.queue_url,
            "ENGINE_SHARED_DIR": str(self.shared),
            "ENGINE_MODEL": str(self.model_dir),
            "ENGINE_WORKER_LOST_S": str(LOST_S),
            "HF_HUB_OFFLINE": "1",
            "OMP_NUM_THREADS": "1",
            **self.env,
        }
        command = [sys.executable, "-m", "addin_server.cli", "worker", f"--concurrency={concurrency}"]
        self.process = subprocess.Popen(
            [*command, f"--name={self.name}"], env=env, stdout=self.log_path.open("ab"), stderr=subprocess.STDOUT
        )
        if wait:
            self.wait_registered()
        return self

    def wait_registered(self, timeout: float = 90) -> None:
        board = JobBoard(self.queue_url)
        deadline = time.monotonic() + timeout
        while not any(worker["name"] == self.name for worker in board.workers()):
            assert self.process is not None and self.process.poll() is None, self.log()
            assert time.monotonic() < deadline, f"worker {self.name} did not register:\n{self.log()}"
            time.sleep(0.1)
        # Celery says "ready" once it consumes; registration comes just before.
        while b"ready." not in self.log_path.read_bytes():
            assert time.monotonic() < deadline, self.log()
            time.sleep(0.1)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


@pytest.fixture
def queue_url(redis_url):
    """A Redis database of its own for each test (the session's redis-server has 16)."""
    url = f"{redis_url}/{next(_databases) % 16}"
    JobBoard(url).redis.flushdb()
    return url


@pytest.fixture
def shared_dir(tmp_path) -> Path:
    folder = tmp_path / "shared"
    folder.mkdir()
    return folder


@pytest.fixture
def start_worker(queue_url, shared_dir, test_model_dir):
    started: list[WorkerProcess] = []

    def start(name: str = "w1", concurrency: int = 4, env: dict | None = None, model_dir=None) -> WorkerProcess:
        worker = WorkerProcess(queue_url, shared_dir, model_dir or test_model_dir, name, env)
        started.append(worker.start(concurrency))
        return worker

    yield start
    for worker in started:
        worker.stop()


def engine_settings(queue_url: str, shared_dir: Path, model_dir: Path, **changes) -> EngineSettings:
    queue = QueueSettings(url=queue_url, shared_dir=shared_dir, worker_lost_s=LOST_S)
    return EngineSettings(**{"default_model": str(model_dir), "queue": queue, **changes})


@pytest.fixture
def remote(queue_url, shared_dir, test_model_dir):
    engines: list[RemoteEngine] = []

    def build(**changes) -> RemoteEngine:
        engines.append(RemoteEngine(engine_settings(queue_url, shared_dir, test_model_dir, **changes)))
        return engines[-1]

    yield build
    for engine in engines:
        engine.close()
