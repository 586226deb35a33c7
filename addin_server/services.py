"""What every request shares, built once by `create_app`: the settings, the engine and the services over it.

Routes reach them through `services()`, typed, instead of looking names up in `app.extensions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import Flask, current_app

from addin_server.config import Config
from addin_server.documents.service import DocumentService
from addin_server.images.jobs import JobService
from addin_server.images.public_links import PublicLinks
from addin_server.images.request_slots import RequestSlots
from addin_server.images.store import ImageStore
from addin_server.ops.metrics import Metrics
from engine.api import EngineClient

if TYPE_CHECKING:
    from addin_server.auth.on_behalf_of import OnBehalfOf
    from addin_server.auth.users import Authenticator
    from addin_server.teams.bot import TeamsBot

#: The key under `app.extensions`.
EXTENSION = "addin_server"


@dataclass
class Services:
    """The app's shared parts; only the engine's owner threads ever touch a pipeline."""

    config: Config
    engine: EngineClient
    metrics: Metrics
    store: ImageStore
    jobs: JobService
    documents: DocumentService
    authenticator: Authenticator
    #: Progress streams open per user.
    streams: RequestSlots
    #: Requests waiting for their pictures per user (OpenAI's synchronous routes, Copilot, Teams).
    waits: RequestSlots
    #: Signs and reads the token-free picture links of Teams and Copilot cards.
    public_links: PublicLinks
    #: Acts for the user on Microsoft Graph; None in local mode.
    on_behalf_of: OnBehalfOf | None = None
    #: The Teams bot (None until TEAMS_BOT_ID is set).
    teams: TeamsBot | None = None

    def init_app(self, app: Flask) -> None:
        app.extensions[EXTENSION] = self


def services(app: Flask | None = None) -> Services:
    """The shared parts of `app` (default: the app handling this request)."""
    return (app or current_app).extensions[EXTENSION]
