"""Real `addin-server serve` processes on the remote engine: no torch in them, cancel from another web process,
a web restart mid-job, progress events, back-pressure, Redis restarting, metrics, documents."""

from __future__ import annotations

import io
import json
import shutil
import socket
import subprocess
import time

import pptx
import psutil
import pytest
import requests

from engine.job_board import JobBoard
from tests.addin_server.live_server import LiveServer, free_port
from tests.scale_out.conftest import LOST_S, WorkerProcess


@pytest.fixture
def web_env(queue_url, shared_dir):
    return {
        "ENGINE_QUEUE_URL": queue_url,
        "ENGINE_SHARED_DIR": str(shared_dir),
        "ENGINE_WORKER_LOST_S": str(LOST_S),
        "RATE_LIMIT": "1000/minute",
    }


@pytest.fixture
def start_web(test_model_dir, tmp_path, web_env):
    servers: list[LiveServer] = []

    def start(env: dict | None = None, instance=None) -> LiveServer:
        server = LiveServer(test_model_dir, instance or tmp_path / "web", env={**web_env, **(env or {})}).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def wait_job(server: LiveServer, job_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = server.get(f"/api/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.1)


def loaded_libraries(pid: int) -> str:
    return "\n".join(
        open(f"/proc/{child.pid}/maps").read() for child in [psutil.Process(pid), *psutil.Process(pid).children()]
    )


def test_the_web_process_never_imports_torch(start_worker, start_web):
    start_worker("w1")
    web = start_web()
    job = web.post("/api/jobs", {"prompt": "a red circle", "n": 2}).json()
    assert [image["seed"] for image in wait_job(web, job["id"])["images"]]
    assert web.process is not None
    maps = loaded_libraries(web.process.pid)
    assert "libtorch" not in maps and "/torch/" not in maps and "PIL" in maps


def test_cancel_from_another_web_process(start_worker, start_web, tmp_path):
    start_worker("w1", concurrency=1)
    first = start_web()
    second = start_web(instance=tmp_path / "web")  # the same database: two processes of one web tier
    running = first.post("/api/jobs", {"prompt": "x", "steps": 150}).json()
    queued = first.post("/api/jobs", {"prompt": "y"}).json()
    deadline = time.monotonic() + 60
    while second.get(f"/api/jobs/{running['id']}").json()["progress"]["step"] == 0:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    answer = requests.delete(second.url + f"/api/jobs/{queued['id']}", timeout=30)
    assert answer.status_code == 200 and answer.json()["status"] == "cancelled"
    stopping = requests.delete(second.url + f"/api/jobs/{running['id']}", timeout=30)
    assert stopping.status_code in (200, 202)
    assert wait_job(first, running["id"])["status"] == "cancelled"


def test_a_web_restart_mid_job_loses_nothing(start_worker, start_web, tmp_path):
    start_worker("w1", concurrency=1)
    web = start_web()
    job = web.post("/api/jobs", {"prompt": "a green star", "steps": 120, "n": 2}).json()
    deadline = time.monotonic() + 60
    while web.get(f"/api/jobs/{job['id']}").json()["progress"]["step"] == 0:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert web.stop() == 0  # while the worker draws
    again = start_web(instance=tmp_path / "web")
    finished = wait_job(again, job["id"])
    assert finished["status"] == "succeeded" and len(finished["images"]) == 2
    assert all(again.get(f"/api/images/{image['id']}").status_code == 200 for image in finished["images"])


def test_progress_events_through_the_remote_engine(start_worker, start_web):
    start_worker("w1")
    web = start_web()
    job = web.post("/api/jobs", {"prompt": "a red circle", "steps": 40}).json()
    events = []
    with web.get(f"/api/jobs/{job['id']}/events", stream=True) as stream:
        for line in stream.iter_lines(decode_unicode=True):
            if line.startswith("event: "):
                events.append(line.removeprefix("event: "))
            elif line.startswith("data: ") and events[-1] == "progress":
                events[-1] = ("progress", json.loads(line.removeprefix("data: "))["progress"]["step"])
            if events and events[-1] in ("succeeded", "failed", "cancelled"):
                break
    steps = [event[1] for event in events if isinstance(event, tuple)]
    assert events[-1] == "succeeded" and max(steps) > 0 and steps == sorted(steps)


def test_a_full_queue_is_a_429_with_retry_after(start_worker, start_web):
    worker = start_worker("w1", concurrency=1)
    web = start_web(env={"ENGINE_MAX_QUEUE": "2"})
    worker.stop()  # nothing takes the jobs now
    assert web.post("/api/jobs", {"prompt": "x"}).status_code == 202
    assert web.post("/api/jobs", {"prompt": "y"}).status_code == 202
    refused = web.post("/api/jobs", {"prompt": "z"})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["error"]["code"] == "queue_full"


def test_metrics_count_workers_and_their_batches(start_worker, start_web):
    start_worker("w1")
    web = start_web()
    wait_job(web, web.post("/api/jobs", {"prompt": "x", "n": 3}).json()["id"])
    deadline = time.monotonic() + 10
    while 'addin_worker_batch_images_count{worker="w1"}' not in (text := web.get("/metrics").text):
        assert time.monotonic() < deadline, text
        time.sleep(0.1)
    assert "addin_workers_alive 1.0" in text and "addin_queue_depth 0.0" in text


def test_documents_batch_on_the_workers(start_worker, start_web, queue_url):
    start_worker("w1")
    web = start_web()
    spec = {"title": "Scaled", "slides": [{"title": f"S{i}", "image": f"a red circle {i}"} for i in range(3)]}
    created = web.post("/api/documents", spec)
    assert created.status_code == 202, created.text
    deadline = time.monotonic() + 120
    while (download := web.get(f"/api/documents/{created.json()['id']}")).status_code == 202:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert download.status_code == 200
    deck = pptx.Presentation(io.BytesIO(download.content))
    assert sum(1 for slide in deck.slides for shape in slide.shapes if shape.shape_type == 13) == 3
    deadline = time.monotonic() + 10
    while 'addin_worker_batch_images_sum{worker="w1"} 3.0' not in (text := web.get("/metrics").text):
        assert time.monotonic() < deadline, text  # the deck's three pictures ran on the worker
        time.sleep(0.1)
    board = JobBoard(queue_url)
    assert list(board.redis.scan_iter("addin:job:*")) == []  # collected, so forgotten: nothing left in Redis


def test_redis_restarting_makes_the_server_not_ready_then_it_recovers(tmp_path, test_model_dir, shared_dir):
    port = free_port()
    folder = tmp_path / "redis"
    folder.mkdir()
    command = [shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind", "127.0.0.1"]
    command += ["--save", "", "--appendonly", "no", "--dir", str(folder)]

    def start_redis() -> subprocess.Popen:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return process
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.05)

    redis_process = start_redis()
    url = f"redis://127.0.0.1:{port}/0"
    worker = WorkerProcess(url, shared_dir, test_model_dir, "w1").start()
    env = {"ENGINE_QUEUE_URL": url, "ENGINE_SHARED_DIR": str(shared_dir), "ENGINE_WORKER_LOST_S": str(LOST_S)}
    web = LiveServer(test_model_dir, tmp_path / "web", env=env).start()
    try:
        redis_process.terminate()
        redis_process.wait(10)
        deadline = time.monotonic() + 30
        while web.get("/readyz").status_code != 503:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        redis_process = start_redis()
        deadline = time.monotonic() + 60
        while web.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, worker.log()
            time.sleep(0.2)
        assert wait_job(web, web.post("/api/jobs", {"prompt": "a red circle"}).json()["id"])["status"] == "succeeded"
    finally:
        web.stop()
        worker.stop()
        redis_process.terminate()
