"""`addin-server serve`: the app on gunicorn, threaded, one process by default, the model loaded before serving.

Stopping (SIGTERM or Ctrl-C): stop accepting, cancel queued jobs, let the running batch finish and its images
be saved, then exit 0.
"""

from __future__ import annotations

import logging
import math
import signal
import threading
from typing import Any

from gunicorn.app.base import BaseApplication

from addin_server.config import Config
from addin_server.services import services

log = logging.getLogger(__name__)


class AddinServer(BaseApplication):
    """gunicorn, configured from `Config` instead of its own command line."""

    def __init__(self, config: Config) -> None:
        self.addin_config = config
        super().__init__()

    def load_config(self) -> None:
        server = self.addin_config.server
        host = f"[{server.host}]" if ":" in server.host and not server.host.startswith("[") else server.host
        settings: dict[str, Any] = {
            "bind": [f"{host}:{server.port}"],
            "workers": server.workers,
            "worker_class": "gthread",
            "threads": server.threads,
            # A generation can take minutes; the gthread worker's heartbeat does not depend on requests.
            "timeout": 120,
            "graceful_timeout": math.ceil(server.graceful_timeout_s),
            "keepalive": 5,
            "accesslog": "-",
            # The path without its query string, and no referrer: a prompt or token in a URL stays out of logs.
            "access_log_format": '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s"',
            "errorlog": "-",
            "on_starting": _on_starting,
            "post_worker_init": _post_worker_init,
            "worker_exit": _worker_exit,
        }
        if "control_socket_disable" in self.cfg.settings:  # gunicorn >= 24: no runtime control socket
            settings["control_socket_disable"] = True
        if server.certfile and server.keyfile:
            settings.update(certfile=str(server.certfile), keyfile=str(server.keyfile))
        for key, value in settings.items():
            self.cfg.set(key, value)

    def load(self):
        from addin_server.app import create_app

        _configure_logging()
        return create_app(self.addin_config)


def _configure_logging() -> None:
    """Our loggers (and the engine's) to stderr at INFO; the audit log as bare JSON lines, one per generation."""
    plain = logging.StreamHandler()
    plain.setFormatter(logging.Formatter("[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s"))
    for name in ("addin_server", "engine"):
        logger = logging.getLogger(name)
        if not logger.handlers:
            logger.addHandler(plain)
            logger.setLevel(logging.INFO)
    audit = logging.getLogger("addin_server.audit")
    if not audit.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        audit.addHandler(handler)
        audit.propagate = False


def _on_starting(arbiter) -> None:
    """In the master, before any worker: jobs a previous in-process server left unfinished will never finish."""
    from addin_server.images.store import ImageStore

    config: Config = arbiter.app.addin_config
    if config.engine.queue.enabled:  # scaled out, they go on in the workers and the app resumes them
        return
    stale = ImageStore(config.server.instance_path.resolve()).cancel_unfinished(
        "the server stopped before the job finished"
    )
    if stale:
        log.warning("marked %d jobs left unfinished by the last run as cancelled", stale)


def _post_worker_init(worker) -> None:
    """On SIGTERM, cancel queued jobs at once, so requests waiting on them answer while gunicorn drains."""
    stop_worker = signal.getsignal(signal.SIGTERM)
    engine = services(worker.wsgi).engine

    def on_sigterm(signum, frame) -> None:
        threading.Thread(target=engine.close, kwargs={"wait": False}, name="engine-stop").start()
        if callable(stop_worker):
            stop_worker(signum, frame)

    signal.signal(signal.SIGTERM, on_sigterm)


def _worker_exit(arbiter, worker) -> None:
    """The worker is leaving: let the running batch finish and its images be recorded."""
    from addin_server.app import shutdown_app

    app = getattr(worker, "wsgi", None)
    if app is not None:
        shutdown_app(app, timeout=arbiter.app.addin_config.server.graceful_timeout_s)


def serve(config: Config) -> None:
    """Check every setting, then run gunicorn until stopped."""
    AddinServer(config.validate()).run()
