"""`/healthz` (the process answers), `/readyz` (the default model is loaded), `/metrics`, `/openapi.json`.

None of these touches a user's data, so none asks who is calling.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from addin_server.images.requests import request_limits
from addin_server.ops.metrics import Metrics
from addin_server.ops.openapi import openapi_document
from addin_server.services import services

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    engine = services().engine
    ready = engine.is_ready()
    body = {
        "status": "ready" if ready else "not_ready",
        "models": engine.model_names(),
        "queue_depth": engine.queue_depth(),
    }
    return jsonify(body), 200 if ready else 503


@bp.get("/metrics")
def metrics() -> Response:
    registry: Metrics = services().metrics
    return Response(registry.render(), content_type=Metrics.content_type)


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document(services().engine.model_names(), request_limits()))
