"""The Teams endpoints: `POST /api/messages` (Bot Framework activities) and `GET /teams/dialog`, the page the
`generate` command opens in a Teams dialog (TeamsJS, vendored, signs the user in with Teams SSO)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template, request, url_for

from addin_server.images.presets import MAX_VARIATIONS, STYLE_PRESETS, shape_sizes
from addin_server.page_security import secure_page
from addin_server.services import services
from engine.api import MAX_PROMPT_CHARS, MAX_SEED

bp = Blueprint("teams", __name__, static_folder="static", static_url_path="/teams/static")


@bp.post("/api/messages")
def messages() -> Response | tuple[str, int]:
    """An invoke's answer as the 200 body; any other activity is acknowledged with an empty 200."""
    bot = services().teams
    assert bot is not None  # the blueprint is registered only with Teams on
    answer = bot.handle(request)
    return jsonify(answer) if answer is not None else ("", 200)


@bp.get("/teams/dialog")
def dialog() -> Response:
    """The dialog: prompt, shape, variations, style, progress, the variations, pick one and post it."""
    config = services().config
    settings = {
        "maxImages": min(MAX_VARIATIONS, config.server.max_images_per_request),
        "sizes": shape_sizes(services().engine.limits()),
        "styles": list(STYLE_PRESETS.items()),
        "job": request.args.get("job", ""),
        "teamsJs": url_for("teams.static", filename="vendor/MicrosoftTeams.min.js"),
    }
    limits = {"prompt_chars": MAX_PROMPT_CHARS, "seed": MAX_SEED, "steps": config.server.max_steps}
    return secure_page(render_template("teams/dialog.html", settings=settings, limits=limits), no_store=True)
