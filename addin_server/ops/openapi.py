"""The OpenAPI 3.1 description of the HTTP API, served at `/openapi.json`: its paths here, its schemas in
`openapi_schemas.py` (request bodies generated from the routes' own field declarations). A test validates it
with openapi-spec-validator and schemathesis checks the live server against it.
"""

from __future__ import annotations

from typing import Any

from addin_server.images.request_fields import RequestLimits
from addin_server.ops.openapi_schemas import component_schemas, ref

API_VERSION = "1.0.0"


def _json(schema: dict[str, Any], description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


def _errors(*statuses: int) -> dict[str, Any]:
    descriptions = {
        400: "Bad input; `param` names the field",
        401: "Sign in (Entra ID bearer token)",
        502: "Microsoft Graph or the token exchange failed",
        403: "Not allowed (local mode serves loopback only)",
        404: "No such job or image for this user",
        409: "The job was cancelled or runs elsewhere",
        413: "Body too large",
        415: "Body is not JSON",
        429: "Queue full or too many jobs of yours",
        500: "Generation failed (not worth retrying)",
        503: "Shutting down or not ready",
        504: "Timed out",
    }
    responses = {}
    for status in statuses:
        headers = None
        if status in (429, 503):
            headers = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "string"}}}
        responses[str(status)] = _json(ref("Error"), descriptions[status], headers)
    return responses


def _document_paths() -> dict[str, Any]:
    document = ref("Document")
    started = _json(
        document,
        "The document job, started",
        {"Location": {"description": "Where to download it", "schema": {"type": "string"}}},
    )
    # The server's ids are uuid4 hex; the pattern keeps "fill" (its own route) from reading as one.
    path_parameter = [
        {
            "name": "document_id",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
        }
    ]
    office_types = {
        "application/vnd.openxmlformats-officedocument.presentationml.presentation": {
            "schema": {"type": "string", "format": "binary"}
        },
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document": {
            "schema": {"type": "string", "format": "binary"}
        },
    }
    return {
        "/api/documents": {
            "post": {
                "operationId": "createDocument",
                "summary": "Build a deck (.pptx) or report (.docx) from a spec",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": ref("DocumentSpec")},
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["spec"],
                                "properties": {
                                    "spec": {"type": "string", "description": "The spec as JSON or YAML"},
                                    "template": {
                                        "type": "string",
                                        "format": "binary",
                                        "description": ".pptx/.potx/.docx/.dotx",
                                    },
                                },
                            }
                        },
                    },
                },
                "responses": {"202": started, **_errors(400, 403, 413, 415, 429)},
            },
            "get": {
                "operationId": "listDocuments",
                "summary": "The caller's recent documents",
                "responses": {"200": _json(ref("DocumentList"), "Documents"), **_errors(403)},
            },
        },
        "/api/documents/fill": {
            "post": {
                "operationId": "fillDocument",
                "summary": "Replace {{image: ...}} markers (and targets) in an uploaded file",
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["file"],
                                "properties": {
                                    "file": {"type": "string", "format": "binary"},
                                    "options": {
                                        "type": "string",
                                        "description": "JSON: targets, style, seed, seed_policy, model",
                                    },
                                },
                            }
                        }
                    },
                },
                "responses": {"202": started, **_errors(400, 403, 413, 415, 429)},
            }
        },
        "/api/documents/{document_id}": {
            "parameters": path_parameter,
            "get": {
                "operationId": "downloadDocument",
                "summary": "The finished file; 202 while it is being made",
                "responses": {
                    "200": {"description": "The file", "content": office_types},
                    "202": _json(document, "Not ready yet", {"Retry-After": {"schema": {"type": "string"}}}),
                    "409": _json(document, "It failed or was cancelled"),
                    **_errors(403, 404),
                },
            },
            "delete": {
                "operationId": "cancelDocument",
                "summary": "Cancel a document in progress",
                "responses": {"200": _json(document, "The document job"), **_errors(403, 404)},
            },
        },
        "/api/documents/{document_id}/onedrive": {
            "parameters": path_parameter,
            "post": {
                "operationId": "saveDocumentToOneDrive",
                "summary": "Save a finished document to the caller's OneDrive (Entra ID sign-in only)",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["id", "web_url"],
                            "properties": {"id": {"type": "string"}, "web_url": {"type": "string"}},
                        },
                        "Saved",
                    ),
                    **_errors(401, 403, 404, 409, 502),
                },
            },
        },
        "/api/documents/{document_id}/status": {
            "parameters": path_parameter,
            "get": {
                "operationId": "documentStatus",
                "summary": "Progress (images done of total), status, error",
                "responses": {"200": _json(document, "The document job"), **_errors(403, 404)},
            },
        },
    }


def _job_id_parameter(name: str = "job_id") -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def openapi_document(model_names: list[str], limits: RequestLimits) -> dict[str, Any]:
    """The whole document, with this server's models and request limits."""
    job = ref("Job")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "M365 Image Add-in API",
            "version": API_VERSION,
            "description": "Private image generation: an OpenAI-compatible images endpoint and a jobs API with "
            "progress.",
        },
        "components": {
            "schemas": component_schemas(model_names, limits),
            "securitySchemes": {
                "entra": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "An Entra ID access token (not needed in local mode)",
                }
            },
        },
        "security": [{}, {"entra": []}],
        "paths": {
            "/v1/images/generations": {
                "post": {
                    "operationId": "createImages",
                    "summary": "Generate images and wait for them (OpenAI Images API)",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": ref("ImagesRequest")}},
                    },
                    "responses": {
                        "200": _json(ref("ImagesResponse"), "The images"),
                        **_errors(400, 403, 409, 413, 415, 429, 500, 503, 504),
                    },
                }
            },
            "/v1/images/edits": {
                "post": {
                    "operationId": "editImages",
                    "summary": "Change an uploaded picture, or repaint the transparent part of its mask (OpenAI)",
                    "requestBody": {
                        "required": True,
                        "content": {"multipart/form-data": {"schema": ref("EditRequest")}},
                    },
                    "responses": {
                        "200": _json(ref("ImagesResponse"), "The changed pictures"),
                        **_errors(400, 403, 409, 413, 415, 429, 500, 503, 504),
                    },
                }
            },
            "/v1/images/variations": {
                "post": {
                    "operationId": "createImageVariations",
                    "summary": "Variations of an uploaded picture (OpenAI)",
                    "requestBody": {
                        "required": True,
                        "content": {"multipart/form-data": {"schema": ref("VariationRequest")}},
                    },
                    "responses": {
                        "200": _json(ref("ImagesResponse"), "The variations"),
                        **_errors(400, 403, 409, 413, 415, 429, 500, 503, 504),
                    },
                }
            },
            "/api/jobs": {
                "post": {
                    "operationId": "createJob",
                    "summary": "Start a generation job and return at once",
                    "requestBody": {"required": True, "content": {"application/json": {"schema": ref("JobRequest")}}},
                    "responses": {
                        "202": _json(
                            job,
                            "The job, queued",
                            {"Location": {"description": "The job's URL", "schema": {"type": "string"}}},
                        ),
                        **_errors(400, 403, 404, 413, 415, 429, 503),
                    },
                },
                "get": {
                    "operationId": "listJobs",
                    "summary": "The caller's recent jobs, newest first",
                    "parameters": [
                        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
                        {
                            "name": "before",
                            "in": "query",
                            "description": "created_at of the last job seen",
                            "schema": {"type": "number", "minimum": 0},
                        },
                    ],
                    "responses": {"200": _json(ref("JobList"), "Jobs"), **_errors(400, 403)},
                },
            },
            "/api/jobs/{job_id}": {
                "parameters": [_job_id_parameter()],
                "get": {
                    "operationId": "getJob",
                    "summary": "A job's state, progress, images and error",
                    "responses": {"200": _json(job, "The job"), **_errors(403, 404)},
                },
                "delete": {
                    "operationId": "cancelJob",
                    "summary": "Cancel a job",
                    "responses": {
                        "200": _json(job, "The job has ended"),
                        "202": _json(job, "The running job stops at its next step"),
                        **_errors(403, 404, 409),
                    },
                },
            },
            "/api/jobs/{job_id}/events": {
                "parameters": [_job_id_parameter()],
                "get": {
                    "operationId": "jobEvents",
                    "summary": "Server-Sent Events: `progress` per change, then `succeeded`, `failed` or `cancelled`",
                    "responses": {
                        "200": {
                            "description": "An event stream; each data line is a Job",
                            "content": {"text/event-stream": {"schema": {"type": "string"}}},
                        },
                        **_errors(403, 404),
                    },
                },
            },
            "/api/images/{image_id}": {
                "parameters": [_job_id_parameter("image_id")],
                "get": {
                    "operationId": "getImage",
                    "summary": "A generated PNG",
                    "responses": {
                        "200": {
                            "description": "The PNG",
                            "content": {"image/png": {"schema": {"type": "string", "contentMediaType": "image/png"}}},
                        },
                        **_errors(403, 404),
                    },
                },
                "delete": {
                    "operationId": "deleteImage",
                    "summary": "Delete one of your pictures; its public links answer 404 from then on",
                    "responses": {"204": {"description": "Deleted"}, **_errors(403, 404)},
                },
            },
            "/public/images/{token}.png": {
                "get": {
                    "operationId": "publicImage",
                    "summary": "A picture behind a public link (Teams and Copilot cards): no token, at most 1024 px",
                    "security": [],
                    "parameters": [{"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}],
                    "responses": {
                        "200": {"description": "PNG", "content": {"image/png": {"schema": {"type": "string"}}}},
                        "404": _json(ref("Error"), "Expired, altered, forged, or the picture was deleted"),
                    },
                }
            },
            **_document_paths(),
            "/icons/icon-{size}.png": {
                "get": {
                    "operationId": "icon",
                    "summary": "The add-in's icon (16, 32, 64, 80 or 192 px)",
                    "security": [],
                    "parameters": [{"name": "size", "in": "path", "required": True, "schema": {"type": "integer"}}],
                    "responses": {
                        "200": {"description": "PNG", "content": {"image/png": {"schema": {"type": "string"}}}},
                        **_errors(404),
                    },
                }
            },
            "/healthz": {
                "get": {
                    "operationId": "health",
                    "summary": "The process answers",
                    "security": [],
                    "responses": {"200": _json({"type": "object"}, "Alive")},
                }
            },
            "/readyz": {
                "get": {
                    "operationId": "ready",
                    "summary": "The default model is loaded",
                    "security": [],
                    "responses": {
                        "200": _json({"type": "object"}, "Ready"),
                        "503": _json({"type": "object"}, "Not ready"),
                    },
                }
            },
            "/metrics": {
                "get": {
                    "operationId": "metrics",
                    "summary": "Prometheus metrics",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "Prometheus text format",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        }
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "security": [],
                    "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1")},
                }
            },
        },
    }
