"""The headers of the pages a person opens (the task pane, the sign-in dialog's result): a Content-Security-Policy
that lets only Office frame them and only this server and Office's CDN run scripts, no MIME sniffing, no
referrer, and no caching of a page that carries a token."""

from __future__ import annotations

import secrets

from flask import Flask, Response, g

from addin_server.office_origins import frame_ancestors
from addin_server.services import services

#: Office.js comes from Microsoft's CDN, the only script source besides this server.
OFFICE_CDN = "https://appsforoffice.microsoft.com"


def script_nonce() -> str:
    """A fresh nonce for this response's inline script (the dialog's hand-over to the task pane)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def content_security_policy(nonce: str | None) -> str:
    identity = services().config.identity
    connect = ["'self'", OFFICE_CDN] + ([identity.authority] if identity.enabled else [])
    scripts = ["'self'", OFFICE_CDN] + ([f"'nonce-{nonce}'"] if nonce else [])
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {' '.join(scripts)}",
            "style-src 'self'",
            "img-src 'self' data: blob:",
            f"connect-src {' '.join(connect)}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            f"frame-ancestors 'self' {frame_ancestors()}",
        ]
    )


def secure_page(html: str, status: int = 200, *, no_store: bool = False) -> Response:
    """`html` as a response with the page headers; its inline script may run if it carries `script_nonce()`."""
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Content-Security-Policy"] = content_security_policy(g.get("csp_nonce"))
    response.headers["Referrer-Policy"] = "no-referrer"
    if no_store:
        response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """No response is MIME-sniffed; the session cookie is SameSite, and Secure when the server is HTTPS."""
    config = services(app).config
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SECURE"] = config.server.certfile is not None or config.server.public_url.startswith(
        "https://"
    )

    @app.after_request
    def no_sniffing(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response
