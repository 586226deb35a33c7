"""Fixtures for the server: a tiny test model with small limits, an app built by the factory, a live server."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, Request

from addin_server.app import create_app, shutdown_app
from addin_server.auth import User
from addin_server.config import Config, CopilotSettings, IdentitySettings, ServerSettings, TeamsSettings
from addin_server.errors import Unauthorized
from engine.settings import EngineSettings
from tests.addin_server.live_server import LiveServer
from tests.identity_provider import CLIENT_ID, TENANT


def make_config(model_dir: Path, instance: Path, engine: dict | None = None, server: dict | None = None) -> Config:
    return Config(
        engine=EngineSettings(default_model=str(model_dir), **(engine or {})),
        server=ServerSettings(instance_path=instance, **(server or {})),
    )


@pytest.fixture
def app(test_model_dir, tmp_path) -> Iterator[Flask]:
    app = create_app(make_config(test_model_dir, tmp_path / "instance"))
    yield app
    shutdown_app(app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="module")
def live_server(test_model_dir, tmp_path_factory) -> Iterator[LiveServer]:
    """One server for a whole test module (no per-user job limit and room for twenty waiting requests from the
    one local user, so load tests can run)."""
    env = {"ENGINE_MAX_QUEUED_IMAGES_PER_USER": "0", "SERVER_MAX_WAITS_PER_USER": "32"}
    server = LiveServer(test_model_dir, tmp_path_factory.mktemp("live") / "instance", env=env).start()
    yield server
    server.stop()


class HeaderUser:
    """Stands in for Entra ID sign-in: the user named in a header (tests only)."""

    def authenticate(self, request: Request) -> User:
        name = request.headers.get("X-Test-User")
        if not name:
            raise Unauthorized("sign in", "unauthenticated")
        return User(id=name, name=name)


def wait_for_job(client, job_id: str, headers: dict | None = None, timeout: float = 60) -> dict:
    """Poll a job through the test client until it has ended; returns its last state."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}", headers=headers).get_json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")


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

    def build(
        server: dict | None = None,
        teams: TeamsSettings | None = None,
        copilot: CopilotSettings | None = None,
        **overrides,
    ):
        """An app signed in at the local provider; `overrides` change its identity settings."""
        config = dataclasses.replace(
            make_config(
                test_model_dir, tmp_path / f"instance{len(apps)}", server={"public_url": PUBLIC_URL, **(server or {})}
            ),
            identity=identity_settings(provider, **overrides),
            teams=teams or TeamsSettings(),
            copilot=copilot or CopilotSettings(),
        )
        apps.append(create_app(config))
        return apps[-1]

    yield build
    for app in apps:
        shutdown_app(app)
