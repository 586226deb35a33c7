"""End to end against `addin-server serve` (gunicorn in a subprocess) on the tiny test model."""

from __future__ import annotations

import base64
import io
import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import openai
import pytest
import requests
from PIL import Image


def png(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def find_job(server, prompt: str) -> dict | None:
    for job in server.get("/api/jobs?limit=100").json()["data"]:
        if job["request"]["prompt"] == prompt:
            return job
    return None


def wait_for_status(server, prompt: str, statuses: set[str], timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    job = None
    while time.monotonic() < deadline:
        job = find_job(server, prompt)
        if job is not None and job["status"] in statuses:
            return job
        time.sleep(0.1)
    raise AssertionError(f"{prompt!r} is {job['status'] if job else 'not there'}")


@pytest.fixture
def openai_client(live_server):
    return openai.OpenAI(base_url=live_server.url + "/v1", api_key="anything", max_retries=0)


def test_openai_client_gets_base64_images(openai_client):
    result = openai_client.images.generate(
        prompt="a red circle", n=2, response_format="b64_json", extra_body={"seed": 11, "steps": 3}
    )
    assert result.created > 1_700_000_000 and len(result.data) == 2
    images = [png(base64.b64decode(item.b64_json)) for item in result.data]
    assert all(image.size == (64, 64) for image in images)
    assert [image.text["seed"] for image in images] == ["11", "12"]
    assert images[0].tobytes() != images[1].tobytes()


def test_openai_client_gets_urls_it_can_fetch(openai_client, live_server):
    result = openai_client.images.generate(prompt="a blue square", size="128x96", extra_body={"seed": 5})
    url = result.data[0].url
    assert url.startswith(live_server.url + "/api/images/")
    image = png(requests.get(url, timeout=30).content)
    assert image.size == (128, 96) and image.text["prompt"] == "a blue square"


def test_openai_client_with_only_a_prompt(openai_client):
    assert openai_client.images.generate(prompt="just a prompt").data[0].url


def test_openai_client_sees_typed_errors(openai_client):
    with pytest.raises(openai.BadRequestError) as caught:
        openai_client.images.generate(prompt="x", size="1024x1024")
    assert caught.value.param == "size" and caught.value.code == "invalid_value"
    with pytest.raises(openai.BadRequestError) as caught:
        openai_client.images.generate(prompt="x", n=11)
    assert caught.value.param == "n"


def test_job_progress_streams_as_server_sent_events(live_server):
    job = live_server.post("/api/jobs", {"prompt": "a green star", "steps": 8, "size": "128x128"}).json()
    events = []
    with requests.get(live_server.url + f"/api/jobs/{job['id']}/events", stream=True, timeout=60) as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        name = None
        for line in response.iter_lines(decode_unicode=True):
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                events.append((name, json.loads(line[len("data: ") :])))
    assert events[-1][0] == "succeeded" and events[-1][1]["images"]
    assert {name for name, _ in events[:-1]} <= {"progress"}
    steps = [body["progress"]["step"] for _, body in events]
    assert steps == sorted(steps) and steps[-1] == 8 and len(set(steps)) >= 3  # several steps were seen


def test_twenty_concurrent_clients_each_get_their_own_images(live_server):
    def generate(index: int) -> dict:
        response = live_server.post(
            "/v1/images/generations",
            {"prompt": f"concurrent shape {index}", "seed": 1000 + index, "response_format": "b64_json"},
        )
        assert response.status_code == 200, response.text
        return response.json()

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(generate, range(20)))

    for index, result in enumerate(results):
        image = png(base64.b64decode(result["data"][0]["b64_json"]))
        assert result["data"][0]["seed"] == 1000 + index
        assert image.text["prompt"] == f"concurrent shape {index}" and image.text["seed"] == str(1000 + index)
    # Batched images equal the same request run alone.
    for index in (0, 7, 19):
        alone = live_server.post(
            "/v1/images/generations",
            {"prompt": f"concurrent shape {index}", "seed": 1000 + index, "response_format": "b64_json"},
        ).json()
        together = np.asarray(png(base64.b64decode(results[index]["data"][0]["b64_json"])), dtype=int)
        solo = np.asarray(png(base64.b64decode(alone["data"][0]["b64_json"])), dtype=int)
        assert np.abs(together - solo).max() <= 2
    # No job was lost: every one is in the history, succeeded.
    history = live_server.get("/api/jobs?limit=100").json()["data"]
    mine = [job for job in history if job["request"]["prompt"].startswith("concurrent shape")]
    assert len(mine) == 23 and all(job["status"] == "succeeded" for job in mine)


def test_a_synchronous_request_whose_client_leaves_is_cancelled(live_server):
    body = json.dumps({"prompt": "abandoned", "steps": 150, "size": "128x128"}).encode()
    with socket.create_connection(("127.0.0.1", live_server.port)) as sock:
        sock.sendall(
            b"POST /v1/images/generations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        wait_for_status(live_server, "abandoned", {"running"})
    job = wait_for_status(live_server, "abandoned", {"succeeded", "failed", "cancelled"}, timeout=30)
    assert job["status"] == "cancelled" and job["images"] == []


def test_leaving_an_event_stream_does_not_cancel_the_job(live_server):
    job = live_server.post("/api/jobs", {"prompt": "watched then left", "steps": 30, "size": "128x128"}).json()
    with requests.get(live_server.url + f"/api/jobs/{job['id']}/events", stream=True, timeout=60) as response:
        next(response.iter_lines())
    assert (
        wait_for_status(live_server, "watched then left", {"succeeded", "failed", "cancelled"})["status"] == "succeeded"
    )
    assert live_server.get("/healthz").status_code == 200


def test_the_access_log_keeps_no_query_strings(live_server):
    """A prompt or a token in a URL (`?prompt=Q3 layoffs`) must not land in the access log."""
    assert live_server.get("/healthz?prompt=q3-layoffs-secret&token=abc123").status_code == 200
    time.sleep(0.5)  # gunicorn writes the line after the answer
    log = live_server.log()
    assert '"GET /healthz HTTP/1.1" 200' in log
    assert "q3-layoffs-secret" not in log and "abc123" not in log
