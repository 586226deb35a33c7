"""Users and authenticators: `current_user()` returns who sent this request, or the request fails with 401."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Protocol

from flask import Request, g, request

from addin_server.config import IdentitySettings
from addin_server.errors import Forbidden
from addin_server.office_origins import is_office_origin
from addin_server.services import services

LOCAL_HOST_NAMES = ("localhost", "127.0.0.1", "[::1]", "::1")
#: Headers a reverse proxy adds (and any X-Forwarded-*); local mode refuses a request that carries one.
FORWARDING_HEADERS = ("forwarded", "x-real-ip")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class User:
    """A signed-in person; `id` is stable and unique across tenants (Entra: "tid:oid")."""

    id: str
    name: str


class Authenticator(Protocol):
    """Finds the user behind a request or raises `Unauthorized` or `Forbidden`."""

    def authenticate(self, request: Request) -> User: ...


class LocalAuthenticator:
    """Local mode: the server listens on loopback only and every caller is the one local user.

    It still refuses a request from another address (a proxy in front) or for another host name (a web page
    using DNS rebinding to reach the loopback port).
    """

    user = User(id="local", name="Local user")

    def authenticate(self, request: Request) -> User:
        if not _is_loopback(request.remote_addr):
            raise Forbidden(
                "local mode only serves this machine; sign-in with Entra ID is not configured", "local_mode_only"
            )
        forwarded = [
            name
            for name, _ in request.headers
            if name.lower() in FORWARDING_HEADERS or name.lower().startswith("x-forwarded-")
        ]
        if forwarded:  # a reverse proxy on this machine would make every remote caller the local user
            raise Forbidden(
                f"local mode does not serve through a proxy ({forwarded[0]} is set); configure Entra ID sign-in "
                "(ENTRA_CLIENT_ID) to serve other machines",
                "proxied_in_local_mode",
            )
        host_name = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
        if host_name.lower() not in LOCAL_HOST_NAMES:
            raise Forbidden(f"local mode answers only to localhost, not {request.host!r}", "local_mode_only")
        if request.method not in SAFE_METHODS:
            _refuse_cross_site(request)
        return self.user


def _refuse_cross_site(request: Request) -> None:
    """A web page the local user visits may POST a form to loopback without a preflight: refuse any
    state-changing request a browser marks cross-site, or whose origin is neither ours nor Office's."""
    if request.headers.get("Sec-Fetch-Site", "").lower() == "cross-site":
        raise Forbidden("local mode refuses cross-site requests", "cross_site_request")
    origin = request.headers.get("Origin")
    if origin is not None and origin != request.host_url.rstrip("/") and not is_office_origin(origin):
        raise Forbidden(f"local mode refuses requests from another site ({origin})", "cross_site_request")


def _is_loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def authenticator_for(identity: IdentitySettings) -> Authenticator:
    """Entra ID when configured, else local mode."""
    if identity.enabled:
        from addin_server.auth.entra import EntraAuthenticator

        return EntraAuthenticator(identity)
    return LocalAuthenticator()


def current_user() -> User:
    """The user behind the current request, authenticated once per request."""
    if "user" not in g:
        g.user = services().authenticator.authenticate(request)
    return g.user


def require_user() -> None:
    """A `before_request` hook for blueprints whose every route belongs to a user."""
    current_user()
