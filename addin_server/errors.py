"""HTTP errors: one exception type, `ApiError`, and the handlers that turn every failure into the same JSON body.

The body is OpenAI's: ``{"error": {"message", "type", "param", "code"}}``, so the `openai` client surfaces
`e.param` and `e.code`, and the task pane can point at the bad field.
"""

from __future__ import annotations

import logging
import math

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from addin_server.documents.errors import DocumentError

from engine.errors import (
    EngineClosed,
    EngineError,
    InvalidRequest,
    JobCancelled,
    JobFailed,
    ModelNotFound,
    QueueFull,
    UnknownJob,
)

log = logging.getLogger(__name__)

#: The OpenAI error `type` for each status family.
_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "conflict_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    429: "rate_limit_error",
    504: "timeout_error",
}


class ApiError(Exception):
    """An error with its HTTP status, a sentence for people, and `param`/`code` for programs."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.headers = headers or {}
        #: More fields for the error body (e.g. the `claims` challenge of a step-up sign-in).
        self.extra: dict[str, object] = {}

    @property
    def type(self) -> str:
        return _TYPES.get(self.status, "server_error" if self.status >= 500 else "invalid_request_error")

    def to_response(self) -> Response:
        body = {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code,
                          **self.extra}}
        response = jsonify(body)
        response.status_code = self.status
        response.headers.update(self.headers)
        return response


def api_error_from_engine(error: EngineError, param_names: dict[str, str] | None = None) -> ApiError:
    """The HTTP form of an engine error; `param_names` renames request fields (e.g. width -> size)."""
    if isinstance(error, InvalidRequest):
        param = (param_names or {}).get(error.field, error.field)
        return ApiError(400, f"{param}: {error.message}" if param != error.field else str(error), "invalid_value", param)
    if isinstance(error, ModelNotFound):
        return ApiError(400, str(error), "model_not_found", "model")
    if isinstance(error, QueueFull):
        retry_after = str(max(1, math.ceil(error.retry_after_s)))
        return ApiError(429, str(error), error.kind, headers={"Retry-After": retry_after})
    if isinstance(error, UnknownJob):
        return ApiError(404, "no such job", "job_not_found")
    if isinstance(error, EngineClosed):
        return ApiError(503, str(error), "shutting_down", headers={"Retry-After": "5"})
    if isinstance(error, JobCancelled):
        return ApiError(409, str(error), "cancelled")
    if isinstance(error, JobFailed):
        # An out-of-memory job would fail again: tell clients not to retry it.
        return ApiError(500, str(error), error.reason_kind, headers={"x-should-retry": "false"})
    return ApiError(500, str(error), error.kind, headers={"x-should-retry": "false"})


def register_error_handlers(app: Flask) -> None:
    """Every error, ours or Werkzeug's, answers with the JSON error body; unexpected ones are logged once."""

    @app.errorhandler(ApiError)
    def handle_api_error(error: ApiError) -> Response:
        return error.to_response()

    @app.errorhandler(DocumentError)
    def handle_document_error(error: DocumentError) -> Response:
        api_error = ApiError(400, str(error), error.code)
        api_error.extra = {"problems": error.problems}
        return api_error.to_response()

    @app.errorhandler(EngineError)
    def handle_engine_error(error: EngineError) -> Response:
        return api_error_from_engine(error).to_response()

    @app.errorhandler(HTTPException)
    def handle_http_exception(error: HTTPException) -> Response:
        status = error.code or 500
        message = error.description or error.name
        if status == 413:
            message = f"the request body is larger than {app.config['MAX_CONTENT_LENGTH']} bytes"
        code = error.name.lower().replace(" ", "_")
        if status == 429:
            message, code = f"too many requests: {error.description}", "rate_limited"
        api_error = ApiError(status, message, code)
        if status == 405 and error.valid_methods:  # type: ignore[attr-defined]
            api_error.headers["Allow"] = ", ".join(error.valid_methods)  # type: ignore[attr-defined]
        return api_error.to_response()

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> Response:
        log.exception("unexpected error")
        return ApiError(500, "internal server error", "internal_error", headers={"x-should-retry": "false"}).to_response()
