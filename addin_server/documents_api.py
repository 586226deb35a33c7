"""The documents API: build a deck or report from a spec, or fill an uploaded file's image markers; both
run as jobs with progress, and the result downloads from `GET /api/documents/<id>`.

The work itself lives in `addin_server.documents` (no Flask); this module only speaks HTTP.
"""

from __future__ import annotations

import json
from typing import Any

from flask import (
    Blueprint,
    Response,
    g,
    jsonify,
    request,
    send_file,
    url_for,
)

from addin_server.audit import audit
from addin_server.auth import current_user, require_user
from addin_server.documents.build import plan_build
from addin_server.documents.fill import parse_fill_options, plan_fill
from addin_server.documents.images import SEED_POLICIES
from addin_server.documents.service import DocumentJob, DocumentService
from addin_server.documents.spec import load_spec_text, parse_spec
from addin_server.errors import BadRequest, Conflict, UnsupportedMediaType
from addin_server.images.requests import read_json_object
from addin_server.services import services
from engine.api import MAX_SEED, JobState, is_valid_seed

bp = Blueprint("documents", __name__, url_prefix="/api/documents")
bp.before_request(require_user)


@bp.before_request
def allow_document_uploads() -> None:
    """Documents may be far bigger than the JSON APIs' bodies."""
    request.max_content_length = services().config.server.max_document_bytes


def _service() -> DocumentService:
    return services().documents


@bp.post("")
def create_document() -> tuple[Response, int, dict[str, str]]:
    """A spec as JSON (the body), or multipart with `spec` (JSON or YAML) and an optional `template` file."""
    if request.mimetype == "multipart/form-data":
        spec_data = load_spec_text(_form_text("spec", required=True))
        template = _upload("template")
    else:
        spec_data, template = read_json_object(request), None
    options = _generation_options(spec_data)
    spec = parse_spec(spec_data)
    maker = _service().maker(current_user().id, options["model"], spec.seed, spec.seed_policy)
    filename = (spec.title or spec.kind).strip()[:80] or spec.kind
    prompts = " | ".join(slide.image for slide in spec.slides if slide.image) or " | ".join(
        block.image for block in spec.blocks if block.image
    )
    return _start(filename, lambda: plan_build(spec, maker, template), maker, prompts)


@bp.post("/fill")
def fill_document() -> tuple[Response, int, dict[str, str]]:
    """Multipart: `file` (.pptx or .docx) and an optional `options` JSON (targets, style, restyle, strength,
    pictures, seed, seed_policy, model)."""
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMediaType(
            "upload the file as multipart/form-data with a 'file' field", "unsupported_media_type"
        )
    data = _required_upload("file")
    raw = _form_text("options", required=False) or "{}"
    try:
        options_data = json.loads(raw)
    except ValueError:
        raise BadRequest("options must be JSON", "invalid_json", "options") from None
    if not isinstance(options_data, dict):
        raise BadRequest("options must be a JSON object", "invalid_json", "options")
    generation = _generation_options(options_data)
    options = parse_fill_options(options_data)
    maker = _service().maker(current_user().id, generation["model"], generation["seed"], generation["seed_policy"])
    filename = request.files["file"].filename or "document"
    return _start(f"{filename.rsplit('.', 1)[0]}-filled", lambda: plan_fill(data, options, maker), maker, filename)


@bp.get("")
def list_documents() -> Response:
    return jsonify({"object": "list", "data": [document_json(job) for job in _service().list(current_user().id)]})


@bp.get("/<string(length=32):document_id>")
def download_document(document_id: str) -> Response | tuple[Response, int, dict[str, str]]:
    """The file once it is ready; before that 202 with the job (and Retry-After); 409 if it failed."""
    job = _owned(document_id)
    if job.state is JobState.SUCCEEDED:
        return send_file(
            _service().file_path(job), mimetype=job.content_type, as_attachment=True, download_name=job.filename
        )
    if job.state.is_final:
        return jsonify(document_json(job)), 409, {}
    return jsonify(document_json(job)), 202, {"Retry-After": "1"}


@bp.get("/<string(length=32):document_id>/status")
def document_status(document_id: str) -> Response:
    return jsonify(document_json(_owned(document_id)))


@bp.delete("/<string(length=32):document_id>")
def cancel_document(document_id: str) -> Response:
    return jsonify(document_json(_service().cancel(document_id, current_user().id)))


@bp.post("/<string(length=32):document_id>/onedrive")
def save_to_onedrive(document_id: str) -> Response:
    """Save a finished document to the caller's OneDrive (Graph, on their behalf); returns its web URL."""
    job = _owned(document_id)
    if job.state is not JobState.SUCCEEDED:
        raise Conflict(f"the document is {job.state.value}, not ready to save", "document_not_ready")
    on_behalf_of = services().on_behalf_of
    assertion = g.get("user_assertion")
    if on_behalf_of is None or assertion is None:
        raise Conflict("saving to OneDrive needs Entra ID sign-in", "onedrive_needs_sign_in")
    token = on_behalf_of.graph_token(current_user(), assertion)
    web_url = on_behalf_of.upload_to_onedrive(token, job.filename, _service().file_path(job).read_bytes())
    return jsonify({"id": job.id, "web_url": web_url})


def document_json(job: DocumentJob) -> dict[str, Any]:
    error = (
        {"message": job.error, "code": job.error_code} if job.state in (JobState.FAILED, JobState.CANCELLED) else None
    )
    return {
        "id": job.id,
        "object": "document",
        "status": job.state.value,
        "kind": job.kind,
        "filename": job.filename,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
        "progress": {"images_done": job.images_done, "images_total": job.images_total},
        "error": error,
        "notes": list(job.notes),
        "links": {
            "self": url_for("documents.document_status", document_id=job.id),
            "download": url_for("documents.download_document", document_id=job.id),
        },
    }


def _start(filename: str, make_plan, maker, prompts: str) -> tuple[Response, int, dict[str, str]]:
    job = _service().start(current_user().id, filename, make_plan, maker)
    audit(current_user(), f"documents.{job.kind}", job.id, maker.model, job.images_total, "per box", prompts)
    return jsonify(document_json(job)), 202, {"Location": url_for("documents.download_document", document_id=job.id)}


def _owned(document_id: str) -> DocumentJob:
    return _service().get(document_id, current_user().id)


def _generation_options(data: dict[str, Any]) -> dict[str, Any]:
    """`model` (a name served here), `seed`, `seed_policy`: taken out of the spec or options before they are checked."""
    model = data.pop("model", None)
    if model is not None and model not in services().engine.model_names():
        raise BadRequest(f"unknown model {model!r}", "model_not_found", "model")
    seed, policy = data.get("seed"), data.get("seed_policy", "same")
    if seed is not None and not is_valid_seed(seed):
        raise BadRequest(f"seed must be 0-{MAX_SEED}", "invalid_value", "seed")
    if policy not in SEED_POLICIES:
        raise BadRequest(f"seed_policy must be one of {', '.join(SEED_POLICIES)}", "invalid_value", "seed_policy")
    return {"model": model, "seed": seed, "seed_policy": policy}


def _upload(name: str) -> bytes | None:
    upload = request.files.get(name)
    return upload.read() if upload is not None else None


def _required_upload(name: str) -> bytes:
    data = _upload(name)
    if data is None:
        raise BadRequest(f"the {name!r} file is missing", "missing_field", name)
    return data


def _form_text(name: str, required: bool) -> str:
    value = request.form.get(name)
    if value is None and name in request.files:
        value = request.files[name].read().decode("utf-8", errors="replace")
    if value is None and required:
        raise BadRequest(f"the {name!r} field is missing", "missing_field", name)
    return value or ""
