"""`/healthz` (the process answers), `/readyz` (the default model is loaded), `/metrics`, `/openapi.json`.

None of these touches a user's data, so none asks who is calling; `/metrics` may be limited to the monitoring
system's addresses or token.
"""

from __future__ import annotations

import hmac
import ipaddress

from flask import Blueprint, Response, current_app, jsonify, request

from addin_server.copilot import package as copilot_package
from addin_server.errors import Forbidden
from addin_server.images.requests import request_limits
from addin_server.ops.metrics import Metrics
from addin_server.ops.openapi import openapi_document
from addin_server.services import services

bp = Blueprint("ops", __name__)
#: Registered only where Copilot is served (with Entra ID).
COPILOT_ENDPOINT = "copilot.create_images"


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
    """Prometheus metrics; with METRICS_ALLOWED_NETWORKS or METRICS_TOKEN set, only for those."""
    _check_metrics_reader()
    registry: Metrics = services().metrics
    return Response(registry.render(), content_type=Metrics.content_type)


def _check_metrics_reader() -> None:
    server = services().config.server
    if not server.metrics_networks and not server.metrics_token:
        return
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if server.metrics_token and scheme.lower() == "bearer" and hmac.compare_digest(token, server.metrics_token):
        return
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        address = None
    if address and any(address in ipaddress.ip_network(net, strict=False) for net in server.metrics_networks):
        return
    raise Forbidden("the metrics are for the monitoring system only", "metrics_not_allowed")


@bp.get("/openapi.json")
def openapi() -> Response:
    """The API's description, with the Copilot plugin's operations where this server answers them."""
    document = openapi_document(services().engine.model_names(), request_limits())
    if COPILOT_ENDPOINT in current_app.view_functions:
        document["paths"].update(copilot_package.openapi_paths(operation_prefix="copilot"))
    return jsonify(document)
