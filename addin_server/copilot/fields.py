"""The fields of a Copilot image request, declared once: the route reads bodies with them and the plugin's
OpenAPI file describes them, with descriptions written for the orchestrator (the model that fills them in)."""

from __future__ import annotations

from addin_server.images.presets import MAX_VARIATIONS, SHAPES, STYLE_PRESETS
from addin_server.images.request_fields import BodyField
from engine.api import MAX_PROMPT_CHARS

DEFAULT_SHAPE = "square"
DEFAULT_STYLE = "none"

COPILOT_FIELDS = (
    BodyField(
        "prompt",
        str,
        "What the picture shows, as a short visual description: the subject, its colours, where things are, the "
        "background. Leave the style out (use `style`). Written in English.",
        min_length=1,
        max_length=MAX_PROMPT_CHARS,
        pattern="\\S",
    ),
    BodyField(
        "shape",
        str,
        "The picture's shape: `wide` (16:9, slides and banners), `standard` (4:3), `square` (the default, chat "
        "and icons) or `tall` (9:16, phone screens). Use `wide` when the user says wider or landscape.",
        choices=tuple(SHAPES),
    ),
    BodyField(
        "style",
        str,
        "A style preset: " + ", ".join(f"`{name}`" for name in STYLE_PRESETS) + ". `none` (the default) adds "
        "nothing; pick the one the user names (watercolour, flat, sketch, photo, illustration).",
        choices=tuple(STYLE_PRESETS),
    ),
    BodyField(
        "n",
        int,
        f"How many variations to draw, 1 to {MAX_VARIATIONS} (default 1). Use more when the user wants to choose.",
        minimum=1,
        maximum=MAX_VARIATIONS,
    ),
)
FIELDS = {field.name: field for field in COPILOT_FIELDS}
