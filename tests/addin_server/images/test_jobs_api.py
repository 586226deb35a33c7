"""The jobs API through the app factory: submit, follow, cancel, history, images, and who may see what."""

from __future__ import annotations

import base64
import io
import json
import time

import pytest
from PIL import Image

from addin_server.app import create_app, shutdown_app
from addin_server.services import services
from tests.addin_server.conftest import HeaderUser, make_config, wait_for_job
from tests.fault_injection import ExplodingPipeline


def parse_events(text: str) -> list[tuple[str, dict]]:
    events = []
    for frame in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in frame.splitlines() if not line.startswith(":"))
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_a_job_is_accepted_then_succeeds_with_its_images(client):
    response = client.post("/api/jobs", json={"prompt": "a red circle", "n": 2, "seed": 42, "size": "96x64"})
    assert response.status_code == 202
    job = response.get_json()
    assert response.headers["Location"] == f"/api/jobs/{job['id']}"
    assert job["status"] in ("queued", "running") and job["request"]["seed"] == 42
    job = wait_for_job(client, job["id"])
    assert job["status"] == "succeeded" and job["error"] is None
    assert [image["seed"] for image in job["images"]] == [42, 43]
    assert job["progress"]["step"] == job["progress"]["total_steps"] == 2
    image = client.get(job["images"][0]["url"].replace("http://localhost", ""))
    assert image.status_code == 200 and image.mimetype == "image/png"
    png = Image.open(io.BytesIO(image.data))
    assert png.size == (96, 64)
    assert png.text["prompt"] == "a red circle" and png.text["seed"] == "42"
    assert "trainedAlgorithmicMedia" in png.info.get("XML:com.adobe.xmp", "")


def test_the_same_seed_gives_the_same_image(client):
    pixels = []
    for _ in range(2):
        data = client.post(
            "/v1/images/generations", json={"prompt": "a star", "seed": 7, "response_format": "b64_json"}
        )
        pixels.append(Image.open(io.BytesIO(base64.b64decode(data.get_json()["data"][0]["b64_json"]))).tobytes())
    assert pixels[0] == pixels[1]


def test_events_arrive_in_order_and_end_in_the_final_state(client):
    job = client.post("/api/jobs", json={"prompt": "a blue square", "steps": 6}).get_json()
    response = client.get(f"/api/jobs/{job['id']}/events")
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    events = parse_events(response.get_data(as_text=True))
    names = [name for name, _ in events]
    assert names[-1] == "succeeded" and set(names[:-1]) <= {"progress"}
    steps = [body["progress"]["step"] for _, body in events]
    assert steps == sorted(steps) and steps[-1] == 6
    assert events[-1][1]["images"] and events[-1][1]["status"] == "succeeded"


def test_cancel_a_queued_job_and_a_running_one(test_model_dir, tmp_path):
    app = create_app(make_config(test_model_dir, tmp_path, engine={"max_batch": 1}))
    client = app.test_client()
    try:
        running = client.post("/api/jobs", json={"prompt": "slow", "steps": 150, "size": "128x128"}).get_json()
        queued = client.post("/api/jobs", json={"prompt": "waiting"}).get_json()
        while client.get(f"/api/jobs/{running['id']}").get_json()["progress"]["step"] < 1:
            time.sleep(0.02)
        response = client.delete(f"/api/jobs/{queued['id']}")
        assert response.status_code == 200
        assert response.get_json()["status"] == "cancelled" and response.get_json()["error"]["code"] == "cancelled"
        response = client.delete(f"/api/jobs/{running['id']}")
        assert response.status_code in (200, 202)
        job = wait_for_job(client, running["id"])
        assert job["status"] == "cancelled" and job["images"] == [] and job["progress"]["step"] < 150
        # Cancelling again changes nothing.
        assert client.delete(f"/api/jobs/{running['id']}").get_json()["status"] == "cancelled"
        assert client.post("/api/jobs", json={"prompt": "after"}).status_code == 202
    finally:
        shutdown_app(app)


def test_history_lists_the_callers_jobs_newest_first_in_pages(client):
    ids = [client.post("/api/jobs", json={"prompt": f"job {i}"}).get_json()["id"] for i in range(3)]
    for job_id in ids:
        wait_for_job(client, job_id)
    page = client.get("/api/jobs?limit=2").get_json()
    assert [job["id"] for job in page["data"]] == ids[::-1][:2] and page["has_more"]
    before = page["data"][-1]["created_at"]
    rest = client.get(f"/api/jobs?limit=2&before={before}").get_json()
    assert [job["id"] for job in rest["data"]] == [ids[0]] and not rest["has_more"]
    assert client.get("/api/jobs?limit=0").status_code == 400
    assert client.get("/api/jobs?limit=many").get_json()["error"]["param"] == "limit"


def test_unknown_job_is_404_everywhere(client):
    for method, path in (
        ("get", "/api/jobs/nope"),
        ("get", "/api/jobs/nope/events"),
        ("delete", "/api/jobs/nope"),
        ("get", "/api/images/nope"),
    ):
        response = getattr(client, method)(path)
        assert response.status_code == 404 and response.get_json()["error"]["type"] == "not_found_error"


def test_per_user_cap_on_waiting_images_answers_429_with_retry_after(test_model_dir, tmp_path):
    config = make_config(test_model_dir, tmp_path, engine={"max_queued_images_per_owner": 1, "max_batch": 1})
    app = create_app(config)
    client = app.test_client()
    try:
        first = client.post("/api/jobs", json={"prompt": "slow", "steps": 150, "size": "128x128"}).get_json()
        deadline = time.monotonic() + 30
        while client.get(f"/api/jobs/{first['id']}").get_json()["status"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        second = client.post("/api/jobs", json={"prompt": "second"}).get_json()  # waits: at the cap
        response = client.post("/api/jobs", json={"prompt": "third"})
        assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
        assert response.get_json()["error"]["code"] == "too_many_queued_images"
        assert response.get_json()["error"]["type"] == "rate_limit_error"
        client.delete(f"/api/jobs/{second['id']}")
        wait_for_job(client, second["id"])
        assert client.post("/api/jobs", json={"prompt": "now it fits"}).status_code == 202
        metrics = client.get("/metrics").get_data(as_text=True)
        assert 'addin_errors_total{kind="too_many_queued_images"} 1.0' in metrics
        client.delete(f"/api/jobs/{first['id']}")
    finally:
        shutdown_app(app)


def test_eight_concurrent_requests_from_one_user_on_an_idle_server_all_succeed(client):
    from concurrent.futures import ThreadPoolExecutor

    def generate(seed: int) -> int:
        return client.post("/v1/images/generations", json={"prompt": "a red circle", "seed": seed}).status_code

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(generate, range(8))) == [200] * 8


@pytest.fixture
def two_user_client(test_model_dir, tmp_path):
    app = create_app(make_config(test_model_dir, tmp_path), authenticator=HeaderUser())
    yield app.test_client()
    shutdown_app(app)


def test_users_see_only_their_own_jobs_and_images(two_user_client):
    client = two_user_client
    alice, bob = {"X-Test-User": "alice"}, {"X-Test-User": "bob"}
    job = wait_for_job(
        client, client.post("/api/jobs", json={"prompt": "alice's"}, headers=alice).get_json()["id"], alice
    )
    image_path = f"/api/images/{job['images'][0]['id']}"
    assert client.get(image_path, headers=alice).status_code == 200
    for method, path in (
        ("get", f"/api/jobs/{job['id']}"),
        ("get", f"/api/jobs/{job['id']}/events"),
        ("delete", f"/api/jobs/{job['id']}"),
        ("get", image_path),
    ):
        assert getattr(client, method)(path, headers=bob).status_code == 404, path
    assert client.get("/api/jobs", headers=bob).get_json()["data"] == []
    assert [j["id"] for j in client.get("/api/jobs", headers=alice).get_json()["data"]] == [job["id"]]
    assert client.get("/api/jobs").status_code == 401


def test_local_mode_refuses_other_hosts_and_addresses(client):
    response = client.get("/api/jobs", headers={"Host": "evil.example:8000"})
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "local_mode_only"
    response = client.get("/api/jobs", environ_base={"REMOTE_ADDR": "10.0.0.5"})
    assert response.status_code == 403
    assert client.get("/api/jobs", headers={"Host": "127.0.0.1:8000"}).status_code == 200
    assert client.get("/healthz", headers={"Host": "evil.example"}).status_code == 200  # probes ask no one


def test_a_failed_generation_is_500_that_clients_must_not_retry(app, client):
    loaded = services(app).engine.model(None)
    loaded.pipeline = ExplodingPipeline(loaded.pipeline, oom=True)
    response = client.post("/v1/images/generations", json={"prompt": "too big", "n": 2})
    assert response.status_code == 500 and response.headers["x-should-retry"] == "false"
    error = response.get_json()["error"]
    assert error["code"] == "out_of_memory" and error["type"] == "server_error" and "out of memory" in error["message"]
    job = client.get("/api/jobs").get_json()["data"][0]
    assert job["status"] == "failed" and job["error"]["code"] == "out_of_memory"
    assert 'addin_errors_total{kind="out_of_memory"} 1.0' in client.get("/metrics").get_data(as_text=True)
    assert client.post("/v1/images/generations", json={"prompt": "one fits"}).status_code == 200


def test_a_user_may_keep_only_a_few_progress_streams_open(test_model_dir, tmp_path):
    import requests

    from tests.addin_server.live_server import LiveServer

    server = LiveServer(test_model_dir, tmp_path / "instance", env={"SERVER_MAX_STREAMS_PER_USER": "2"}).start()
    try:
        job = server.post("/api/jobs", {"prompt": "slow", "steps": 150, "size": "128x128"}).json()
        events = f"{server.url}/api/jobs/{job['id']}/events"
        streams = [requests.get(events, stream=True, timeout=30) for _ in range(2)]
        assert [stream.status_code for stream in streams] == [200, 200]
        third = requests.get(events, timeout=30)
        assert third.status_code == 429 and third.json()["error"]["code"] == "too_many_streams"
        streams[0].close()  # leaving a stream gives its slot back (once the server notices, at its next write)
        deadline = time.monotonic() + 30
        while (again := requests.get(events, stream=True, timeout=30)).status_code == 429:
            again.close()
            assert time.monotonic() < deadline
            time.sleep(0.2)
        again.close()
        streams[1].close()
        requests.delete(f"{server.url}/api/jobs/{job['id']}", timeout=30)
    finally:
        server.stop()


def test_a_progress_stream_ends_after_its_lifetime_while_the_job_goes_on(test_model_dir, tmp_path):
    app = create_app(make_config(test_model_dir, tmp_path, server={"stream_max_s": 1.0}, engine={"max_batch": 1}))
    client = app.test_client()
    try:
        job = client.post("/api/jobs", json={"prompt": "slow", "steps": 150, "size": "128x128"}).get_json()
        started = time.monotonic()
        events = parse_events(client.get(f"/api/jobs/{job['id']}/events").get_data(as_text=True))
        assert time.monotonic() - started < 5 and {name for name, _ in events} == {"progress"}
        assert client.get(f"/api/jobs/{job['id']}").get_json()["status"] in ("queued", "running")
        assert wait_for_job(client, job["id"])["status"] == "succeeded"  # it was never cancelled
    finally:
        shutdown_app(app)


def test_jobs_and_openai_answers_name_the_words_the_model_left_out(test_model_dir, tmp_path):
    import shutil

    folder = tmp_path / "model"
    shutil.copytree(test_model_dir, folder)
    defaults = json.loads((folder / "engine_defaults.json").read_text())
    (folder / "engine_defaults.json").write_text(json.dumps({**defaults, "known_words": ["a", "on", "red", "circle"]}))
    app = create_app(make_config(folder, tmp_path / "instance"))
    client = app.test_client()
    try:
        created = client.post("/api/jobs", json={"prompt": "a golden retriever on a beach"}).get_json()
        assert created["ignored_words"] == ["golden", "retriever", "beach"]
        assert wait_for_job(client, created["id"])["ignored_words"] == ["golden", "retriever", "beach"]
        answer = client.post("/v1/images/generations", json={"prompt": "a red circle on a golden beach"}).get_json()
        assert answer["ignored_words"] == ["golden", "beach"]
    finally:
        shutdown_app(app)
