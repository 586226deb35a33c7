"""On-behalf-of with real MSAL against the local provider: save a document to a (fake) OneDrive, cache per
user, upload sessions for big files, and the consent and MFA answers the task pane acts on."""

from __future__ import annotations

import time

import pytest

from addin_server.auth.on_behalf_of import OnBehalfOf
from addin_server.auth.users import User
from addin_server.errors import ServerError
from tests.addin_server.auth.conftest import bearer, identity_settings
from tests.identity_provider import TENANT


def finished_document(client, headers) -> str:
    job = client.post("/api/documents", json={"title": "For OneDrive"}, headers=headers).get_json()
    deadline = time.monotonic() + 30
    while client.get(f"/api/documents/{job['id']}", headers=headers).status_code == 202:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return job["id"]


def test_save_a_document_to_onedrive_with_one_exchange(make_app, provider):
    client = make_app(graph_url=f"{provider.base_url}/graph").test_client()
    alice = bearer(provider.token(oid="obo-alice"))
    document_id = finished_document(client, alice)
    exchanges = provider.requests.count(f"POST /{TENANT}/oauth2/v2.0/token")
    for _ in range(2):
        response = client.post(f"/api/documents/{document_id}/onedrive", headers=alice)
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["web_url"] == "https://onedrive.test/Generated images/For OneDrive.pptx"
    assert provider.uploads["Generated images/For OneDrive.pptx"].startswith(b"PK")
    # The second save was served from the user's token cache, not a second exchange.
    assert provider.requests.count(f"POST /{TENANT}/oauth2/v2.0/token") == exchanges + 1
    assert (
        client.post(f"/api/documents/{document_id}/onedrive", headers=bearer(provider.token(oid="obo-bob"))).status_code
        == 404
    )


def test_big_files_go_up_in_an_upload_session(provider):
    settings = identity_settings(provider, graph_url=f"{provider.base_url}/graph")
    data = bytes(range(256)) * (5 * 1024 * 1024 // 256 + 7)
    web_url = OnBehalfOf(settings).upload_to_onedrive("graph-token-for-x", "big.pptx", data)
    assert web_url.endswith("big.pptx") and provider.uploads["Generated images/big.pptx"] == data
    assert any(request.endswith(":/createUploadSession") for request in provider.requests)


@pytest.mark.parametrize(
    ("answer", "status", "code"),
    [
        (
            {
                "error": "invalid_grant",
                "error_description": "AADSTS50076: MFA required",
                "claims": '{"access_token":{}}',
            },
            401,
            "interaction_required",
        ),
        (
            {"error": "invalid_grant", "error_description": "AADSTS65001: The user or administrator has not consented"},
            403,
            "consent_required",
        ),
    ],
)
def test_consent_and_mfa_answers(provider, answer, status, code):
    provider.obo_error = answer
    try:
        with pytest.raises(ServerError) as raised:
            OnBehalfOf(identity_settings(provider)).graph_token(
                User(f"{TENANT}:mfa-user", "M"), provider.token(oid="mfa-user")
            )
    finally:
        provider.obo_error = None
    assert (raised.value.status, raised.value.code) == (status, code)
    if code == "interaction_required":
        assert raised.value.extra["claims"] == '{"access_token":{}}'


def test_onedrive_needs_sign_in_in_local_mode(client_local):
    document_id = finished_document(client_local, {})
    response = client_local.post(f"/api/documents/{document_id}/onedrive")
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "onedrive_needs_sign_in"


@pytest.fixture
def client_local(test_model_dir, tmp_path):
    from addin_server.app import create_app, shutdown_app
    from tests.addin_server.conftest import make_config

    app = create_app(make_config(test_model_dir, tmp_path))
    yield app.test_client()
    shutdown_app(app)
