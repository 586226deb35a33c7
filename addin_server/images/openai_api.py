"""`POST /v1/images/generations`: the OpenAI Images contract, so a plain `openai` client works against us.

`size` is WIDTHxHEIGHT within the model's limits (or "auto"); `model` is one of ours, and OpenAI's own names
(dall-e-2, dall-e-3, gpt-image-*) mean the default; `quality`, `style` and `user` are accepted and ignored;
`seed`, `steps`, `guidance_scale`, `negative_prompt` and `scheduler` come as extra fields.
"""

from __future__ import annotations

import base64
import math

from flask import Blueprint, Response, jsonify, request

from addin_server.audit import audit_generation
from addin_server.auth import current_user, require_user
from addin_server.connection import client_disconnected
from addin_server.errors import (
    NO_RETRY,
    ClientClosedRequest,
    Conflict,
    JobFailedError,
    ServerError,
    Unavailable,
)
from addin_server.images.jobs import JobService
from addin_server.images.presenters import image_url
from addin_server.images.requests import (
    parse_openai_request,
    read_json_object,
    request_limits,
    size_param,
)
from addin_server.services import services
from engine.api import JobState

bp = Blueprint("openai", __name__, url_prefix="/v1")
bp.before_request(require_user)


@bp.post("/images/generations")
def create_images() -> Response:
    """Generate and wait; answer `{created, data: [{url | b64_json, seed}]}`."""
    jobs: JobService = services().jobs
    body = read_json_object(request)
    openai_request = parse_openai_request(body, jobs.engine.model_names(), request_limits())
    owner = current_user().id
    job_id = jobs.submit(openai_request.generation, owner, field_names=size_param(body))
    audit_generation(current_user(), openai_request.generation, "images.generate", job_id)
    timeout = services().config.server.sync_timeout_s
    try:
        view = jobs.wait(job_id, owner, timeout, lambda: client_disconnected(request.environ))
    except ClientClosedRequest:
        return Response(status=499)  # nobody reads it; the job was cancelled
    if view.state is not JobState.SUCCEEDED:
        raise _job_error(view.state, view.record.error or "", view.record.error_kind or "")
    data = []
    for image in view.record.images:
        item: dict[str, object] = {"seed": image.seed}
        if openai_request.response_format == "b64_json":
            item["b64_json"] = base64.b64encode(jobs.store.image_path(image).read_bytes()).decode("ascii")
        else:
            item["url"] = image_url(image.id)
        data.append(item)
    ignored = services().jobs.ignored_words(view.record)
    return jsonify({"created": math.floor(view.record.created_at), "data": data, "ignored_words": ignored})


def _job_error(state: JobState, message: str, kind: str) -> ServerError:
    """The error for a job that ended without images; never retried by clients (it would fail the same way)."""
    if state is JobState.CANCELLED:
        cancelled = Unavailable if kind == "shutdown" else Conflict
        return cancelled(message or "the job was cancelled", kind or "cancelled", headers=NO_RETRY)
    return JobFailedError(message or "the job failed", kind or "pipeline_error", headers=NO_RETRY)
