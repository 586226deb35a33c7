"""The one place that turns every failure, ours, the engine's or Werkzeug's, into the HTTP error body.

The body is OpenAI's: ``{"error": {"message", "type", "param", "code"}}``, so the `openai` client surfaces
`e.param` and `e.code`, and the task pane can point at the bad field.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, has_request_context, jsonify, request
from werkzeug.exceptions import HTTPException

from addin_server.errors import NO_RETRY, ServerError, server_error_for
from engine.errors import EngineError

log = logging.getLogger(__name__)

#: The OpenAI error `type` for each status.
_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    429: "rate_limit_error",
    504: "timeout_error",
}


def error_type(status: int) -> str:
    """OpenAI's `type` for an HTTP status."""
    return _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")


def error_response(error: ServerError) -> Response:
    """The JSON error body with the error's status and headers."""
    body = {
        "error": {
            "message": error.message,
            "type": error_type(error.status),
            "param": error.param,
            "code": error.code,
            **error.extra,
        }
    }
    response = jsonify(body)
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


def _from_http_exception(app: Flask, error: HTTPException) -> ServerError:
    status = error.code or 500
    message = error.description or error.name
    code = error.name.lower().replace(" ", "_")
    if status == 413:
        limit = request.max_content_length if has_request_context() else app.config["MAX_CONTENT_LENGTH"]
        message = f"the request body is larger than {limit} bytes"
    if status == 429:
        message, code = f"too many requests: {error.description}", "rate_limited"
    server_error = ServerError(message, code)
    server_error.status = status
    valid_methods = getattr(error, "valid_methods", None)
    if status == 405 and valid_methods:
        server_error.headers["Allow"] = ", ".join(valid_methods)
    return server_error


def register_error_handlers(app: Flask) -> None:
    """Every error answers with the JSON error body; an unexpected one is logged, once, here."""

    @app.errorhandler(ServerError)
    def handle_server_error(error: ServerError) -> Response:
        return error_response(error)

    @app.errorhandler(EngineError)
    def handle_engine_error(error: EngineError) -> Response:
        return error_response(server_error_for(error))

    @app.errorhandler(HTTPException)
    def handle_http_exception(error: HTTPException) -> Response:
        return error_response(_from_http_exception(app, error))

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> Response:
        log.exception("unexpected error")
        return error_response(ServerError("internal server error", "internal_error", headers=NO_RETRY))
