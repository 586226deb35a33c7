"""What Office loads from this server besides the API: the task pane page, its scripts, and the icons.

The page is plain HTML and ES modules (no front-end build): `static/taskpane.js` starts the pane and runs a
generation, `form.js`, `results.js` and `history.js` are its three parts (`tiles.js` draws their pictures,
`messages.js` says what happened), `api.js` talks to this server, `sign_in.js` gets its token, and
`office_host.js` is the only code that calls Office.js.
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template, url_for

from addin_server.errors import NotFound
from addin_server.icons import OFFICE_SIZES, icon_png
from addin_server.images.presets import MAX_VARIATIONS, STYLE_PRESETS, shape_sizes
from addin_server.page_security import secure_page
from addin_server.services import services
from engine.api import MAX_PROMPT_CHARS, MAX_SEED

bp = Blueprint("taskpane", __name__, static_folder="static", static_url_path="/taskpane/static")

ICON_SIZES = (*OFFICE_SIZES, 192)


@bp.get("/taskpane")
def taskpane() -> Response:
    config = services().config
    identity = config.identity
    settings = {
        "signIn": "entra" if identity.enabled else "local",
        "clientId": identity.client_id,
        "authority": f"{identity.authority.rstrip('/')}/{identity.tenant_id}",
        "msalUrl": url_for("taskpane.static", filename="vendor/msal-browser.min.js"),
        "scopes": [
            f"{identity.app_id_uris[0] if identity.app_id_uris else 'api://' + identity.client_id}/"
            f"{identity.required_scope}"
        ]
        if identity.enabled
        else [],
        "maxImages": min(MAX_VARIATIONS, config.server.max_images_per_request),
        "sizes": shape_sizes(services().engine.limits()),
        "styles": list(STYLE_PRESETS.items()),  # a list keeps the order (JSON objects get sorted)
    }
    limits = {"prompt_chars": MAX_PROMPT_CHARS, "seed": MAX_SEED, "steps": config.server.max_steps}
    return secure_page(render_template("taskpane/taskpane.html", settings=settings, limits=limits))


@bp.get("/icons/icon-<int:size>.png")
def icon(size: int) -> Response:
    if size not in ICON_SIZES:
        raise NotFound(f"no icon of size {size}; sizes: {', '.join(map(str, ICON_SIZES))}", "icon_not_found")
    response = Response(icon_png(size), mimetype="image/png")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
