"""What Office loads from this server besides the API: the add-in's icons (the task pane page comes next)."""

from __future__ import annotations

from flask import Blueprint, Response

from addin_server.errors import ApiError
from addin_server.icons import OFFICE_SIZES, icon_png

bp = Blueprint("taskpane", __name__)

ICON_SIZES = (*OFFICE_SIZES, 192)


@bp.get("/icons/icon-<int:size>.png")
def icon(size: int) -> Response:
    if size not in ICON_SIZES:
        raise ApiError(404, f"no icon of size {size}; sizes: {', '.join(map(str, ICON_SIZES))}", "icon_not_found")
    response = Response(icon_png(size), mimetype="image/png")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
