"""Image markers in document text: `{{image: a red circle | seed=7 | style=flat pastel | alt=Logo}}`.

A text frame, table cell or paragraph whose whole text is one marker becomes one generated picture.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from addin_server.documents.errors import DocumentError
from engine.api import MAX_SEED

_MARKER = re.compile(r"^\s*\{\{\s*image\s*:(?P<body>.*)\}\}\s*$", re.IGNORECASE | re.DOTALL)
OPTIONS = ("seed", "style", "alt", "negative", "caption")


@dataclass(frozen=True)
class ImageMarker:
    """What one marker asks for; `where` says where it was found, for error messages."""

    prompt: str
    where: str
    seed: int | None = None
    style: str = ""
    alt_text: str = ""
    negative_prompt: str = ""
    caption: str = ""

    @property
    def full_prompt(self) -> str:
        return f"{self.prompt}, {self.style}" if self.style else self.prompt


def parse_marker(text: str, where: str) -> ImageMarker | None:
    """The marker in `text`, None if the text is not a marker; a malformed marker raises `DocumentError`."""
    match = _MARKER.match(text)
    if match is None:
        return None
    prompt, *options = [part.strip() for part in match["body"].split("|")]
    if not prompt:
        raise DocumentError(
            "an image marker has no prompt", [f"{where}: write {{{{image: what to draw}}}}"], code="empty_marker"
        )
    values: dict[str, str] = {}
    for option in options:
        name, sep, value = option.partition("=")
        name = name.strip().lower()
        if not sep or name not in OPTIONS:
            raise DocumentError(
                "an image marker has an unknown option",
                [f"{where}: {option!r} (options: {', '.join(OPTIONS)}, as name=value)"],
                code="invalid_marker",
            )
        values[name] = value.strip()
    seed = None
    if "seed" in values:
        if not values["seed"].isdigit() or int(values["seed"]) > MAX_SEED:
            raise DocumentError(
                "an image marker has a bad seed", [f"{where}: seed must be 0-{MAX_SEED}"], code="invalid_marker"
            )
        seed = int(values["seed"])
    return ImageMarker(
        prompt=prompt,
        where=where,
        seed=seed,
        style=values.get("style", ""),
        alt_text=values.get("alt", ""),
        negative_prompt=values.get("negative", ""),
        caption=values.get("caption", ""),
    )
