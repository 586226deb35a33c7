"""Request bodies of the images API, read and checked in one place; each error names the field.

Two shapes: the OpenAI Images body (`POST /v1/images/generations`, which ignores fields it does not know, as
OpenAI clients send newer ones) and the jobs body (`POST /api/jobs`, which refuses unknown fields to catch typos).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask import Request

from addin_server.errors import BadRequest, UnsupportedMediaType, server_error_for
from addin_server.images.request_fields import (
    JOB_EDIT_FIELDS,
    OPENAI_FIELDS,
    OPENAI_MODEL_ALIASES,
    BodyField,
    RequestLimits,
    generation_fields,
    job_fields,
)
from addin_server.services import services
from engine.api import GenerationRequest
from engine.errors import InvalidRequest

_SIZE = re.compile(r"^(\d{1,5})x(\d{1,5})$")


@dataclass(frozen=True)
class OpenAIImageRequest:
    """An OpenAI Images request: what to generate, and how to return it."""

    generation: GenerationRequest
    response_format: str = "url"


def request_limits() -> RequestLimits:
    """This app's limits, from its configuration."""
    server = services().config.server
    return RequestLimits(max_images=server.max_images_per_request, max_steps=server.max_steps)


def read_json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object; anything else (wrong content type, bad JSON, an array) is a 400/415."""
    if not request.is_json:
        raise UnsupportedMediaType(
            "send the body as JSON with Content-Type: application/json", "unsupported_media_type"
        )
    body = request.get_json(silent=True)
    if body is None:
        raise BadRequest("the body is not valid JSON", "invalid_json")
    if not isinstance(body, dict):
        raise BadRequest(f"the body must be a JSON object, got {_json_type(body)}", "invalid_json")
    return body


def parse_openai_request(body: dict[str, Any], model_names: list[str], limits: RequestLimits) -> OpenAIImageRequest:
    """Read an OpenAI Images body; `quality`, `style` and `user` are checked, then ignored."""
    fields = _by_name(generation_fields(limits) + OPENAI_FIELDS)
    for name in ("response_format", "quality", "style", "user"):
        read_field(body, fields[name])
    model = read_field(body, fields["model"])
    if model is not None and model not in model_names and OPENAI_MODEL_ALIASES.match(model):
        model = None
    generation = _generation_request(body, fields, _check_model(model, model_names), allow_width_height=False)
    return OpenAIImageRequest(
        generation=generation, response_format=read_field(body, fields["response_format"]) or "url"
    )


def parse_job_request(body: dict[str, Any], model_names: list[str], limits: RequestLimits) -> GenerationRequest:
    """Read a `POST /api/jobs` body: the generation fields, with `size` or `width`/`height`."""
    fields = _by_name(job_fields(limits))
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise BadRequest(
            f"unknown field {unknown[0]!r}; known fields: {', '.join(fields)}", "unknown_field", unknown[0]
        )
    if "size" in body and ("width" in body or "height" in body):
        raise BadRequest("give either size or width and height, not both", "invalid_value", "size")
    model = _check_model(read_field(body, fields["model"]), model_names)
    for field in JOB_EDIT_FIELDS:  # the picture to change is applied later (edit_requests.py); checked here
        value = read_field(body, field)
        if value is not None and field.maximum is not None and not (field.minimum or 0) <= value <= field.maximum:
            raise BadRequest(
                f"{field.name} must be between {field.minimum or 0:g} and {field.maximum:g}, got {value}",
                "invalid_value",
                field.name,
            )
    return _generation_request(body, fields, model, allow_width_height=True)


def _check_model(model: str | None, model_names: list[str]) -> str | None:
    """Only models this server names may be asked for (never a path)."""
    if model is not None and model not in model_names:
        raise BadRequest(
            f"unknown model {model!r}; this server has {', '.join(model_names)}", "model_not_found", "model"
        )
    return model


def _generation_request(
    body: dict[str, Any], fields: dict[str, BodyField], model: str | None, allow_width_height: bool
) -> GenerationRequest:
    """Build the engine's request and run its validation, naming the body's field on failure."""
    if body.get("prompt") is None:
        raise BadRequest("prompt is required", "missing_field", "prompt")
    width, height = _size(read_field(body, fields["size"]))
    if allow_width_height and width is None:
        width, height = read_field(body, fields["width"]), read_field(body, fields["height"])
    n = read_field(body, fields["n"])
    request = GenerationRequest(
        prompt=read_field(body, fields["prompt"]),
        negative_prompt=read_field(body, fields["negative_prompt"]) or "",
        n=1 if n is None else n,
        width=width,
        height=height,
        steps=read_field(body, fields["steps"]),
        guidance_scale=read_field(body, fields["guidance_scale"]),
        seed=read_field(body, fields["seed"]),
        model=model,
        scheduler=read_field(body, fields["scheduler"]),
    )
    try:
        request.validate()
    except InvalidRequest as error:
        raise server_error_for(error, size_param(body)) from None
    # The engine's own limits passed; now this server's, which may be lower.
    for field, value in ((fields["n"], request.n), (fields["steps"], request.steps)):
        if value is not None and field.maximum is not None and value > field.maximum:
            raise BadRequest(
                f"{field.name} must be at most {field.maximum:g} on this server, got {value}",
                "invalid_value",
                field.name,
            )
    return request


def size_param(body: dict[str, Any]) -> dict[str, str]:
    """How engine field names map to this body's: width/height came from `size` unless given on their own."""
    return {} if "width" in body or "height" in body else {"width": "size", "height": "size"}


def _size(size: str | None) -> tuple[int | None, int | None]:
    """ "256x448" -> (256, 448); "auto" or nothing -> the model's default."""
    if size is None or size == "auto":
        return None, None
    match = _SIZE.match(size)
    if match is None:
        raise BadRequest(
            f"size must look like 256x256 (width x height) or be 'auto', got {size!r}", "invalid_value", "size"
        )
    return int(match[1]), int(match[2])


def _by_name(fields: tuple[BodyField, ...]) -> dict[str, BodyField]:
    return {field.name: field for field in fields}


def read_field(body: dict[str, Any], field: BodyField) -> Any:
    """`body[field.name]` if present and not null, checked to be of the field's type (an int is a fine float)
    and, for a field with choices, one of them. Ranges are the engine's to check (`GenerationRequest.validate`)."""
    value = body.get(field.name)
    if value is None:
        return None
    accepted = (int, float) if field.kind is float else field.kind
    if isinstance(value, bool) or not isinstance(value, accepted):
        raise BadRequest(
            f"{field.name} must be {_KIND_NAMES[field.kind]}, got {_json_type(value)}", "invalid_type", field.name
        )
    if field.choices and value not in field.choices:
        raise BadRequest(
            f"{field.name} must be one of {', '.join(field.choices)}, got {value!r}", "invalid_value", field.name
        )
    return value


_KIND_NAMES = {str: "a string", int: "an integer", float: "a number"}


def _json_type(value: object) -> str:
    names = {
        bool: "a boolean",
        str: "a string",
        int: "an integer",
        float: "a number",
        list: "an array",
        dict: "an object",
        type(None): "null",
    }
    return names.get(type(value), type(value).__name__)
