"""`engine_defaults.json`: what a model folder says about itself (sizes, steps, guidance, scheduler, words).

The trainer writes it and the engine reads it; this one typed file format is their whole contract. Every
field is optional: what a folder leaves out, the engine infers from the pipeline.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from engine.errors import ModelNotFound

#: The file's name inside a model folder.
ENGINE_DEFAULTS_FILE = "engine_defaults.json"

#: Few-step presets, in the same format, for distilled models whose pipeline defaults (50 steps, guidance 7.5)
#: would be slow and wrong: SD-Turbo and SDXL-Turbo (1-4 steps, guidance 0), FLUX.1-schnell (4 steps).
PRESETS_DIR = Path(__file__).parent / "presets"


@dataclass(frozen=True)
class ModelDefaults:
    """A model folder's own defaults and limits; None means "infer it from the pipeline"."""

    default_width: int | None = None
    default_height: int | None = None
    min_size: int | None = None
    max_size: int | None = None
    #: Width and height must be multiples of this.
    size_multiple: int | None = None
    default_steps: int | None = None
    default_guidance_scale: float | None = None
    default_scheduler: str | None = None
    #: The only words the model reads; a prompt's other words are left out (`engine/prompt_words.py`).
    known_words: tuple[str, ...] | None = None

    @classmethod
    def read(cls, folder: Path) -> ModelDefaults:
        """The folder's defaults, or all None when it has no such file; a malformed file names its problem."""
        path = Path(folder) / ENGINE_DEFAULTS_FILE
        return cls.from_file(path) if path.is_file() else cls()

    @classmethod
    def from_file(cls, path: Path) -> ModelDefaults:
        """The defaults in the file at `path`; a malformed file names its problem."""
        try:
            data = json.loads(path.read_text())
        except ValueError as error:
            raise ModelNotFound(f"{path} is not valid JSON: {error}") from None
        if not isinstance(data, dict):
            raise ModelNotFound(f"{path} must hold a JSON object")
        known = {field.name for field in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ModelNotFound(f"{path}: unknown field {unknown[0]!r}; known fields: {', '.join(sorted(known))}")
        if data.get("known_words") is not None:
            data["known_words"] = tuple(data["known_words"])
        return cls(**data)

    @classmethod
    def preset_for(cls, location: str) -> ModelDefaults:
        """The few-step preset whose name ends `location` (a repo id such as `stabilityai/sd-turbo`, or a folder
        named after it), or all None. The model folder's own `engine_defaults.json` still wins."""
        name = Path(location.rstrip("/")).name.lower()
        for preset in sorted(PRESETS_DIR.glob("*.json")):
            if name == preset.stem or name.endswith("--" + preset.stem):  # the cache's models--org--name folders
                return cls.from_file(preset)
        return cls()

    def write(self, folder: Path) -> Path:
        """Write the fields that are set, in declaration order."""
        values: dict[str, Any] = {name: value for name, value in asdict(self).items() if value is not None}
        if "known_words" in values:
            values["known_words"] = list(values["known_words"])
        path = Path(folder) / ENGINE_DEFAULTS_FILE
        path.write_text(json.dumps(values, indent=2) + "\n")
        return path

    def overrides(self) -> dict[str, Any]:
        """The fields that are set, as keyword arguments for `ModelLimits`."""
        values: dict[str, Any] = {name: value for name, value in asdict(self).items() if value is not None}
        if "known_words" in values:
            values["known_words"] = frozenset(values["known_words"])
        return values
