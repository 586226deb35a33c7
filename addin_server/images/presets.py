"""The choices every surface offers (task pane, Teams dialog, Copilot): shapes, style presets and how many
variations at once, so a picture asked for in one looks the same as in another."""

from __future__ import annotations

import functools

from addin_server.documents.sizing import generation_size
from engine.api import ModelLimits

#: Most variations offered at once (a task pane or a Teams dialog shows four side by side).
MAX_VARIATIONS = 4
#: The shapes offered, as width:height; each maps to the model's nearest size.
SHAPES = {"wide": (16, 9), "standard": (4, 3), "square": (1, 1), "tall": (9, 16)}
#: Style name -> the words added to the prompt.
STYLE_PRESETS = {
    "none": "",
    "photo": "photographic, natural light",
    "illustration": "clean illustration",
    "flat": "flat colours, simple shapes",
    "watercolour": "watercolour painting",
    "sketch": "pencil sketch",
}


@functools.lru_cache(maxsize=32)
def shape_sizes(limits: ModelLimits) -> dict[str, str]:
    """The model size nearest each shape, once per model: the search is too slow to run per page."""
    return {name: "{}x{}".format(*generation_size(w, h, limits)) for name, (w, h) in SHAPES.items()}


def styled_prompt(prompt: str, style: str) -> str:
    """The prompt with the style's words added, as the task pane sends it."""
    words = STYLE_PRESETS[style]
    return f"{prompt}, {words}" if words else prompt
