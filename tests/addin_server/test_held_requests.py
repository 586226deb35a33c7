"""One user cannot hold every request thread: requests that wait for pictures are capped per user (429 before
any work starts), so the server keeps answering everyone else."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from tests.addin_server.live_server import LiveServer

HELD = 2


def test_forty_waiting_requests_from_one_user_leave_the_server_answering(test_model_dir, tmp_path):
    env = {"SERVER_MAX_WAITS_PER_USER": str(HELD), "SERVER_THREADS": "16", "ENGINE_MAX_BATCH": "1"}
    server = LiveServer(test_model_dir, tmp_path / "instance", env=env).start()
    try:
        slow = {"prompt": "a slow circle", "steps": 150, "n": 4}
        with ThreadPoolExecutor(HELD + 40) as pool:
            held = [pool.submit(server.post, "/v1/images/generations", slow, timeout=300) for _ in range(HELD)]
            deadline = time.monotonic() + 60
            while len(server.get("/api/jobs").json()["data"]) < HELD:  # both waiting, each on its own job
                assert time.monotonic() < deadline
                time.sleep(0.05)
            burst = list(pool.map(lambda _: server.post("/v1/images/generations", slow), range(40)))
            started = time.perf_counter()
            health = server.get("/healthz", timeout=10)
            health_s = time.perf_counter() - started
            assert [answer.status_code for answer in burst] == [429] * 40
            assert {answer.json()["error"]["code"] for answer in burst} == {"too_many_waits"}
            assert all(int(answer.headers["Retry-After"]) >= 1 for answer in burst)
            assert health.status_code == 200, f"/healthz took {health_s:.2f} s"
            assert len(server.get("/api/jobs").json()["data"]) == HELD  # the refused ones started nothing
            assert [future.result().status_code for future in held] == [200] * HELD
        assert server.post("/v1/images/generations", {"prompt": "now it fits", "steps": 2}).status_code == 200
    finally:
        server.stop()
