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
from addin_server.services import services
from engine.api import MAX_IMAGES_PER_REQUEST, MAX_STEPS, GenerationRequest
from engine.errors import InvalidRequest

#: Model names OpenAI clients send by habit; they mean "this server's default model".
OPENAI_MODEL_ALIASES = re.compile(r"^(dall-e-[23]|gpt-image-.*)$")
RESPONSE_FORMATS = ("url", "b64_json")
QUALITIES = ("standard", "hd", "low", "medium", "high", "auto")
STYLES = ("vivid", "natural")
_SIZE = re.compile(r"^(\d{1,5})x(\d{1,5})$")

GENERATION_FIELDS = ("prompt", "negative_prompt", "n", "size", "steps", "guidance_scale", "seed", "model", "scheduler")
JOB_FIELDS = GENERATION_FIELDS + ("width", "height")


@dataclass(frozen=True)
class RequestLimits:
    """What this server lets one request ask for, on top of the engine's and the model's own limits."""

    max_images: int = MAX_IMAGES_PER_REQUEST
    max_steps: int = MAX_STEPS


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
        raise UnsupportedMediaType("send the body as JSON with Content-Type: application/json", "unsupported_media_type")
    body = request.get_json(silent=True)
    if body is None:
        raise BadRequest("the body is not valid JSON", "invalid_json")
    if not isinstance(body, dict):
        raise BadRequest(f"the body must be a JSON object, got {_json_type(body)}", "invalid_json")
    return body


def parse_openai_request(body: dict[str, Any], model_names: list[str], limits: RequestLimits) -> OpenAIImageRequest:
    """Read an OpenAI Images body; `quality`, `style` and `user` are checked, then ignored."""
    response_format = _optional(body, "response_format", str) or "url"
    _check_choice("response_format", response_format, RESPONSE_FORMATS)
    for name, choices in (("quality", QUALITIES), ("style", STYLES)):
        value = _optional(body, name, str)
        if value is not None:
            _check_choice(name, value, choices)
    _optional(body, "user", str)
    model = _optional(body, "model", str)
    if model is not None and model not in model_names and OPENAI_MODEL_ALIASES.match(model):
        model = None
    generation = _generation_request(body, _check_model(model, model_names), limits, allow_width_height=False)
    return OpenAIImageRequest(generation=generation, response_format=response_format)


def parse_job_request(body: dict[str, Any], model_names: list[str], limits: RequestLimits) -> GenerationRequest:
    """Read a `POST /api/jobs` body: the generation fields, with `size` or `width`/`height`."""
    unknown = sorted(set(body) - set(JOB_FIELDS))
    if unknown:
        raise BadRequest(f"unknown field {unknown[0]!r}; known fields: {', '.join(JOB_FIELDS)}",
                       "unknown_field", unknown[0])
    if "size" in body and ("width" in body or "height" in body):
        raise BadRequest("give either size or width and height, not both", "invalid_value", "size")
    model = _check_model(_optional(body, "model", str), model_names)
    return _generation_request(body, model, limits, allow_width_height=True)


def _check_model(model: str | None, model_names: list[str]) -> str | None:
    """Only models this server names may be asked for (never a path)."""
    if model is not None and model not in model_names:
        raise BadRequest(f"unknown model {model!r}; this server has {', '.join(model_names)}",
                       "model_not_found", "model")
    return model


def _generation_request(
    body: dict[str, Any], model: str | None, limits: RequestLimits, allow_width_height: bool
) -> GenerationRequest:
    """Build the engine's request and run its validation, naming the body's field on failure."""
    if body.get("prompt") is None:
        raise BadRequest("prompt is required", "missing_field", "prompt")
    width, height = _size(_optional(body, "size", str))
    if allow_width_height and width is None:
        width, height = _optional(body, "width", int), _optional(body, "height", int)
    n = _optional(body, "n", int)
    request = GenerationRequest(
        prompt=_optional(body, "prompt", str),
        negative_prompt=_optional(body, "negative_prompt", str) or "",
        n=1 if n is None else n,
        width=width,
        height=height,
        steps=_optional(body, "steps", int),
        guidance_scale=_optional(body, "guidance_scale", float),
        seed=_optional(body, "seed", int),
        model=model,
        scheduler=_optional(body, "scheduler", str),
    )
    try:
        request.validate()
    except InvalidRequest as error:
        raise server_error_for(error, size_param(body)) from None
    for name, value, most in (("n", request.n, limits.max_images), ("steps", request.steps, limits.max_steps)):
        if value is not None and value > most:
            raise BadRequest(f"{name} must be at most {most} on this server, got {value}", "invalid_value", name)
    return request


def size_param(body: dict[str, Any]) -> dict[str, str]:
    """How engine field names map to this body's: width/height came from `size` unless given on their own."""
    return {} if "width" in body or "height" in body else {"width": "size", "height": "size"}


def _size(size: str | None) -> tuple[int | None, int | None]:
    """"256x448" -> (256, 448); "auto" or nothing -> the model's default."""
    if size is None or size == "auto":
        return None, None
    match = _SIZE.match(size)
    if match is None:
        raise BadRequest(f"size must look like 256x256 (width x height) or be 'auto', got {size!r}",
                       "invalid_value", "size")
    return int(match[1]), int(match[2])


def _optional(body: dict[str, Any], name: str, kind: type) -> Any:
    """`body[name]` if present and not null, checked to be of `kind` (an int is a fine float)."""
    value = body.get(name)
    if value is None:
        return None
    accepted = (int, float) if kind is float else kind
    if isinstance(value, bool) or not isinstance(value, accepted):
        raise BadRequest(f"{name} must be {_KIND_NAMES[kind]}, got {_json_type(value)}", "invalid_type", name)
    return value


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise BadRequest(f"{name} must be one of {', '.join(choices)}, got {value!r}", "invalid_value", name)


_KIND_NAMES = {str: "a string", int: "an integer", float: "a number"}


def _json_type(value: object) -> str:
    names = {bool: "a boolean", str: "a string", int: "an integer", float: "a number", list: "an array",
             dict: "an object", type(None): "null"}
    return names.get(type(value), type(value).__name__)
