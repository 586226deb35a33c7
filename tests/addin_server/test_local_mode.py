"""Local mode serves one person on this machine: not a web page they visit, and not callers behind a proxy."""

from __future__ import annotations

import pytest

DECK = '{"title": "From another site"}'


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},  # a sandboxed frame or a file:// page
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    ],
)
def test_a_cross_site_form_post_is_refused_and_starts_nothing(client, headers):
    """Browsers send multipart forms cross-site without a preflight; the server must refuse them itself."""
    answer = client.post("/api/documents", data={"spec": DECK}, content_type="multipart/form-data", headers=headers)
    assert answer.status_code == 403 and answer.get_json()["error"]["code"] == "cross_site_request"
    assert client.get("/api/documents").get_json()["data"] == []
    jobs = client.post("/api/jobs", json={"prompt": "a red circle"}, headers=headers)
    assert jobs.status_code == 403
    assert client.get("/api/jobs").get_json()["data"] == []


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Origin": "http://localhost"},  # the server's own origin (the test client's host)
        {"Origin": "https://contoso.officeapps.live.com", "Sec-Fetch-Site": "same-site"},
        {"Sec-Fetch-Site": "same-origin"},
    ],
)
def test_the_task_pane_and_office_may_post(client, headers):
    assert client.post("/api/jobs", json={"prompt": "a red circle"}, headers=headers).status_code == 202


def test_reading_stays_open_to_a_cross_site_page_which_cannot_see_the_answer(client):
    assert client.get("/api/jobs", headers={"Sec-Fetch-Site": "cross-site"}).status_code == 200


@pytest.mark.parametrize(
    "header", ["X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded", "X-Real-IP"]
)
def test_a_request_through_a_proxy_is_refused_with_what_to_do(client, header):
    answer = client.get("/api/jobs", headers={header: "203.0.113.9"})
    error = answer.get_json()["error"]
    assert answer.status_code == 403 and error["code"] == "proxied_in_local_mode"
    assert "ENTRA_CLIENT_ID" in error["message"]


def test_local_mode_has_no_rate_limit_unless_one_is_set(client):
    """One person scripting on their own machine is not throttled (a fill of 108 documents got 429 after 60)."""
    from addin_server.config import Config, IdentitySettings
    from engine.declared_settings import load_settings

    statuses = {client.post("/api/jobs", json={"prompt": ""}).status_code for _ in range(70)}
    assert statuses == {400}  # each refused for its empty prompt, none for being the 61st
    assert Config.from_env({}).identity.generation_rate_limit == ""
    assert Config.from_env({"RATE_LIMIT": "5/minute"}).identity.generation_rate_limit == "5/minute"
    signed_in = {"ENTRA_CLIENT_ID": "00000000-0000-0000-0000-000000000001"}
    assert load_settings(IdentitySettings, signed_in).generation_rate_limit == "60/minute"
    assert load_settings(IdentitySettings, {**signed_in, "RATE_LIMIT": "none"}).generation_rate_limit == ""
