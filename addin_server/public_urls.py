"""Absolute URLs to this server (image links, the sign-in redirect): built on SERVER_PUBLIC_URL, never on the
Host header a client sent. Local mode, which has refused any host name but localhost, may use its own."""

from __future__ import annotations

from typing import Any

from flask import request, url_for

from addin_server.services import services


def external_url(endpoint: str, **values: Any) -> str:
    """The absolute URL of `endpoint` as the world reaches this server."""
    base = services().config.server.public_url or request.host_url
    return base.rstrip("/") + url_for(endpoint, **values)
