"""The application factory: `create_app(config, engine)` builds the Flask app around one shared engine."""

from __future__ import annotations

import logging
import secrets

from flask import Flask

from addin_server import auth, documents_api, page_security, rate_limit, taskpane
from addin_server.auth import dialog
from addin_server.config import Config
from addin_server.copilot import api as copilot_api
from addin_server.documents.service import DocumentService
from addin_server.http_errors import register_error_handlers
from addin_server.images import files_api, jobs_api, openai_api, public_api
from addin_server.images.jobs import JobService
from addin_server.images.public_links import PublicLinks
from addin_server.images.request_slots import RequestSlots
from addin_server.images.store import ImageStore
from addin_server.ops import routes as ops_routes
from addin_server.ops.metrics import Metrics
from addin_server.resources import templates_folder
from addin_server.services import Services, services
from engine.api import EngineClient

log = logging.getLogger(__name__)


def create_app(
    config: Config | None = None,
    engine: EngineClient | None = None,
    authenticator: auth.Authenticator | None = None,
) -> Flask:
    """Build the app on `engine` (default: an in-process engine that loads the default model now, unless
    ENGINE_PRELOAD is off). The app owns the engine: `shutdown_app` closes it.

    The engine is created once per process and shared by every request thread.
    """
    config = (config or Config.from_env()).validate()
    instance_path = config.server.instance_path.resolve()
    app = Flask(__name__, instance_path=str(instance_path), template_folder=str(templates_folder()))
    app.secret_key = config.server.secret_key or secrets.token_hex(32)
    app.config["MAX_CONTENT_LENGTH"] = config.server.max_request_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]

    # 1. The engine, reporting its batches to the metrics.
    metrics = Metrics()
    if engine is None:
        from addin_server.engine_factory import create_server_engine

        engine = create_server_engine(config.engine)
    engine.observe_batches(metrics.observe_batch)
    metrics.watch_queue(engine.queue_depth)
    workers_alive = getattr(engine, "workers_alive", None)  # a scaled-out engine counts its workers
    if workers_alive is not None:
        metrics.watch_workers(workers_alive)

    # 2. One store for jobs, images and documents, and the services over it.
    store = ImageStore(instance_path)
    parts = Services(
        config=config,
        engine=engine,
        metrics=metrics,
        store=store,
        jobs=JobService(engine, store, metrics, config.server.retention_days, config.server.max_cost),
        documents=DocumentService(
            engine,
            store.database,
            instance_path,
            config.server.max_documents_per_user,
            config.server.retention_days,
            config.server.max_document_images,
            config.server.max_upload_pixels,
        ),
        authenticator=authenticator or auth.authenticator_for(config.identity),
        streams=RequestSlots(config.server.max_streams_per_user, "progress streams open", "too_many_streams"),
        waits=RequestSlots(config.server.max_waits_per_user, "requests waiting for pictures", "too_many_waits"),
        public_links=PublicLinks(app.secret_key, config.server.public_link_ttl_s),
    )
    if config.identity.enabled:
        from addin_server.auth.on_behalf_of import OnBehalfOf

        parts.on_behalf_of = OnBehalfOf(config.identity)
    if config.teams.enabled:
        from addin_server.teams.bot import TeamsBot

        parts.teams = TeamsBot(config)
        if not config.server.public_url.startswith("https://"):
            log.warning("SERVER_PUBLIC_URL is not https://: Teams shows no picture in a card from a plain http link")
    parts.init_app(app)
    if config.engine.queue.enabled:  # the jobs of a web process that stopped went on in the workers
        parts.jobs.resume_unfinished()

    # 3. Errors and routes; the sign-in dialog only with Entra ID, the Teams bot only with TEAMS_BOT_ID.
    register_error_handlers(app)
    blueprints = [
        openai_api.bp,
        jobs_api.bp,
        files_api.bp,
        public_api.bp,
        documents_api.bp,
        ops_routes.bp,
        taskpane.bp,
    ]
    if config.identity.enabled:
        blueprints += [dialog.bp, copilot_api.bp]  # Copilot calls with an Entra SSO token
    if config.teams.enabled:
        from addin_server.teams import routes as teams_routes

        blueprints.append(teams_routes.bp)
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    rate_limit.init_app(app)
    page_security.init_app(app)
    log.info("serving models %s from %s", ", ".join(engine.model_names()), instance_path)
    return app


def shutdown_app(app: Flask, timeout: float | None = None) -> None:
    """Stop the engine (queued jobs are cancelled, the running batch finishes) and record what ended."""
    parts = services(app)
    parts.documents.close(timeout=timeout)
    parts.engine.close(wait=True, timeout=timeout)
    parts.jobs.close(timeout=timeout)
