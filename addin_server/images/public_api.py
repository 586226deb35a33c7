"""`GET /public/images/<token>.png`: a picture behind a public link, with no sign-in, at most the link's size.

Every failure (a forged, altered or expired link, a deleted image) is the same 404, and nothing is listed.
"""

from __future__ import annotations

import functools
import io
import time
from pathlib import Path

from flask import Blueprint, Response
from PIL import Image

from addin_server.errors import NotFound
from addin_server.images.public_links import CARD_SIDE
from addin_server.public_urls import external_url
from addin_server.services import services

bp = Blueprint("public_images", __name__, url_prefix="/public/images")

#: How long a client or proxy may keep a copy: short, so a deleted picture soon disappears from cards too.
CACHE_S = 300


def public_image_url(image_id: str, side: int = CARD_SIDE) -> str:
    """An absolute link to the image that works without a token until PUBLIC_LINK_TTL_S has passed."""
    return external_url("public_images.public_image", token=services().public_links.token(image_id, side))


@bp.get("/<token>.png")
def public_image(token: str) -> Response:
    link = services().public_links.read(token)
    image = services().store.image_for_link(link.image_id) if link is not None else None
    path = services().store.image_path(image) if image is not None else None
    if link is None or path is None or not path.is_file():
        raise NotFound("no such image", "image_not_found")
    response = Response(fitted_png(path, link.side), mimetype="image/png")
    max_age = max(0, min(CACHE_S, int(link.expires_at - time.time())))
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@functools.lru_cache(maxsize=64)
def _fitted(path: Path, side: int, modified: float) -> bytes:
    with Image.open(path) as picture:
        if max(picture.size) <= side:
            return path.read_bytes()
        picture.thumbnail((side, side), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        picture.save(out, format="PNG", optimize=True)
        return out.getvalue()


def fitted_png(path: Path, side: int) -> bytes:
    """The PNG, downscaled to at most `side` × `side` if larger (Teams shows 1024×1024 at most)."""
    return _fitted(path, side, path.stat().st_mtime)
