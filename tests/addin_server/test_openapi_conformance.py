"""Schemathesis against the live server's own `/openapi.json`: no 5xx and no response outside the document."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from tests.addin_server.live_server import LiveServer


@pytest.fixture(scope="module")
def api_schema(test_model_dir, tmp_path_factory):
    # Small limits keep each generated request quick on the tiny model.
    server = LiveServer(
        test_model_dir,
        tmp_path_factory.mktemp("schemathesis") / "instance",
        env={"IMAGES_MAX_N": "2", "IMAGES_MAX_STEPS": "3"},
    ).start()
    yield schemathesis.openapi.from_url(server.url + "/openapi.json")
    server.stop()


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_route_keeps_to_its_document(case):
    # Which sizes and schedulers are valid depends on the model a request names, which JSON Schema cannot
    # tie together; the document gives the shape and the server answers 400 naming the field. So a
    # schema-valid request may still be refused, and that one check is left out.
    case.call_and_validate(timeout=60, excluded_checks=[positive_data_acceptance])
