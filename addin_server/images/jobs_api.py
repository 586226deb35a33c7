"""The jobs API: submit and return at once, then follow progress (polling or Server-Sent Events), cancel,
and list one's history. This is what the task pane uses for its progress bar.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    jsonify,
    request,
    stream_with_context,
    url_for,
)

from addin_server.audit import audit_generation
from addin_server.auth import current_user, require_user
from addin_server.errors import BadRequest
from addin_server.images.edit_requests import job_edit
from addin_server.images.events import job_event_stream
from addin_server.images.jobs import JobService
from addin_server.images.presenters import job_json
from addin_server.images.requests import (
    parse_job_request,
    read_json_object,
    request_limits,
    size_param,
)
from addin_server.services import services

bp = Blueprint("jobs", __name__, url_prefix="/api/jobs")
bp.before_request(require_user)

HISTORY_DEFAULT = 20
HISTORY_MAX = 100


def _jobs() -> JobService:
    return services().jobs


@bp.post("")
def create_job() -> tuple[Response, int, dict[str, str]]:
    """202 with the job and its `Location`; the images come later."""
    request.max_content_length = 2 * services().config.server.max_upload_bytes * 4 // 3 + 64 * 1024  # base64
    body = read_json_object(request)
    generation = parse_job_request(body, _jobs().engine.model_names(), request_limits())
    generation = job_edit(generation, body, current_user().id)
    job_id = _jobs().submit(generation, current_user().id, field_names=size_param(body))
    audit_generation(current_user(), generation, "images.job", job_id)
    view = _jobs().view(job_id, current_user().id)
    return jsonify(job_json(view)), 202, {"Location": url_for("jobs.get_job", job_id=job_id)}


@bp.get("")
def list_jobs() -> Response:
    """The caller's recent jobs, newest first: `?limit=20&before=<created_at of the last one seen>`."""
    limit = _query_number("limit", HISTORY_DEFAULT, int, 1, HISTORY_MAX)
    before = _query_number("before", None, float, 0, float("inf"))
    views = _jobs().history(current_user().id, limit, before)
    return jsonify({"object": "list", "data": [job_json(view) for view in views], "has_more": len(views) == limit})


@bp.get("/<job_id>")
def get_job(job_id: str) -> Response:
    return jsonify(job_json(_jobs().view(job_id, current_user().id)))


@bp.delete("/<job_id>")
def cancel_job(job_id: str) -> tuple[Response, int]:
    """200 once the job has ended (cancelled, or it had already finished); 202 while a running job stops."""
    view = _jobs().cancel(job_id, current_user().id)
    return jsonify(job_json(view)), 200 if view.state.is_final else 202


@bp.get("/<job_id>/events")
def job_events(job_id: str) -> Response:
    """Server-Sent Events: the job now, then one event per change, ending with its final state."""
    owner = current_user().id
    first = _jobs().view(job_id, owner)  # a 404 must come before the stream starts
    give_back = services().streams.take(owner)
    stream = job_event_stream(_jobs(), first, owner, request.environ, services().config.server.stream_max_s)
    response = Response(stream_with_context(stream), mimetype="text/event-stream")
    response.call_on_close(give_back)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
    return response


def _query_number(name: str, default, kind: type, low: float, high: float):
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise BadRequest(
            f"{name} must be {'an integer' if kind is int else 'a number'}, got {raw!r}", "invalid_type", name
        ) from None
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low:g} and {high:g}, got {raw}", "invalid_value", name)
    return value
