"""The fields of the image request bodies, declared once: `requests.py` reads and checks bodies with them, and
the OpenAPI document (`ops/openapi_schemas.py`) describes the bodies from them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from engine.api import (
    MAX_GUIDANCE,
    MAX_IMAGES_PER_REQUEST,
    MAX_PROMPT_CHARS,
    MAX_SEED,
    MAX_SIDE,
    MAX_STEPS,
    SIZE_MULTIPLE,
)

#: Model names OpenAI clients send by habit; they mean "this server's default model".
OPENAI_MODEL_ALIASES = re.compile(r"^(dall-e-[23]|gpt-image-.*)$")
SIZE_PATTERN = r"^(auto|[0-9]{1,5}x[0-9]{1,5})$"
_JSON_TYPES = {str: "string", int: "integer", float: "number"}


@dataclass(frozen=True)
class RequestLimits:
    """What this server lets one request ask for, on top of the engine's and the model's own limits."""

    max_images: int = MAX_IMAGES_PER_REQUEST
    max_steps: int = MAX_STEPS


@dataclass(frozen=True)
class BodyField:
    """One field of a JSON body: its JSON type, its bounds and what it means."""

    name: str
    #: str, int or float: a JSON string, integer or number (an integer is a fine number).
    kind: type
    description: str
    minimum: float | None = None
    maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    choices: tuple[str, ...] = ()

    def json_schema(self) -> dict[str, Any]:
        """The field as a JSON Schema (OpenAPI 3.1)."""
        schema: dict[str, Any] = {"type": _JSON_TYPES[self.kind]}
        for key, value in (
            ("minimum", self.minimum),
            ("maximum", self.maximum),
            ("minLength", self.min_length),
            ("maxLength", self.max_length),
            ("pattern", self.pattern),
        ):
            if value is not None:
                schema[key] = value
        if self.choices:
            schema["enum"] = list(self.choices)
        if self.description:
            schema["description"] = self.description
        return schema


def generation_fields(limits: RequestLimits) -> tuple[BodyField, ...]:
    """The fields both generation bodies share, with this server's limits, in the order errors list them."""
    return (
        BodyField("prompt", str, "What to draw", min_length=1, max_length=MAX_PROMPT_CHARS, pattern="\\S"),
        BodyField("negative_prompt", str, "What to avoid", max_length=MAX_PROMPT_CHARS),
        BodyField("n", int, "Number of images", minimum=1, maximum=limits.max_images),
        BodyField(
            "size", str, "WIDTHxHEIGHT within the model's limits, or auto for its native size", pattern=SIZE_PATTERN
        ),
        BodyField("steps", int, "Denoising steps", minimum=1, maximum=limits.max_steps),
        BodyField("guidance_scale", float, "", minimum=0, maximum=MAX_GUIDANCE),
        BodyField("seed", int, "Seed of the first image", minimum=0, maximum=MAX_SEED),
        BodyField("model", str, "A model served here"),
        BodyField("scheduler", str, "e.g. ddim, euler, euler_a, dpmpp_2m, unipc"),
    )


#: `POST /v1/images/generations` alone: how to answer, and OpenAI's fields this server ignores.
OPENAI_FIELDS = (
    BodyField("response_format", str, "", choices=("url", "b64_json")),
    BodyField("quality", str, "Accepted and ignored", choices=("standard", "hd", "low", "medium", "high", "auto")),
    BodyField("style", str, "Accepted and ignored", choices=("vivid", "natural")),
    BodyField("user", str, "Accepted and ignored; the caller is the signed-in user"),
)

#: `POST /api/jobs` alone: a size as two numbers.
JOB_SIZE_FIELDS = (
    BodyField("width", int, "", minimum=SIZE_MULTIPLE, maximum=MAX_SIDE),
    BodyField("height", int, "", minimum=SIZE_MULTIPLE, maximum=MAX_SIDE),
)


def job_fields(limits: RequestLimits) -> tuple[BodyField, ...]:
    """Every field `POST /api/jobs` takes; it refuses any other."""
    return generation_fields(limits) + JOB_SIZE_FIELDS + JOB_EDIT_FIELDS


#: Changing a picture: how far to move from it (multipart edits and the jobs body).
STRENGTH_FIELD = BodyField(
    "strength",
    float,
    "How far to move from the picture: 0 keeps it, 1 ignores it (default 0.6; 1 with a mask)",
    minimum=0,
    maximum=1,
)

#: `POST /api/jobs` alone: which picture to change, as one of the caller's own images or uploaded as base64.
JOB_EDIT_FIELDS = (
    BodyField("image_id", str, "Change this image of yours (from a job's images)"),
    BodyField("image", str, "Change this picture: a PNG, JPEG or WebP file, base64"),
    BodyField("mask", str, "A PNG the size of the picture, base64: its transparent pixels are repainted"),
    STRENGTH_FIELD,
)
