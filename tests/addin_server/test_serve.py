"""`addin-server serve`: back-pressure, a clean stop on SIGTERM, and a restart that keeps images and history."""

from __future__ import annotations

import signal
import threading
import time

import openai
import pytest
import requests

from addin_server.cli import main
from tests.addin_server.live_server import LiveServer

SLOW = {"steps": 150, "size": "128x128"}  # several seconds on the tiny model


def wait_running(server: LiveServer, job_id: str) -> None:
    deadline = time.monotonic() + 60
    while server.get(f"/api/jobs/{job_id}").json()["progress"]["step"] < 1:
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.05)


def test_full_queue_answers_429_then_sigterm_drains_and_a_restart_remembers(test_model_dir, tmp_path):
    server = LiveServer(
        test_model_dir,
        tmp_path / "instance",
        env={"ENGINE_MAX_QUEUE": "1", "ENGINE_MAX_BATCH": "1"},
    ).start()
    try:
        earlier = server.post("/v1/images/generations", {"prompt": "kept across restarts", "seed": 9}).json()
        running = server.post("/api/jobs", {"prompt": "running at stop", **SLOW}).json()
        wait_running(server, running["id"])

        # 1. One job waits (a synchronous client), the next finds the queue full.
        waiting: dict = {}
        waiter = threading.Thread(
            target=lambda: waiting.update(response=server.post("/v1/images/generations", {"prompt": "queued at stop"}))
        )
        waiter.start()
        while server.get("/readyz").json()["queue_depth"] < 1:
            time.sleep(0.05)
        full = server.post("/api/jobs", {"prompt": "no room"})
        assert full.status_code == 429 and int(full.headers["Retry-After"]) >= 1
        assert full.json()["error"]["code"] == "queue_full"
        client = openai.OpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0)
        with pytest.raises(openai.RateLimitError):
            client.images.generate(prompt="no room either")

        # 2. SIGTERM: the queued job is cancelled at once, the running one finishes, the server exits 0.
        assert server.stop(signal.SIGTERM) == 0
        waiter.join(30)
        response = waiting["response"]
        assert response.status_code == 503 and response.json()["error"]["code"] == "shutdown"
        assert response.headers["x-should-retry"] == "false"
        with pytest.raises(requests.ConnectionError):
            requests.get(server.url + "/healthz", timeout=2)

        # 3. Restart on the same instance folder: history and images are still there.
        server.start()
        jobs = {job["request"]["prompt"]: job for job in server.get("/api/jobs").json()["data"]}
        assert jobs["running at stop"]["status"] == "succeeded" and jobs["running at stop"]["images"]
        assert jobs["queued at stop"]["status"] == "cancelled"
        assert jobs["queued at stop"]["error"]["code"] == "shutdown"
        assert jobs["kept across restarts"]["status"] == "succeeded"
        image = requests.get(earlier["data"][0]["url"].replace(f":{_port(earlier)}", f":{server.port}"), timeout=10)
        assert image.status_code == 200 and image.headers["Content-Type"] == "image/png"
    finally:
        server.stop()


def _port(images_response: dict) -> str:
    return images_response["data"][0]["url"].split("/")[2].rsplit(":", 1)[1]


def test_serve_refuses_a_public_address_in_local_mode(capsys):
    assert main(["serve", "--host", "0.0.0.0", "--port", "8999"]) == 2
    message = capsys.readouterr().err
    assert "refusing to listen on 0.0.0.0" in message and "loopback" in message


def test_serve_wants_both_certificate_and_key(capsys, tmp_path):
    assert main(["serve", "--certfile", str(tmp_path / "cert.pem")]) == 2
    assert "--certfile and --keyfile go together" in capsys.readouterr().err
    assert main(["serve", "--certfile", str(tmp_path / "c.pem"), "--keyfile", str(tmp_path / "k.pem")]) == 2
    assert "does not exist" in capsys.readouterr().err
