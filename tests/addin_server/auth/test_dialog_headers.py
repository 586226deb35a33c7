"""The sign-in dialog's pages: the token-bearing result is never cached, its one inline script is allowed by a
nonce, and the session cookie is SameSite and Secure."""

from __future__ import annotations

import re


def test_the_sign_in_result_is_never_cached_and_its_one_script_carries_the_nonce(make_app):
    client = make_app().test_client()
    page = client.get("/auth/callback?code=x&state=y")  # no sign-in started: the error page, same headers
    assert page.status_code == 400 and page.headers["Cache-Control"] == "no-store"
    nonce = re.search(r"'nonce-([^']+)'", page.headers["Content-Security-Policy"])
    assert nonce is not None
    assert f'<script nonce="{nonce[1]}">' in page.get_data(as_text=True)
    assert client.get("/auth/callback").headers["Content-Security-Policy"] != page.headers["Content-Security-Policy"]


def test_the_session_cookie_is_samesite_and_secure_on_https(make_app):
    client = make_app().test_client()
    login = client.get("/auth/login")
    cookie = login.headers["Set-Cookie"]
    assert "SameSite=Lax" in cookie and "Secure" in cookie and "HttpOnly" in cookie


def test_the_dialog_builds_its_sign_in_client_once(make_app, provider):
    client = make_app().test_client()
    discovery = [request for request in provider.requests if "openid-configuration" in request]
    for _ in range(3):
        assert client.get("/auth/login").status_code == 302
    fetched = [request for request in provider.requests if "openid-configuration" in request]
    assert len(fetched) - len(discovery) <= 1  # the first login discovers the authority; the others reuse it


def test_the_dialog_pages_are_rate_limited_per_address(make_app):
    client = make_app(auth_rate_limit="3/minute").test_client()
    statuses = [client.get("/auth/login").status_code for _ in range(4)]
    assert statuses == [302, 302, 302, 429]
    assert client.get("/auth/login", environ_base={"REMOTE_ADDR": "10.0.0.8"}).status_code == 302  # another caller
