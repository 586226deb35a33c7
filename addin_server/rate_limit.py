"""Per-user rate limit on the routes that start generations, and a per-address one on the sign-in dialog's pages
(Flask-Limiter): 429 with Retry-After.

Counts live in memory by default, or in Redis (RATE_LIMIT_STORAGE_URI) when several processes serve.
"""

from __future__ import annotations

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse

from addin_server.auth import current_user
from addin_server.errors import TooManyRequests
from addin_server.services import services

#: The sign-in dialog's pages: nobody is signed in yet, so they count by the caller's address.
SIGN_IN_ENDPOINTS = ("auth.login", "auth.callback")
GENERATION_ENDPOINTS = (
    "openai.create_images",
    "openai.edit_images",
    "openai.create_variations",
    "jobs.create_job",
    "documents.create_document",
    "documents.fill_document",
    "copilot.create_images",
)


def init_app(app: Flask) -> None:
    """Wrap the generation endpoints (call after the blueprints are registered)."""
    identity = services(app).config.identity
    limiter = Limiter(
        key_func=lambda: current_user().id,
        app=app,
        storage_uri=identity.rate_limit_storage,
        headers_enabled=True,
        strategy="moving-window",
        key_prefix="addin",
    )
    for endpoint in GENERATION_ENDPOINTS:
        if endpoint not in app.view_functions:  # Copilot's route exists only with Entra ID
            continue
        limited = limiter.limit(identity.rate_limit)(app.view_functions[endpoint])
        app.view_functions[endpoint] = limited  # type: ignore[assignment]  # Flask-Limiter's types allow async
    for endpoint in SIGN_IN_ENDPOINTS:
        if endpoint in app.view_functions:
            limited = limiter.limit(identity.auth_rate_limit, key_func=get_remote_address)(app.view_functions[endpoint])
            app.view_functions[endpoint] = limited  # type: ignore[assignment]
    app.extensions["limiter"] = limiter


def count_generation(owner: str, surface: str) -> None:
    """Count one generation started outside a limited route (a Teams invoke) against `owner`'s RATE_LIMIT;
    `TooManyRequests` when they are over it."""
    limit = parse(services().config.identity.rate_limit)
    limiter: Limiter = current_app.extensions["limiter"]
    if not limiter.limiter.hit(limit, surface, owner):
        raise TooManyRequests(f"you have asked for images too often; the limit is {limit}", "rate_limited")
