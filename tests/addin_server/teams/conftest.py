"""A server with Teams on, trusting the local Bot Framework and the local identity provider."""

from __future__ import annotations

import dataclasses

import pytest

from addin_server.app import create_app, shutdown_app
from addin_server.config import TeamsSettings
from addin_server.services import services
from engine.api import GenerationRequest
from tests.addin_server.auth.conftest import PUBLIC_URL, identity_settings
from tests.addin_server.conftest import make_config
from tests.bot_framework import BOT_ID, LocalBotFramework
from tests.identity_provider import TENANT

ALICE = f"{TENANT}:user-alice"
BOB = f"{TENANT}:user-bob"


@pytest.fixture(scope="session")
def bot_framework(provider):
    framework = LocalBotFramework(provider).start()
    yield framework
    framework.stop()


@pytest.fixture
def make_teams_app(test_model_dir, tmp_path, provider, bot_framework):
    apps = []

    def build(teams: dict | None = None, server: dict | None = None, **identity):
        config = make_config(
            test_model_dir,
            tmp_path / f"instance{len(apps)}",
            server={"public_url": PUBLIC_URL, "secret_key": "test secret", **(server or {})},
        )
        config = dataclasses.replace(
            config,
            identity=identity_settings(provider, **identity),
            teams=TeamsSettings(
                bot_id=BOT_ID,
                bot_secret="bot-secret",
                openid_metadata_url=bot_framework.metadata_url,
                **(teams or {}),
            ),
        )
        apps.append(create_app(config))
        return apps[-1]

    yield build
    for app in apps:
        shutdown_app(app)


@pytest.fixture
def teams_app(make_teams_app):
    return make_teams_app()


@pytest.fixture
def post(teams_app, bot_framework):
    """POST an activity to /api/messages with a valid connector token (or the given headers)."""
    client = teams_app.test_client()

    def send(activity: dict, headers: dict | None = None, **query):
        return client.post(
            "/api/messages",
            json=activity,
            headers=bot_framework.headers() if headers is None else headers,
            query_string=query,
        )

    return send


def make_images(app, owner: str, prompt: str, n: int = 1) -> list:
    """Pictures of `owner`'s, made through the job service as any surface would."""
    jobs = services(app).jobs
    job_id = jobs.submit(GenerationRequest(prompt=prompt, n=n), owner)
    assert jobs.wait_recorded(job_id, timeout=60)
    record = services(app).store.job(job_id, owner)
    assert record is not None and len(record.images) == n
    return record.images


def public_path(url: str) -> str:
    assert url.startswith(PUBLIC_URL + "/public/images/"), url
    return url[len(PUBLIC_URL) :]
