"""What the Copilot plugin calls: pictures within the round trip, or a job id and then the result; 401 with a
challenge when the token is missing or for another audience; bad input named."""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image

from addin_server.services import services
from tests.addin_server.conftest import PUBLIC_URL
from tests.addin_server.copilot.conftest import APP_ID_URI


def fetch_without_token(app, url: str) -> Image.Image:
    assert url.startswith(PUBLIC_URL + "/public/images/")
    response = app.test_client().get(url[len(PUBLIC_URL) :])
    assert response.status_code == 200 and response.mimetype == "image/png"
    return Image.open(io.BytesIO(response.data))


def test_a_call_answers_with_the_pictures(copilot_app, copilot_headers):
    body = {"prompt": "a red circle", "shape": "wide", "style": "flat", "n": 2}
    response = copilot_app.test_client().post("/api/copilot/images", json=body, headers=copilot_headers)
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["status"] == "succeeded" and len(answer["images"]) == 2
    for image in answer["images"]:
        assert image["prompt"] == "a red circle, flat colours, simple shapes"
        assert image["title"] and image["model"] and isinstance(image["seed"], int)
        picture = fetch_without_token(copilot_app, image["url"])
        assert picture.width > picture.height  # wide
        assert max(fetch_without_token(copilot_app, image["thumbnail_url"]).size) <= 256
    assert len({image["seed"] for image in answer["images"]}) == 2


def test_a_slow_call_gives_a_job_id_then_the_result(make_copilot_app, copilot_headers):
    app = make_copilot_app(copilot={"sync_timeout_s": 0.0})
    client = app.test_client()
    started = client.post("/api/copilot/images", json={"prompt": "a blue square"}, headers=copilot_headers)
    answer = started.get_json()
    assert started.status_code == 200 and answer["status"] == "running" and answer["images"] == []
    assert "getImageJob" in answer["message"]
    result = answer
    for _ in range(600):  # the GET waits up to COPILOT_SYNC_TIMEOUT_S (here none): ask again until it is done
        result = client.get(f"/api/copilot/images/{answer['job_id']}", headers=copilot_headers).get_json()
        if result["status"] != "running":
            break
        time.sleep(0.05)
    assert result["status"] == "succeeded" and len(result["images"]) == 1
    fetch_without_token(app, result["images"][0]["url"])


def test_no_token_or_another_audience_is_a_401_with_a_challenge(copilot_app, provider):
    client = copilot_app.test_client()
    for headers in ({}, {"Authorization": f"Bearer {provider.token(aud='api://someone-else/app')}"}):
        response = client.post("/api/copilot/images", json={"prompt": "a red circle"}, headers=headers)
        assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")
        assert client.get("/api/copilot/images/x", headers=headers).status_code == 401
    assert services(copilot_app).store.jobs(f"{provider.claims()['tid']}:user-alice") == []


def test_the_owner_is_the_same_person_as_in_the_task_pane(copilot_app, copilot_headers, provider):
    client = copilot_app.test_client()
    client.post("/api/copilot/images", json={"prompt": "a green star"}, headers=copilot_headers)
    pane = {"Authorization": f"Bearer {provider.token()}"}  # audience: the client id, as the task pane's
    assert [job["request"]["prompt"] for job in client.get("/api/jobs", headers=pane).get_json()["data"]] == [
        "a green star"
    ]
    bob = {"Authorization": f"Bearer {provider.token(oid='user-bob', aud=APP_ID_URI)}"}
    job_id = client.get("/api/jobs", headers=pane).get_json()["data"][0]["id"]
    assert client.get(f"/api/copilot/images/{job_id}", headers=bob).status_code == 404


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, "prompt"),
        ({"prompt": "  "}, "prompt"),
        ({"prompt": "x", "shape": "round"}, "shape"),
        ({"prompt": "x", "style": "cubism"}, "style"),
        ({"prompt": "x", "n": 5}, "n"),
        ({"prompt": "x", "n": "two"}, "n"),
        ({"prompt": "x", "colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_a_400_that_names_the_field(copilot_app, copilot_headers, body, param):
    response = copilot_app.test_client().post("/api/copilot/images", json=body, headers=copilot_headers)
    assert response.status_code == 400 and response.get_json()["error"]["param"] == param


def test_copilot_calls_count_against_the_rate_limit(make_copilot_app, copilot_headers):
    client = make_copilot_app(rate_limit="2/minute").test_client()
    headers = copilot_headers
    statuses = [client.post("/api/copilot/images", json={"prompt": "x"}, headers=headers).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_each_call_writes_an_audit_line(copilot_app, copilot_headers, caplog):
    import json

    with caplog.at_level("INFO", logger="addin_server.audit"):
        copilot_app.test_client().post("/api/copilot/images", json={"prompt": "a red circle"}, headers=copilot_headers)
    [line] = [json.loads(record.getMessage()) for record in caplog.records if record.name == "addin_server.audit"]
    assert line["event"] == "copilot.images" and line["user"] == "user-alice" and "prompt_sha256" in line


def test_the_poll_is_rate_limited_per_user(make_copilot_app, copilot_headers):
    client = make_copilot_app().test_client()
    created = client.post("/api/copilot/images", json={"prompt": "a red circle"}, headers=copilot_headers)
    job_id = created.get_json()["job_id"]
    statuses = [client.get(f"/api/copilot/images/{job_id}", headers=copilot_headers).status_code for _ in range(61)]
    assert statuses[:60] == [200] * 60 and statuses[60] == 429
