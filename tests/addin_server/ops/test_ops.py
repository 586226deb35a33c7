"""Probes, metrics and the OpenAPI document."""

from __future__ import annotations

import re

from openapi_spec_validator import validate


def test_health_and_readiness(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["status"] == "ready"
    assert ready.get_json()["models"][0] == "tiny"


def test_readiness_fails_once_the_engine_stops(app, client):
    app.extensions["engine"].close()
    response = client.get("/readyz")
    assert response.status_code == 503 and response.get_json()["status"] == "not_ready"


def test_metrics_count_batches_images_and_jobs(client):
    assert client.post("/v1/images/generations", json={"prompt": "a", "n": 3}).status_code == 200
    text = client.get("/metrics").get_data(as_text=True)
    assert 'addin_images_generated_total{model="tiny"} 3.0' in text
    assert 'addin_batch_images_count{model="tiny"} 1.0' in text
    assert 'addin_batch_images_sum{model="tiny"} 3.0' in text
    assert 'addin_jobs_finished_total{state="succeeded"} 1.0' in text
    assert "addin_generation_seconds_bucket" in text and "addin_queue_depth 0.0" in text


def test_openapi_document_is_valid_and_describes_every_route(app, client):
    document = client.get("/openapi.json").get_json()
    validate(document)
    assert document["openapi"] == "3.1.0"
    routes = {
        (re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in ("static", "taskpane.static", "taskpane.taskpane")  # pages, not the API
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    described = {(path, method) for path, item in document["paths"].items() for method in item if method != "parameters"}
    assert routes == described
