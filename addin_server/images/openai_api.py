"""`POST /v1/images/generations`, `/edits` and `/variations`: the OpenAI Images contract, so a plain `openai`
client's `images.generate`, `images.edit` and `images.create_variation` work against us.

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
from addin_server.images.edit_requests import openai_edit, openai_variation
from addin_server.images.jobs import JobService
from addin_server.images.presenters import image_url
from addin_server.images.requests import (
    OpenAIImageRequest,
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
    body = read_json_object(request)
    openai_request = parse_openai_request(body, services().engine.model_names(), request_limits())
    return _generate_and_answer(openai_request, "images.generate", size_param(body))


@bp.post("/images/edits")
def edit_images() -> Response:
    """Change an uploaded picture (multipart `image`, optional `mask` whose transparent pixels are repainted)."""
    request.max_content_length = _upload_limit()
    openai_request = openai_edit(request.form, request.files, services().engine.model_names(), request_limits())
    return _generate_and_answer(openai_request, "images.edit", {"width": "size", "height": "size"})


@bp.post("/images/variations")
def create_variations() -> Response:
    """Variations of an uploaded picture (multipart `image`, `n`, `size`)."""
    request.max_content_length = _upload_limit()
    openai_request = openai_variation(request.form, request.files, services().engine.model_names(), request_limits())
    return _generate_and_answer(openai_request, "images.variation", {"width": "size", "height": "size"})


def _upload_limit() -> int:
    """A picture and its mask, with the form around them."""
    return 2 * services().config.server.max_upload_bytes + 64 * 1024


def _generate_and_answer(openai_request: OpenAIImageRequest, kind: str, field_names: dict[str, str]) -> Response:
    jobs: JobService = services().jobs
    owner = current_user().id
    with services().waits.held(owner):  # taken before the job exists: a refusal starts nothing
        job_id = jobs.submit(openai_request.generation, owner, field_names=field_names)
        audit_generation(current_user(), openai_request.generation, kind, job_id)
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
