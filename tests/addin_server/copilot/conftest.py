"""Signed-in apps whose tokens may also carry the Copilot plugin's App ID URI as audience."""

from __future__ import annotations

import pytest

from addin_server.config import CopilotSettings
from tests.identity_provider import CLIENT_ID

#: The plugin's Application ID URI (Copilot's Entra SSO asks for tokens with this audience).
APP_ID_URI = f"api://addin.test/{CLIENT_ID}"


@pytest.fixture
def make_copilot_app(make_app):
    """A signed-in app that accepts the plugin's App ID URI; `copilot` and `identity` change its settings."""

    def build(copilot: dict | None = None, **identity):
        return make_app(app_id_uris=(APP_ID_URI,), copilot=CopilotSettings(**(copilot or {})), **identity)

    return build


@pytest.fixture
def copilot_app(make_copilot_app):
    return make_copilot_app()


@pytest.fixture
def copilot_headers(provider):
    return {"Authorization": f"Bearer {provider.token(aud=APP_ID_URI)}"}
