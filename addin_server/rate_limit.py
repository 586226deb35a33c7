"""Per-user rate limit on everything that starts generations, one budget shared by every route and surface, and a
per-address one on the sign-in dialog's pages (Flask-Limiter): 429 with Retry-After.

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
#: Polls that wait for a job's pictures, limited per user on their own (each may hold a thread for a while).
POLL_LIMITS = {"copilot.get_images": "60/minute"}
#: The one bucket every generation counts against (Flask-Limiter's shared-limit scope).
GENERATION_SCOPE = "generation"
KEY_PREFIX = "addin"


def init_app(app: Flask) -> None:
    """Wrap the generation endpoints (call after the blueprints are registered)."""
    identity = services(app).config.identity
    limiter = Limiter(
        key_func=lambda: current_user().id,
        app=app,
        storage_uri=identity.rate_limit_storage,
        headers_enabled=True,
        strategy="moving-window",
        key_prefix=KEY_PREFIX,
    )
    if identity.generation_rate_limit:
        generation_budget = limiter.shared_limit(identity.generation_rate_limit, scope=GENERATION_SCOPE)
        for endpoint in GENERATION_ENDPOINTS:
            if endpoint in app.view_functions:  # Copilot's route exists only with Entra ID
                limited = generation_budget(app.view_functions[endpoint])
                app.view_functions[endpoint] = limited  # type: ignore[assignment]  # Flask-Limiter allows async
    for endpoint, poll_limit in POLL_LIMITS.items():
        if endpoint in app.view_functions:
            limited = limiter.limit(poll_limit)(app.view_functions[endpoint])
            app.view_functions[endpoint] = limited  # type: ignore[assignment]
    for endpoint in SIGN_IN_ENDPOINTS:
        if endpoint in app.view_functions:
            limited = limiter.limit(identity.auth_rate_limit, key_func=get_remote_address)(app.view_functions[endpoint])
            app.view_functions[endpoint] = limited  # type: ignore[assignment]
    app.extensions["limiter"] = limiter


def count_generation(owner: str) -> None:
    """Count one generation started outside a limited route (a Teams invoke) against `owner`'s RATE_LIMIT, in
    the same bucket as the routes; `TooManyRequests` when they are over it."""
    budget = services().config.identity.generation_rate_limit
    if not budget:
        return
    limit = parse(budget)
    limiter: Limiter = current_app.extensions["limiter"]
    if not limiter.limiter.hit(limit, KEY_PREFIX, owner, GENERATION_SCOPE):
        raise TooManyRequests(f"you have asked for images too often; the limit is {limit}", "rate_limited")
