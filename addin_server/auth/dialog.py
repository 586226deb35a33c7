"""The sign-in dialog, the task pane's fallback when Office SSO and nested app authentication are unavailable:
`/auth/login` starts MSAL's authorization-code flow (PKCE, state and nonce kept in the signed session),
`/auth/callback` finishes it and hands the access token to the task pane through the Office dialog API.
Nothing about the token is logged.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    redirect,
    render_template,
    request,
    session,
)
from flask.typing import ResponseReturnValue

from addin_server.page_security import script_nonce, secure_page
from addin_server.public_urls import external_url
from addin_server.services import services

bp = Blueprint("auth", __name__, url_prefix="/auth")


def _scopes() -> list[str]:
    identity = services().config.identity
    resource = identity.app_id_uris[0] if identity.app_id_uris else f"api://{identity.client_id}"
    return [f"{resource}/{identity.required_scope}"]


def _client():
    on_behalf_of = services().on_behalf_of
    assert on_behalf_of is not None  # the dialog's blueprint is registered only with Entra ID
    return on_behalf_of.sign_in_client()


@bp.get("/login")
def login() -> ResponseReturnValue:
    if services().on_behalf_of is None:
        return _result(False, "sign-in is not configured on this server (local mode)", status=404)
    flow = _client().initiate_auth_code_flow(_scopes(), redirect_uri=external_url("auth.callback"))
    session["auth_flow"] = flow
    return redirect(flow["auth_uri"])


@bp.get("/callback")
def callback() -> Response:
    flow = session.pop("auth_flow", None)
    if flow is None or services().on_behalf_of is None:
        return _result(False, "the sign-in has expired or was not started here; try again", status=400)
    try:
        result = _client().acquire_token_by_auth_code_flow(flow, request.args.to_dict())
    except ValueError:  # MSAL: state mismatch or a reused flow
        return _result(False, "the sign-in answer does not match this sign-in (state); try again", status=400)
    if "access_token" not in result:
        error = result.get("error_description") or result.get("error") or "sign-in failed"
        return _result(False, error, status=400)
    return _result(True, "", result["access_token"])


def _result(ok: bool, error: str, token: str = "", status: int = 200) -> Response:
    """The page that hands the token (or the error) to the task pane; it is never cached."""
    result = {"status": "success", "accessToken": token} if ok else {"status": "error", "error": error}
    page = render_template("auth/dialog_result.html", ok=ok, error=error, result=result, nonce=script_nonce())
    return secure_page(page, status, no_store=True)
