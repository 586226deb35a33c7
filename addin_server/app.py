"""The application factory: `create_app(config)` builds the Flask app, its one shared engine and its store."""

from __future__ import annotations

import logging
import secrets

from flask import Flask

from addin_server import auth, documents_api, rate_limit, taskpane
from addin_server.auth import dialog
from addin_server.config import Config
from addin_server.documents.service import DocumentService
from addin_server.http_errors import register_error_handlers
from addin_server.images import files_api, jobs_api, openai_api
from addin_server.images.jobs import JobService
from addin_server.images.store import ImageStore
from addin_server.ops import routes as ops_routes
from addin_server.ops.metrics import Metrics
from addin_server.resources import templates_folder

log = logging.getLogger(__name__)


def create_app(config: Config | None = None, authenticator: auth.Authenticator | None = None) -> Flask:
    """Build the app: load the default model (unless ENGINE_PRELOAD is off), open the store, add the routes.

    The engine is created here, once per process, and shared by every request thread; only its owner
    threads ever touch a pipeline.
    """
    from addin_server.engine_factory import create_local_engine

    config = config or Config.from_env()
    instance_path = config.server.instance_path.resolve()
    app = Flask(__name__, instance_path=str(instance_path), template_folder=str(templates_folder()))
    app.secret_key = config.server.secret_key or secrets.token_hex(32)
    app.config["ADDIN"] = config
    app.config["MAX_CONTENT_LENGTH"] = config.server.max_request_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]

    # 1. Metrics first, so the engine can report its batches from the start.
    metrics = Metrics()
    engine, _ = create_local_engine(config.engine, on_batch=metrics.observe_batch)
    metrics.watch_queue(engine.queue_depth)

    # 2. The store and the job service over it.
    store = ImageStore(instance_path)
    jobs = JobService(engine, store, metrics, config.server.retention_days)
    documents = DocumentService(engine, instance_path, config.server.max_documents_per_user,
                                config.server.retention_days)
    app.extensions.update(engine=engine, store=store, jobs=jobs, metrics=metrics, documents=documents)

    # 3. Who is asking (and, with Entra ID, acting for them on Graph), errors, and the routes.
    auth.init_app(app, authenticator)
    if config.identity.enabled:
        from addin_server.auth.on_behalf_of import OnBehalfOf

        app.extensions["on_behalf_of"] = OnBehalfOf(config.identity)
        app.register_blueprint(dialog.bp)
    register_error_handlers(app)
    for blueprint in (openai_api.bp, jobs_api.bp, files_api.bp, documents_api.bp, ops_routes.bp, taskpane.bp):
        app.register_blueprint(blueprint)
    rate_limit.init_app(app)
    log.info("serving models %s from %s", ", ".join(engine.model_names()), instance_path)
    return app


def shutdown_app(app: Flask, timeout: float | None = None) -> None:
    """Stop the engine (queued jobs are cancelled, the running batch finishes) and record what ended."""
    app.extensions["documents"].close(timeout=timeout)
    app.extensions["engine"].close(wait=True, timeout=timeout)
    app.extensions["jobs"].close(timeout=timeout)
