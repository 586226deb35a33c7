"""The engine's exceptions: one root, `EngineError`, so callers can catch the whole family."""

from __future__ import annotations


class EngineError(Exception):
    """Root of every error the engine raises on purpose."""

    #: A short machine-readable kind, used in metrics and HTTP error bodies.
    kind: str = "engine_error"


class ConfigError(EngineError, ValueError):
    """A setting in the environment cannot be used; the message names the variable."""

    kind = "config_error"


class InvalidRequest(EngineError, ValueError):
    """A request field is out of its limits; `field` names it so a caller can point at it."""

    kind = "invalid_request"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class ModelNotFound(EngineError):
    """A model name or path that cannot be loaded offline; the message names the path and what was expected."""

    kind = "model_not_found"


class QueueFull(EngineError):
    """The bounded queue is full; try again after `retry_after_s` seconds."""

    kind = "queue_full"

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class TooManyQueuedImages(QueueFull):
    """One user already has as many images waiting as the engine lets one user queue."""

    kind = "too_many_queued_images"


class UnknownJob(EngineError, KeyError):
    """No job with that id (never existed, or dropped after its retention time)."""

    kind = "unknown_job"

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "unknown job"


class EngineClosed(EngineError):
    """The engine is shutting down and takes no new work."""

    kind = "engine_closed"


class JobCancelled(EngineError):
    """The job was cancelled before it produced images."""

    kind = "cancelled"


class JobFailed(EngineError):
    """The job's batch failed; `reason_kind` says how (e.g. ``out_of_memory``, ``pipeline_error``)."""

    kind = "job_failed"

    def __init__(self, message: str, reason_kind: str = "pipeline_error") -> None:
        super().__init__(message)
        self.reason_kind = reason_kind


class NoWorker(EngineError):
    """Scaled out, no live worker serves the model (or none could load it); the message says which."""

    kind = "no_worker"
