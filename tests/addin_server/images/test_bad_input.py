"""Bad input gets a 4xx with the OpenAI error body naming the field, and the server keeps serving."""

from __future__ import annotations

import pytest

GENERATIONS = "/v1/images/generations"


def error_of(response) -> dict:
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}, body
    return body["error"]


@pytest.mark.parametrize(
    ("body", "param", "message"),
    [
        ({}, "prompt", "prompt is required"),
        ({"prompt": 5}, "prompt", "prompt must be a string, got an integer"),
        ({"prompt": "   "}, "prompt", "prompt: must not be empty"),
        ({"prompt": "x" * 2001}, "prompt", "prompt: must be at most 2000 characters, got 2001"),
        ({"prompt": "a", "n": "2"}, "n", "n must be an integer, got a string"),
        ({"prompt": "a", "n": 11}, "n", "n: must be between 1 and 10, got 11"),
        ({"prompt": "a", "n": True}, "n", "n must be an integer, got a boolean"),
        (
            {"prompt": "a", "size": "large"},
            "size",
            "size must look like 256x256 (width x height) or be 'auto', got 'large'",
        ),
        ({"prompt": "a", "size": "1024x1024"}, "size", "size: must be between 32 and 128 for model 'tiny', got 1024"),
        ({"prompt": "a", "size": "60x64"}, "size", "size: must be a multiple of 8, got 60"),
        ({"prompt": "a", "steps": 0}, "steps", "steps: must be between 1 and 150, got 0"),
        ({"prompt": "a", "guidance_scale": "high"}, "guidance_scale", "guidance_scale must be a number, got a string"),
        ({"prompt": "a", "seed": -1}, "seed", "seed: must be between 0 and 4294967295, got -1"),
        (
            {"prompt": "a", "response_format": "png"},
            "response_format",
            "response_format must be one of url, b64_json, got 'png'",
        ),
        (
            {"prompt": "a", "quality": "ultra"},
            "quality",
            "quality must be one of standard, hd, low, medium, high, auto, got 'ultra'",
        ),
        ({"prompt": "a", "model": "sdxl"}, "model", "unknown model 'sdxl'; this server has tiny, embedded"),
        ({"prompt": "a", "scheduler": "magic"}, "scheduler", "scheduler"),
    ],
)
def test_generation_errors_name_the_field(client, body, param, message):
    response = client.post(GENERATIONS, json=body)
    assert response.status_code == 400
    error = error_of(response)
    assert error["param"] == param and error["type"] == "invalid_request_error"
    assert message in error["message"]


def test_jobs_refuse_unknown_fields_and_size_with_width(client):
    error = error_of(client.post("/api/jobs", json={"prompt": "a", "sise": "64x64"}))
    assert error["param"] == "sise" and "unknown field 'sise'" in error["message"]
    error = error_of(client.post("/api/jobs", json={"prompt": "a", "size": "64x64", "width": 64}))
    assert error["param"] == "size"
    error = error_of(client.post("/api/jobs", json={"prompt": "a", "width": 1000}))
    assert error["param"] == "width"


def test_openai_route_ignores_fields_it_does_not_know(client):
    response = client.post(
        GENERATIONS,
        json={
            "prompt": "a circle",
            "output_format": "png",
            "moderation": "low",
            "model": "dall-e-3",
            "style": "vivid",
            "user": "someone",
        },
    )
    assert response.status_code == 200 and len(response.get_json()["data"]) == 1


def test_malformed_bodies(client):
    response = client.post(GENERATIONS, data="{not json", content_type="application/json")
    assert response.status_code == 400 and error_of(response)["code"] == "invalid_json"
    response = client.post(GENERATIONS, json=["a", "list"])
    assert response.status_code == 400 and "must be a JSON object, got an array" in error_of(response)["message"]
    response = client.post(GENERATIONS, data="prompt=a", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415 and "application/json" in error_of(response)["message"]


def test_body_too_large_is_413(client):
    response = client.post(GENERATIONS, json={"prompt": "a" * (1024 * 1024)})
    assert response.status_code == 413
    assert error_of(response)["message"] == "the request body is larger than 1048576 bytes"


def test_unknown_routes_and_methods_answer_json(client):
    response = client.get("/api/nothing")
    assert response.status_code == 404 and error_of(response)["type"] == "not_found_error"
    response = client.put("/api/jobs")
    assert response.status_code == 405 and "POST" in response.headers["Allow"]


def test_server_keeps_serving_after_bad_input(client):
    for body in ({"prompt": None}, {"prompt": "a", "n": 99}, {"prompt": "a", "size": "0x0"}):
        assert client.post(GENERATIONS, json=body).status_code == 400
    assert client.post(GENERATIONS, json={"prompt": "still here"}).status_code == 200


def test_per_server_limits_on_n_and_steps(test_model_dir, tmp_path):
    from addin_server.app import create_app, shutdown_app
    from tests.addin_server.conftest import make_config

    app = create_app(make_config(test_model_dir, tmp_path, server={"max_images_per_request": 2, "max_steps": 4}))
    try:
        client = app.test_client()
        error = error_of(client.post(GENERATIONS, json={"prompt": "a", "n": 3}))
        assert error["param"] == "n" and error["message"] == "n must be at most 2 on this server, got 3"
        error = error_of(client.post("/api/jobs", json={"prompt": "a", "steps": 5}))
        assert error["param"] == "steps"
        schema = client.get("/openapi.json").get_json()["components"]["schemas"]["JobRequest"]["properties"]
        assert schema["n"]["maximum"] == 2 and schema["steps"]["maximum"] == 4
    finally:
        shutdown_app(app)


def test_a_request_over_the_cost_budget_is_a_400_that_names_the_budget(test_model_dir, tmp_path):
    from addin_server.app import create_app, shutdown_app
    from tests.addin_server.conftest import make_config

    # The tiny model: 64x64 by default; 2 images x 10 steps x 64 x 64 = 81,920, over a budget of 50,000.
    app = create_app(make_config(test_model_dir, tmp_path, server={"max_cost": 50_000}))
    client = app.test_client()
    try:
        answer = client.post("/api/jobs", json={"prompt": "a red circle", "n": 2, "steps": 10})
        error = answer.get_json()["error"]
        assert answer.status_code == 400 and error["code"] == "over_budget" and error["param"] == "n"
        assert "81,920" in error["message"] and "50,000" in error["message"] and "IMAGES_MAX_COST" in error["message"]
        assert client.get("/api/jobs").get_json()["data"] == []  # nothing was started
        assert client.post("/api/jobs", json={"prompt": "a red circle", "n": 1, "steps": 10}).status_code == 202
    finally:
        shutdown_app(app)
