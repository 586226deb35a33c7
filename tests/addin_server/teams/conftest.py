"""A server with Teams on, trusting the local Bot Framework and the local identity provider."""

from __future__ import annotations

import pytest

from addin_server.config import TeamsSettings
from addin_server.services import services
from engine.api import GenerationRequest
from tests.addin_server.conftest import PUBLIC_URL
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
def make_teams_app(make_app, bot_framework):
    """An app with Teams on (`teams` changes its Teams settings), signed in at the local identity provider."""

    def build(teams: dict | None = None, server: dict | None = None, **identity):
        settings = TeamsSettings(
            bot_id=BOT_ID, bot_secret="bot-secret", openid_metadata_url=bot_framework.metadata_url, **(teams or {})
        )
        return make_app(server={"secret_key": "test secret", **(server or {})}, teams=settings, **identity)

    return build


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
