"""`GET /api/images/<id>`: a stored PNG, for its owner only; `DELETE` removes it (and ends its public links)."""

from __future__ import annotations

from flask import Blueprint, Response, send_file

from addin_server.auth import current_user, require_user
from addin_server.errors import NotFound
from addin_server.images.store import ImageStore
from addin_server.services import services

bp = Blueprint("image_files", __name__, url_prefix="/api/images")
bp.before_request(require_user)


@bp.get("/<image_id>")
def image_file(image_id: str) -> Response:
    store: ImageStore = services().store
    image = store.image(image_id, current_user().id)
    path = store.image_path(image) if image is not None else None
    if image is None or path is None or not path.is_file():
        raise NotFound(f"no image {image_id!r}", "image_not_found")
    response = send_file(path, mimetype="image/png", max_age=86400, etag=True, download_name=f"image-{image.seed}.png")
    response.headers["Cache-Control"] = "private, max-age=86400, immutable"
    return response


@bp.delete("/<image_id>")
def delete_image(image_id: str) -> tuple[str, int]:
    """204 once the picture is gone; its public links in Teams and Copilot cards answer 404 from now on."""
    if not services().store.delete_image(image_id, current_user().id):
        raise NotFound(f"no image {image_id!r}", "image_not_found")
    return "", 204
