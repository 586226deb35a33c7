"""One server serves a whole tenant: one user's big document never locks the others out or keeps them waiting."""

from __future__ import annotations

import time

from addin_server.app import create_app, shutdown_app
from addin_server.services import services
from tests.addin_server.conftest import HeaderUser, make_config, wait_for_job

ALICE, BOB = {"X-Test-User": "alice"}, {"X-Test-User": "bob"}


def hundred_image_deck() -> dict:
    return {"title": "Alice's deck", "slides": [{"title": f"Slide {n}", "image": f"shape {n}"} for n in range(100)]}


def test_another_users_image_finishes_within_two_batches_while_a_100_image_document_runs(test_model_dir, tmp_path):
    app = create_app(make_config(test_model_dir, tmp_path), authenticator=HeaderUser())
    batches: list[tuple[float, tuple[str, ...]]] = []
    services(app).engine.observe_batches(lambda report: batches.append((time.monotonic(), report.job_ids)))
    client = app.test_client()
    try:
        document = client.post("/api/documents", json=hundred_image_deck(), headers=ALICE)
        assert document.status_code == 202
        status = f"/api/documents/{document.get_json()['id']}/status"
        deadline = time.monotonic() + 60
        while client.get(status, headers=ALICE).get_json()["progress"]["images_done"] < 8:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        submitted = time.monotonic()
        job = client.post("/api/jobs", json={"prompt": "bob's circle", "size": "64x64"}, headers=BOB).get_json()
        assert wait_for_job(client, job["id"], BOB)["status"] == "succeeded"
        served = next(index for index, (_, job_ids) in enumerate(batches) if job["id"] in job_ids)
        after_submitting = [index for index, (finished, _) in enumerate(batches) if finished > submitted]
        assert served - after_submitting[0] + 1 <= 2  # the batch that was running, then Bob's own
        assert client.get(status, headers=ALICE).get_json()["progress"]["images_done"] < 100  # still going
    finally:
        shutdown_app(app)


def test_a_document_of_more_images_than_allowed_is_a_400_that_names_the_count(test_model_dir, tmp_path):
    app = create_app(make_config(test_model_dir, tmp_path, server={"max_document_images": 10}))
    client = app.test_client()
    try:
        deck = {"title": "Too many", "slides": [{"title": str(n), "image": "a star"} for n in range(11)]}
        answer = client.post("/api/documents", json=deck)
        error = answer.get_json()["error"]
        assert answer.status_code == 400 and error["code"] == "too_many_images"
        assert "11 images" in error["message"] and "at most 10" in error["message"]
        assert client.get("/api/documents").get_json()["data"] == []
    finally:
        shutdown_app(app)


def test_parallel_documents_take_their_slots_atomically(test_model_dir, tmp_path):
    """Six requests at once with a limit of two: two start, four are told to wait, none slip through."""
    from concurrent.futures import ThreadPoolExecutor

    app = create_app(make_config(test_model_dir, tmp_path, server={"max_documents_per_user": 2}))
    client = app.test_client()
    deck = {"title": "Parallel", "slides": [{"title": str(n), "image": "a star"} for n in range(20)]}
    try:
        with ThreadPoolExecutor(6) as pool:
            statuses = sorted(pool.map(lambda _: client.post("/api/documents", json=deck).status_code, range(6)))
        assert statuses == [202, 202, 429, 429, 429, 429]
        for document in client.get("/api/documents").get_json()["data"]:
            client.delete(f"/api/documents/{document['id']}")
    finally:
        shutdown_app(app)


def test_documents_are_planned_at_most_two_at_a_time_off_the_request_threads(test_model_dir, tmp_path):
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from addin_server.documents.errors import DocumentError
    from addin_server.documents.service import PLANNERS

    app = create_app(make_config(test_model_dir, tmp_path, server={"max_documents_per_user": 8}))
    documents = services(app).documents
    planning, most, lock = [0], [0], threading.Lock()
    request_threads: set[int] = set()
    planner_threads: set[int] = set()

    def slow_plan():
        planner_threads.add(threading.get_ident())
        with lock:
            planning[0] += 1
            most[0] = max(most[0], planning[0])
        time.sleep(0.3)
        with lock:
            planning[0] -= 1
        raise DocumentError("a file that cannot be used", code="invalid_document")

    def start(owner: str) -> str:
        request_threads.add(threading.get_ident())
        try:
            documents.start(owner, "deck.pptx", slow_plan, documents.maker(owner, None, None, "same"))
        except DocumentError as error:
            return error.code
        return "started"

    try:
        with ThreadPoolExecutor(6) as pool:
            outcomes = list(pool.map(start, ["alice", "bob", "carol", "alice", "bob", "carol"]))
        assert outcomes == ["invalid_document"] * 6 and most[0] == PLANNERS == 2
        assert not planner_threads & request_threads
    finally:
        shutdown_app(app)
