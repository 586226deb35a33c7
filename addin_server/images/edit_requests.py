"""Requests that change a picture, read in one place: OpenAI's multipart `images/edits` and `images/variations`,
and the jobs body's `image_id` / `image` / `mask` / `strength`. Each error names its field, and everything is
checked before the engine sees the request, so a refused one writes nothing.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from typing import Any

from PIL import Image
from werkzeug.datastructures import FileStorage, MultiDict

from addin_server.errors import BadRequest, NotFound, PayloadTooLarge
from addin_server.images.pictures import fit_for_edit, read_picture, repaint_mask, stored_prompt
from addin_server.images.request_fields import (
    OPENAI_FIELDS,
    STRENGTH_FIELD,
    BodyField,
    RequestLimits,
    generation_fields,
)
from addin_server.images.requests import OpenAIImageRequest, parse_openai_request, read_field
from addin_server.services import services
from engine.api import GenerationRequest

#: A variation keeps the picture's look and layout and redraws its details.
VARIATION_STRENGTH = 0.5
#: A variation of a picture that carries no prompt of ours.
VARIATION_PROMPT = "a picture"


def openai_edit(form: MultiDict, files: MultiDict, model_names: list[str], limits: RequestLimits) -> OpenAIImageRequest:
    """`POST /v1/images/edits`: `image` (and `mask`) files, `prompt`, and the generation fields as form values."""
    body = _typed_form(form, generation_fields(limits) + OPENAI_FIELDS + (STRENGTH_FIELD,))
    parsed = parse_openai_request(body, model_names, limits)
    picture = _uploaded(files, "image")
    mask = _uploaded(files, "mask", required=False) or None
    generation = with_picture(parsed.generation, picture, mask, read_field(body, STRENGTH_FIELD))
    return dataclasses.replace(parsed, generation=generation)


def openai_variation(
    form: MultiDict, files: MultiDict, model_names: list[str], limits: RequestLimits
) -> OpenAIImageRequest:
    """`POST /v1/images/variations`: `image`, `n`, `size`; the prompt is the picture's own if it carries one."""
    body = _typed_form(form, generation_fields(limits) + OPENAI_FIELDS)
    picture = _uploaded(files, "image")
    decoded = read_picture(picture, "image", services().config.server.max_upload_pixels)
    body["prompt"] = body.get("prompt") or stored_prompt(decoded) or VARIATION_PROMPT
    parsed = parse_openai_request(body, model_names, limits)
    generation = with_decoded_picture(parsed.generation, decoded, None, VARIATION_STRENGTH)
    return dataclasses.replace(parsed, generation=generation)


def job_edit(generation: GenerationRequest, body: dict[str, Any], owner: str) -> GenerationRequest:
    """The jobs body's picture fields applied to its generation (unchanged when it names no picture)."""
    image_id, uploaded = body.get("image_id"), body.get("image")
    strength = read_field(body, STRENGTH_FIELD)
    if image_id is None and uploaded is None:
        for name in ("mask", "strength"):
            if body.get(name) is not None:
                raise BadRequest(f"{name} needs a picture to change: give image_id or image", "missing_field", name)
        return generation
    if image_id is not None and uploaded is not None:
        raise BadRequest("give either image_id or image, not both", "invalid_value", "image")
    if image_id is not None:
        store = services().store
        image = store.image(str(image_id), owner) if isinstance(image_id, str) else None
        if image is None or not store.image_path(image).is_file():
            raise NotFound(f"no image {image_id!r}", "image_not_found")
        picture = store.image_path(image).read_bytes()
    else:
        picture = _base64(uploaded, "image")
    mask = _base64(body["mask"], "mask") if body.get("mask") is not None else None
    return with_picture(generation, picture, mask, strength)


def with_picture(
    generation: GenerationRequest, picture: bytes, mask: bytes | None, strength: float | None
) -> GenerationRequest:
    """The generation, changing `picture` (fitted to the model's size, or to the size asked for)."""
    if strength is not None and not 0 <= strength <= 1:
        raise BadRequest(f"strength must be between 0 and 1, got {strength}", "invalid_value", "strength")
    max_pixels = services().config.server.max_upload_pixels
    decoded = read_picture(picture, "image", max_pixels)
    repaint = repaint_mask(read_picture(mask, "mask", max_pixels), decoded) if mask is not None else None
    return with_decoded_picture(generation, decoded, repaint, strength)


def with_decoded_picture(
    generation: GenerationRequest, decoded: Image.Image, repaint: Image.Image | None, strength: float | None
) -> GenerationRequest:
    """The generation, changing an already decoded picture (and repaint mask), fitted to the size it will be."""
    limits = services().engine.limits(generation.model)
    size = (generation.width, generation.height) if generation.width and generation.height else None
    fitted = fit_for_edit(decoded, repaint, limits, size)
    return dataclasses.replace(
        generation,
        width=fitted.width,
        height=fitted.height,
        source_image=fitted.source,
        mask_image=fitted.mask,
        strength=strength,
    )


def _uploaded(files: MultiDict, field: str, required: bool = True) -> bytes:
    """The bytes of the uploaded file `field` (OpenAI clients may send `image[]`)."""
    upload: FileStorage | None = files.get(field) or files.get(f"{field}[]")
    if upload is None:
        if required:
            raise BadRequest(f"{field} is required: upload it as a file (multipart/form-data)", "missing_field", field)
        return b""
    limit = services().config.server.max_upload_bytes
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise _too_large(field, limit)
    return data


def _too_large(field: str, limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"{field} is larger than {limit:,} bytes (IMAGES_MAX_UPLOAD_BYTES)", "upload_too_large", param=field
    )


def _base64(value: object, field: str) -> bytes:
    if not isinstance(value, str):
        raise BadRequest(f"{field} must be a base64 string", "invalid_type", field)
    try:
        data = base64.b64decode(value.split(",", 1)[1] if value.startswith("data:") else value, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(f"{field} is not valid base64", "invalid_value", field) from None
    limit = services().config.server.max_upload_bytes
    if len(data) > limit:
        raise _too_large(field, limit)
    return data


def _typed_form(form: MultiDict, fields: tuple[BodyField, ...]) -> dict[str, Any]:
    """Form values as the JSON types their fields declare ("2" -> 2 for an integer field)."""
    body: dict[str, Any] = {}
    for field in fields:
        raw = form.get(field.name)
        if raw is None or raw == "":
            continue
        if field.kind is str:
            body[field.name] = raw
            continue
        try:
            body[field.name] = int(raw) if field.kind is int else float(raw)
        except ValueError:
            expected = "an integer" if field.kind is int else "a number"
            raise BadRequest(f"{field.name} must be {expected}, got {raw!r}", "invalid_type", field.name) from None
    return body
