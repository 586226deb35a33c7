"""Probes, metrics and the OpenAPI document."""

from __future__ import annotations

import re
import uuid

from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from addin_server.services import services


def test_health_and_readiness(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["status"] == "ready"
    assert ready.get_json()["models"][0] == "tiny"


def test_readiness_fails_once_the_engine_stops(app, client):
    services(app).engine.close()
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
    described = {
        (path, method) for path, item in document["paths"].items() for method in item if method != "parameters"
    }
    assert routes == described


def test_no_documented_path_parameter_spells_a_fixed_route_beside_it(client):
    # "fill" as a {document_id} would reach POST /api/documents/fill and get a 405 the document does not
    # list; the server's own ids (uuid4 hex) must still fit.
    paths = client.get("/openapi.json").get_json()["paths"]
    checked = 0
    for path, item in paths.items():
        parent, _, segment = path.rpartition("/")
        if not re.fullmatch(r"\{\w+\}", segment):
            continue
        parameters = item.get("parameters", []) + [
            p for op in item.values() if isinstance(op, dict) for p in op.get("parameters", [])
        ]
        schema = next(p["schema"] for p in parameters if p["in"] == "path" and p["name"] == segment[1:-1])
        validator = Draft202012Validator(schema)
        assert validator.is_valid(uuid.uuid4().hex), path
        for other in paths:
            other_parent, _, fixed = other.rpartition("/")
            if other_parent == parent and "{" not in fixed:
                assert not validator.is_valid(fixed), f"{path} documents {fixed!r}, which is {other}"
                checked += 1
    assert checked  # /api/documents/fill beside /api/documents/{document_id}


def test_the_request_schemas_come_from_the_fields_the_routes_read():
    import pytest

    from addin_server.errors import BadRequest
    from addin_server.images.request_fields import RequestLimits, job_fields
    from addin_server.images.requests import parse_job_request
    from addin_server.ops.openapi import openapi_document

    limits = RequestLimits(max_images=3, max_steps=7)
    properties = openapi_document(["tiny"], limits)["components"]["schemas"]["JobRequest"]["properties"]
    assert list(properties) == [field.name for field in job_fields(limits)]
    assert (properties["n"]["maximum"], properties["steps"]["maximum"]) == (3, 7)
    for field in job_fields(limits):
        if field.maximum is None:
            continue
        assert properties[field.name]["maximum"] == field.maximum
        just_past = field.maximum + (1 if field.kind is int else 0.5)
        with pytest.raises(BadRequest) as raised:
            parse_job_request({"prompt": "a red circle", field.name: just_past}, ["tiny"], limits)
        assert raised.value.param == field.name


def test_metrics_can_be_kept_for_the_monitoring_system(test_model_dir, tmp_path):
    from addin_server.app import create_app, shutdown_app
    from tests.addin_server.conftest import make_config

    server = {"metrics_networks": ("10.1.0.0/16",), "metrics_token": "scrape-secret"}
    app = create_app(make_config(test_model_dir, tmp_path, server=server))
    client = app.test_client()
    try:
        refused = client.get("/metrics")  # from 127.0.0.1, with no token
        assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "metrics_not_allowed"
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
        assert client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"}).status_code == 200
        assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
        assert client.get("/healthz").status_code == 200  # the probes stay open
    finally:
        shutdown_app(app)
