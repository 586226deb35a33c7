"""Model sources, by name: a diffusers folder, a repo id already in the local Hugging Face cache, or a single
`.safetensors` checkpoint with a local config folder. No torch here: the web tier reads names and sources
without loading anything.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from engine.errors import ModelNotFound

EMBEDDED_MODEL_DIR = Path(str(files("engine") / "embedded"))
EMBEDDED_MODEL_NAME = "embedded"

_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_SINGLE_FILE_SUFFIXES = (".safetensors", ".ckpt")


@dataclass(frozen=True)
class ModelSource:
    """Where one named model lives: a folder, a Hugging Face repo id, or a single checkpoint file."""

    name: str
    location: str
    #: For a single checkpoint: a local diffusers folder holding the pipeline's configs (and tokenizers).
    config: str | None = None

    @property
    def kind(self) -> str:
        if self.location.endswith(_SINGLE_FILE_SUFFIXES):
            return "single_file"
        if _REPO_ID.match(self.location) and not Path(self.location).exists():
            return "hf_cache"
        return "folder"

    @classmethod
    def parse(cls, name: str, spec: str) -> ModelSource:
        """Read `PATH`, `ORG/REPO` or `FILE.safetensors#config=DIR` as a source."""
        location, _, options = spec.strip().partition("#")
        config = None
        if options:
            key, _, value = options.partition("=")
            if key.strip() != "config" or not value.strip():
                raise ModelNotFound(f"model {name!r}: cannot read {spec!r}; expected FILE.safetensors#config=DIR")
            config = os.path.expanduser(value.strip())
        if not location.strip():
            raise ModelNotFound(f"model {name!r}: empty location")
        return cls(name=name, location=os.path.expanduser(location.strip()), config=config)


class ModelRegistry:
    """Maps model names to sources; one of them is the default."""

    def __init__(self, sources: dict[str, ModelSource], default: str) -> None:
        if default not in sources:
            raise ModelNotFound(f"default model {default!r} is not among {sorted(sources)}")
        self.sources = sources
        self.default = default

    @classmethod
    def from_settings(cls, models: str = "", default: str = "") -> ModelRegistry:
        """Build from `ENGINE_MODELS` ("name=source,name=source") and `ENGINE_MODEL` (a name or a source).

        With neither set, the one model is the embedded default model.
        """
        sources: dict[str, ModelSource] = {}
        for entry in filter(None, (part.strip() for part in models.split(","))):
            name, sep, spec = entry.partition("=")
            if not sep or not name.strip():
                raise ModelNotFound(f"ENGINE_MODELS entry {entry!r} is not NAME=SOURCE")
            sources[name.strip()] = ModelSource.parse(name.strip(), spec)
        default = default.strip()
        if not default:
            default = next(iter(sources), EMBEDDED_MODEL_NAME)
        if default not in sources:
            if default == EMBEDDED_MODEL_NAME:
                sources[default] = ModelSource(EMBEDDED_MODEL_NAME, str(EMBEDDED_MODEL_DIR))
            else:
                source = ModelSource.parse(_name_for(default), default)
                sources.setdefault(source.name, source)
                default = source.name
        sources.setdefault(EMBEDDED_MODEL_NAME, ModelSource(EMBEDDED_MODEL_NAME, str(EMBEDDED_MODEL_DIR)))
        # Keep the default first so listings show it first.
        ordered = {default: sources[default], **{k: v for k, v in sources.items() if k != default}}
        return cls(ordered, default)

    def names(self) -> list[str]:
        return list(self.sources)

    def get(self, name: str | None) -> ModelSource:
        """The source for `name` (None: the default); raises `ModelNotFound` for an unknown name."""
        key = name or self.default
        if key not in self.sources:
            raise ModelNotFound(f"unknown model {key!r}; this server has {', '.join(self.sources)}")
        return self.sources[key]

    def add_path(self, location: str) -> ModelSource:
        """Register a path or repo id given directly (the CLI's --model PATH) under a derived name."""
        source = ModelSource.parse(_name_for(location), location)
        taken = self.sources.get(source.name)
        if taken is not None and taken.location != source.location:
            source = ModelSource.parse(location, location)  # the stem is another model's name: use the path
        self.sources.setdefault(source.name, source)
        return self.sources[source.name]


def _name_for(location: str) -> str:
    location = location.partition("#")[0].rstrip("/")
    if _REPO_ID.match(location) and not Path(location).exists():
        return location
    return Path(location).stem or location
