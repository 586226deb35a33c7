"""A local identity provider for the whole session, and apps configured to trust it."""

from __future__ import annotations

import dataclasses

import pytest

from addin_server.app import create_app, shutdown_app
from addin_server.config import IdentitySettings
from tests.addin_server.conftest import make_config
from tests.identity_provider import CLIENT_ID, TENANT

#: Where the signed-in test apps say they are reached; the test client answers for any host.
PUBLIC_URL = "https://addin.test"


def identity_settings(provider, **overrides) -> IdentitySettings:
    settings = IdentitySettings(
        client_id=CLIENT_ID,
        tenant_id=TENANT,
        allowed_tenants=(TENANT,),
        app_id_uris=(f"api://addin.test/{CLIENT_ID}",),
        authority=provider.base_url,
        ca_file=str(provider.ca_file),
        client_secret="test-secret",
    )
    return dataclasses.replace(settings, **overrides)


@pytest.fixture
def make_app(test_model_dir, tmp_path, provider):
    apps = []

    def build(**overrides):
        config = dataclasses.replace(
            make_config(test_model_dir, tmp_path / f"instance{len(apps)}", server={"public_url": PUBLIC_URL}),
            identity=identity_settings(provider, **overrides),
        )
        apps.append(create_app(config))
        return apps[-1]

    yield build
    for app in apps:
        shutdown_app(app)


@pytest.fixture
def client(make_app):
    return make_app().test_client()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
