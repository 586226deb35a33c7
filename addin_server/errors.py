"""The server's errors: one root, `ServerError`, carrying an HTTP status, a sentence for people and a `code`
and `param` for programs. Services raise these (no Flask here); `http_errors.py` is the one place that turns
them, and any engine error, into the HTTP body, and `cli.py` the one place that prints them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from engine.errors import (
    EngineClosed,
    EngineError,
    InvalidRequest,
    JobCancelled,
    JobFailed,
    ModelNotFound,
    NoWorker,
    QueueFull,
    UnknownJob,
)

#: Tell OpenAI clients not to resubmit: a job that failed (out of memory, say) would fail the same way again.
NO_RETRY = {"x-should-retry": "false"}


class ServerError(Exception):
    """Root of every error the server raises on purpose; subclasses set the status and a default code."""

    status: int = 500
    code: str = "internal_error"

    def __init__(
        self,
        message: str,
        code: str | None = None,
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or type(self).code
        self.param = param
        self.headers = dict(headers or {})
        #: More fields for the error body (e.g. the `claims` challenge of a step-up sign-in).
        self.extra = dict(extra or {})


class BadRequest(ServerError):
    status, code = 400, "invalid_value"


class Unauthorized(ServerError):
    status, code = 401, "unauthenticated"


class Forbidden(ServerError):
    status, code = 403, "forbidden"


class NotFound(ServerError):
    status, code = 404, "not_found"


class Conflict(ServerError):
    status, code = 409, "conflict"


class PayloadTooLarge(ServerError):
    status, code = 413, "request_entity_too_large"


class UnsupportedMediaType(ServerError):
    status, code = 415, "unsupported_media_type"


class TooManyRequests(ServerError):
    status, code = 429, "rate_limited"

    def __init__(self, message: str, code: str | None = None, retry_after_s: float = 5.0) -> None:
        super().__init__(message, code, headers={"Retry-After": str(max(1, math.ceil(retry_after_s)))})


class ClientClosedRequest(ServerError):
    """The client went away before the answer was ready (nginx's 499); nobody reads the body."""

    status, code = 499, "client_gone"


class JobFailedError(ServerError):
    status, code = 500, "pipeline_error"


class NotConfigured(ServerError):
    """The server lacks a setting this feature needs."""

    status, code = 501, "not_configured"


class BadGateway(ServerError):
    status, code = 502, "upstream_error"


class Unavailable(ServerError):
    status, code = 503, "unavailable"


class GatewayTimeout(ServerError):
    status, code = 504, "timeout"


def server_error_for(error: EngineError, field_names: Mapping[str, str] | None = None) -> ServerError:
    """The server's form of an engine error; `field_names` renames request fields (e.g. width -> size)."""
    if isinstance(error, InvalidRequest):
        param = (field_names or {}).get(error.field, error.field)
        message = f"{param}: {error.message}" if param != error.field else str(error)
        return BadRequest(message, "invalid_value", param)
    if isinstance(error, ModelNotFound):
        return BadRequest(str(error), "model_not_found", "model")
    if isinstance(error, QueueFull):
        return TooManyRequests(str(error), error.kind, retry_after_s=error.retry_after_s)
    if isinstance(error, UnknownJob):
        return NotFound("no such job", "job_not_found")
    if isinstance(error, EngineClosed):
        return Unavailable(str(error), "shutting_down", headers={"Retry-After": "5"})
    if isinstance(error, NoWorker):
        return Unavailable(str(error), error.kind, headers={"Retry-After": "10"})
    if isinstance(error, JobCancelled):
        return Conflict(str(error), "cancelled")
    if isinstance(error, JobFailed):
        return JobFailedError(str(error), error.reason_kind, headers=NO_RETRY)
    return ServerError(str(error), error.kind, headers=NO_RETRY)
