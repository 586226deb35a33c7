"""What the Copilot plugin calls. `POST /api/copilot/images` draws pictures and answers with them when they
are ready within COPILOT_SYNC_TIMEOUT_S; otherwise with a job id and `status: "running"`, and
`GET /api/copilot/images/<job_id>` gives the result (waiting up to the same time for it).

The caller is the Entra user behind Copilot's SSO token (audience: the plugin's App ID URI, in
ENTRA_APP_ID_URI), the same `tid:oid` as in the task pane and Teams; the rate limit, audit line and fair queue
are the ones every generation route has. Every picture URL is a public link (no token needed).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from addin_server.audit import audit_generation
from addin_server.auth import current_user, require_user
from addin_server.copilot.fields import DEFAULT_SHAPE, DEFAULT_STYLE, FIELDS
from addin_server.errors import BadRequest
from addin_server.images.jobs import JobView
from addin_server.images.presets import shape_sizes, styled_prompt
from addin_server.images.public_api import public_image_url
from addin_server.images.public_links import THUMBNAIL_SIDE
from addin_server.images.requests import parse_job_request, read_field, read_json_object, request_limits
from addin_server.services import services
from engine.api import JobState

bp = Blueprint("copilot", __name__, url_prefix="/api/copilot")
bp.before_request(require_user)

TITLE_CHARS = 80


@bp.post("/images")
def create_images() -> Response:
    body = read_json_object(request)
    unknown = sorted(name for name in body if name not in FIELDS and body[name] is not None)
    if unknown:
        raise BadRequest(
            f"unknown field {unknown[0]!r}; known fields: {', '.join(FIELDS)}", "unknown_field", unknown[0]
        )
    if read_field(body, FIELDS["prompt"]) is None:
        raise BadRequest("prompt is required", "missing_field", "prompt")
    shape = read_field(body, FIELDS["shape"]) or DEFAULT_SHAPE
    style = read_field(body, FIELDS["style"]) or DEFAULT_STYLE
    n = read_field(body, FIELDS["n"]) or 1
    most = int(FIELDS["n"].maximum or 1)
    if not 1 <= n <= most:
        raise BadRequest(f"n must be between 1 and {most}, got {n}", "invalid_value", "n")
    size = shape_sizes(services().engine.limits())[shape]
    job_body = {"prompt": styled_prompt(body["prompt"].strip(), style), "n": n, "size": size}
    generation = parse_job_request(job_body, services().engine.model_names(), request_limits())
    user = current_user()
    with services().waits.held(user.id):  # taken before the job exists: a refusal starts nothing
        job_id = services().jobs.submit(generation, user.id, field_names={"width": "shape", "height": "shape"})
        audit_generation(user, generation, "copilot.images", job_id)
        return jsonify(_answer(job_id))


@bp.get("/images/<job_id>")
def get_images(job_id: str) -> Response:
    """Rate-limited per user (`rate_limit.POLL_LIMITS`) and, like every wait, capped in how many one user holds."""
    user_id = current_user().id
    services().jobs.view(job_id, user_id)  # 404 for an unknown job or someone else's, before waiting
    with services().waits.held(user_id):
        return jsonify(_answer(job_id))


def _answer(job_id: str) -> dict[str, Any]:
    """The job's pictures once it has ended within the wait, else where it stands."""
    jobs = services().jobs
    jobs.wait_recorded(job_id, timeout=services().config.copilot.sync_timeout_s)
    return result_json(jobs.view(job_id, current_user().id))


def result_json(view: JobView) -> dict[str, Any]:
    """The answer Copilot reads: `images` (its data_path) and, while drawing, what to do next."""
    if view.state is JobState.SUCCEEDED:
        return {
            "status": "succeeded",
            "job_id": view.id,
            "message": f"{len(view.record.images)} picture(s) drawn on the organization's own server.",
            "images": [
                {
                    "title": image.prompt[:TITLE_CHARS],
                    "prompt": image.prompt,
                    "url": public_image_url(image.id),
                    "thumbnail_url": public_image_url(image.id, THUMBNAIL_SIDE),
                    "seed": image.seed,
                    "model": image.model,
                }
                for image in view.record.images
            ],
        }
    if view.state.is_final:
        return {
            "status": view.state.value,
            "job_id": view.id,
            "message": f"No picture: {view.record.error or view.state.value}.",
            "images": [],
        }
    return {
        "status": "running",
        "job_id": view.id,
        "message": "Still drawing. Call getImageJob with this job_id to get the pictures.",
        "progress": {"step": view.progress.step, "total_steps": view.progress.total_steps},
        "images": [],
    }
