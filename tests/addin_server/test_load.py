"""A load test against the real server, signed in through the local identity provider: 20 clients from 4 users,
one of whom sends a 100-image document. No 5xx, no lost job, and everyone else's waits stay bounded."""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.addin_server.auth.conftest import bearer

REQUESTS_PER_CLIENT = 3


def test_twenty_clients_from_four_users_while_one_sends_a_100_image_document(signed_in_server, provider):
    server = signed_in_server
    users = {name: bearer(provider.token(oid=name)) for name in ("alice", "bob", "carol", "dave")}

    # One full batch on the idle server, the unit the waits are measured in.
    started = time.perf_counter()
    idle = server.post("/v1/images/generations", {"prompt": "idle", "n": 8}, headers=users["dave"])
    assert idle.status_code == 200
    full_batch_s = time.perf_counter() - started

    deck = {"title": "Alice's deck", "slides": [{"title": str(n), "image": f"shape {n}"} for n in range(100)]}
    document = server.post("/api/documents", deck, headers=users["alice"])
    assert document.status_code == 202

    def client(user: str, index: int) -> list[tuple[str, int, float, list]]:
        answers = []
        for round_ in range(REQUESTS_PER_CLIENT):
            started = time.perf_counter()
            body = {"prompt": f"a red circle {index} {round_}", "seed": 100 * index + round_}
            response = requests.post(server.url + "/v1/images/generations", json=body, headers=users[user], timeout=300)
            data = response.json().get("data", []) if response.status_code == 200 else []
            answers.append((user, response.status_code, time.perf_counter() - started, data))
        return answers

    clients = [("alice", n) for n in range(5)] + [(user, n) for user in ("bob", "carol", "dave") for n in range(5)]
    with ThreadPoolExecutor(len(clients)) as pool:
        answers = [answer for batch in pool.map(lambda c: client(*c), clients) for answer in batch]

    assert len(clients) == 20 and len(answers) == 20 * REQUESTS_PER_CLIENT
    assert [status for _, status, _, _ in answers if status >= 500] == []
    assert {status for _, status, _, _ in answers} == {200}
    assert all(len(data) == 1 and data[0]["url"] for _, _, _, data in answers)  # every request got its image

    # No job lost: every user's history holds exactly the jobs they asked for, all succeeded.
    for user, headers in users.items():
        jobs = server.get("/api/jobs?limit=100", headers=headers).json()["data"]
        expected = 5 * REQUESTS_PER_CLIENT + (1 if user == "dave" else 0)
        assert len(jobs) == expected and {job["status"] for job in jobs} == {"succeeded"}, user

    # Everyone else waited a bounded time while Alice's document ran.
    others = [seconds for user, _, seconds, _ in answers if user != "alice"]
    p95 = statistics.quantiles(others, n=20)[-1]
    assert p95 <= 10 * full_batch_s + 2.0, (p95, full_batch_s)

    status = f"/api/documents/{document.json()['id']}/status"
    deadline = time.monotonic() + 300
    while (progress := server.get(status, headers=users["alice"]).json())["status"] not in ("succeeded", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert progress["status"] == "succeeded" and progress["progress"]["images_done"] == 100
