"""The OpenAPI document's component schemas. The request bodies come from the same field declarations the
routes read them with (`images/request_fields.py`, `documents/spec.py`), so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from addin_server.documents.images import SEED_POLICIES
from addin_server.documents.spec import (
    LAYOUTS,
    MAX_BLOCKS,
    MAX_BULLETS,
    MAX_HEADING_LEVEL,
    MAX_SLIDES,
    MAX_TEXT_CHARS,
)
from addin_server.images.request_fields import (
    OPENAI_FIELDS,
    OPENAI_MODEL_ALIASES,
    STRENGTH_FIELD,
    BodyField,
    RequestLimits,
    generation_fields,
    job_fields,
)
from engine.api import MAX_SEED

JOB_STATES = ["queued", "running", "succeeded", "failed", "cancelled"]
IGNORED_WORDS = {
    "type": "array",
    "items": {"type": "string"},
    "description": "Words of the prompt the model does not know, and so left out",
}


def ref(name: str) -> dict[str, str]:
    """A reference to one of these schemas."""
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    nullable = {**schema, "type": [schema["type"], "null"]}
    if "enum" in schema:
        nullable["enum"] = [*schema["enum"], None]
    return nullable


def _properties(fields: tuple[BodyField, ...], model_names: list[str]) -> dict[str, Any]:
    properties = {field.name: field.json_schema() for field in fields}
    properties["model"] = {**properties["model"], "enum": model_names}
    return properties


def images_request_schema(model_names: list[str], limits: RequestLimits) -> dict[str, Any]:
    """`POST /v1/images/generations`: OpenAI's body; every field but the prompt may be null, unknown ones pass."""
    properties = {
        name: _nullable(schema) if name != "prompt" else schema
        for name, schema in _properties(generation_fields(limits) + OPENAI_FIELDS, model_names).items()
    }
    properties["model"] = {
        "anyOf": [
            {"type": "string", "enum": model_names},
            {"type": "string", "pattern": OPENAI_MODEL_ALIASES.pattern},
            {"type": "null"},
        ],
        "description": "A model served here; dall-e-2, dall-e-3 and gpt-image-* mean the default",
    }
    return {"type": "object", "required": ["prompt"], "additionalProperties": True, "properties": properties}


def edit_request_schema(model_names: list[str], limits: RequestLimits, variation: bool = False) -> dict[str, Any]:
    """`POST /v1/images/edits` and `/variations`: multipart form fields and the picture files."""
    fields = generation_fields(limits) + OPENAI_FIELDS + (() if variation else (STRENGTH_FIELD,))
    properties = _properties(fields, model_names)
    picture = {"type": "string", "contentMediaType": "application/octet-stream"}
    properties["image"] = {**picture, "description": "The picture to change: PNG, JPEG or WebP"}
    if not variation:
        properties["mask"] = {**picture, "description": "A PNG the size of image: its transparent pixels are repainted"}
    return {"type": "object", "required": ["image"] if variation else ["image", "prompt"], "properties": properties}


def job_request_schema(model_names: list[str], limits: RequestLimits) -> dict[str, Any]:
    """`POST /api/jobs`: the generation fields plus width and height; unknown fields are refused."""
    return {
        "type": "object",
        "required": ["prompt"],
        "additionalProperties": False,
        "properties": _properties(job_fields(limits), model_names),
    }


def component_schemas(model_names: list[str], limits: RequestLimits) -> dict[str, Any]:
    """Every schema the document refers to, with this server's models and limits."""
    return {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["message", "type", "param", "code"],
                    "properties": {
                        "message": {"type": "string"},
                        "type": {"type": "string"},
                        "param": {"type": ["string", "null"]},
                        "code": {"type": ["string", "null"]},
                    },
                }
            },
        },
        "ImagesRequest": images_request_schema(model_names, limits),
        "ImagesResponse": {
            "type": "object",
            "required": ["created", "data"],
            "properties": {
                "created": {"type": "integer"},
                "ignored_words": IGNORED_WORDS,
                "data": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["seed"],
                        "properties": {
                            "url": {"type": "string"},
                            "b64_json": {"type": "string"},
                            "seed": {"type": "integer"},
                        },
                    },
                },
            },
        },
        "JobRequest": job_request_schema(model_names, limits),
        "EditRequest": edit_request_schema(model_names, limits),
        "VariationRequest": edit_request_schema(model_names, limits, variation=True),
        "Image": {
            "type": "object",
            "required": ["id", "url", "seed", "index", "width", "height"],
            "properties": {
                "id": {"type": "string"},
                "url": {"type": "string"},
                "seed": {"type": "integer"},
                "index": {"type": "integer"},
                "width": {"type": "integer"},
                "height": {"type": "integer"},
            },
        },
        "Job": {
            "type": "object",
            "required": [
                "id",
                "object",
                "status",
                "created_at",
                "finished_at",
                "request",
                "progress",
                "images",
                "error",
                "links",
            ],
            "properties": {
                "id": {"type": "string"},
                "object": {"const": "job"},
                "status": {"enum": JOB_STATES},
                "created_at": {"type": "number"},
                "finished_at": {"type": ["number", "null"]},
                "request": {"type": "object"},
                "ignored_words": IGNORED_WORDS,
                "progress": {
                    "type": "object",
                    "required": ["step", "total_steps", "queue_position"],
                    "properties": {
                        "step": {"type": "integer"},
                        "total_steps": {"type": "integer"},
                        "queue_position": {"type": "integer", "description": "0 once running"},
                    },
                },
                "images": {"type": "array", "items": ref("Image")},
                "error": {
                    "oneOf": [
                        {"type": "null"},
                        {
                            "type": "object",
                            "required": ["message", "code"],
                            "properties": {"message": {"type": "string"}, "code": {"type": "string"}},
                        },
                    ]
                },
                "links": {"type": "object", "properties": {"self": {"type": "string"}, "events": {"type": "string"}}},
            },
        },
        "DocumentSpec": document_spec_schema(model_names),
        "Document": {
            "type": "object",
            "required": [
                "id",
                "object",
                "status",
                "kind",
                "filename",
                "created_at",
                "finished_at",
                "progress",
                "error",
                "links",
            ],
            "properties": {
                "id": {"type": "string"},
                "object": {"const": "document"},
                "status": {"enum": JOB_STATES},
                "kind": {"enum": ["pptx", "docx"]},
                "filename": {"type": "string"},
                "created_at": {"type": "number"},
                "finished_at": {"type": ["number", "null"]},
                "progress": {
                    "type": "object",
                    "required": ["images_done", "images_total"],
                    "properties": {"images_done": {"type": "integer"}, "images_total": {"type": "integer"}},
                },
                "error": {"oneOf": [{"type": "null"}, {"type": "object", "required": ["message", "code"]}]},
                "notes": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "What was left alone, and why (e.g. a linked picture, never fetched)",
                },
                "links": {"type": "object"},
            },
        },
        "DocumentList": {
            "type": "object",
            "required": ["object", "data"],
            "properties": {"object": {"const": "list"}, "data": {"type": "array", "items": ref("Document")}},
        },
        "JobList": {
            "type": "object",
            "required": ["object", "data", "has_more"],
            "properties": {
                "object": {"const": "list"},
                "data": {"type": "array", "items": ref("Job")},
                "has_more": {"type": "boolean"},
            },
        },
    }


def document_spec_schema(model_names: list[str]) -> dict[str, Any]:
    """A deck (`slides`) or a report (`blocks`), with the limits `documents/spec.py` checks."""
    text = {"type": "string", "maxLength": MAX_TEXT_CHARS}
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "kind": {"enum": ["deck", "report"]},
            "title": text,
            "subtitle": text,
            "style": text,
            "seed": {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_SEED},
            "seed_policy": {"enum": list(SEED_POLICIES)},
            "model": {"type": "string", "enum": model_names},
            "slides": {
                "type": "array",
                "maxItems": MAX_SLIDES,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "title": text,
                        "bullets": {"type": "array", "maxItems": MAX_BULLETS, "items": text},
                        "image": text,
                        "layout": {"enum": list(LAYOUTS)},
                        "notes": text,
                    },
                },
            },
            "blocks": {
                "type": "array",
                "maxItems": MAX_BLOCKS,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "heading": text,
                        "level": {"type": "integer", "minimum": 1, "maximum": MAX_HEADING_LEVEL},
                        "paragraph": text,
                        "image": text,
                        "caption": text,
                    },
                },
            },
        },
    }
