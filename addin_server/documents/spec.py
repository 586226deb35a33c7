"""Document specs: a deck or a report described in JSON or YAML, checked with every problem listed by path.

Deck:   {"title", "subtitle", "style", "seed", "seed_policy", "slides": [{"title", "bullets", "image",
         "layout": image_right|image_left|background|image_only|text, "notes"}]}
Report: {"kind": "report", "title", "style", "seed", "seed_policy", "blocks": [{"heading", "level"} |
         {"paragraph"} | {"image", "caption"}]}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import yaml

from addin_server.documents.errors import DocumentError
from addin_server.documents.images import SEED_POLICIES
from engine.api import MAX_SEED, is_valid_seed

LAYOUTS = ("image_right", "image_left", "background", "image_only", "text")
MAX_SLIDES = 200
MAX_BLOCKS = 2000
#: Longest title, bullet, prompt or paragraph.
MAX_TEXT_CHARS = 10_000
MAX_HEADING_LEVEL = 9
MAX_BULLETS = 50


@dataclass(frozen=True)
class SlideSpec:
    title: str = ""
    bullets: tuple[str, ...] = ()
    image: str = ""
    layout: str = "text"
    notes: str = ""


@dataclass(frozen=True)
class BlockSpec:
    heading: str = ""
    level: int = 1
    paragraph: str = ""
    image: str = ""
    caption: str = ""


@dataclass(frozen=True)
class DocumentSpec:
    """A whole deck (`kind` "deck") or report ("report"); `style` and `seed` make its images a set."""

    kind: str
    title: str = ""
    subtitle: str = ""
    style: str = ""
    seed: int | None = None
    seed_policy: str = "same"
    slides: tuple[SlideSpec, ...] = ()
    blocks: tuple[BlockSpec, ...] = field(default_factory=tuple)

    @property
    def extension(self) -> str:
        return "pptx" if self.kind == "deck" else "docx"


def load_spec_text(text: str) -> dict[str, Any]:
    """JSON or YAML text to a mapping (YAML's safe loader: no tags, no objects, and no anchors or aliases,
    which would let a small spec expand to terabytes)."""
    try:
        data = json.loads(text)
    except ValueError:
        try:
            _refuse_anchors(text)
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise DocumentError(f"the spec is neither JSON nor YAML: {error}", code="invalid_spec") from None
    if not isinstance(data, dict):
        raise DocumentError("the spec must be a mapping (an object) at the top", code="invalid_spec")
    return data


def _refuse_anchors(text: str) -> None:
    """Read the YAML's tokens (nothing is built or expanded) and refuse any anchor (&name) or alias (*name)."""
    for token in yaml.scan(text, Loader=yaml.SafeLoader):
        if isinstance(token, (yaml.AnchorToken, yaml.AliasToken)):
            line = token.start_mark.line + 1
            raise DocumentError(
                f"the spec uses a YAML anchor or alias at line {line} (&name or *name); write the text out instead",
                code="invalid_spec",
            )


def parse_spec(data: dict[str, Any], kind: str | None = None) -> DocumentSpec:
    """Check a spec; `kind` (from the output's extension) wins over the spec's own `kind`."""
    checker = _Checker()
    kind = kind or data.get("kind") or ("report" if "blocks" in data else "deck")
    if kind not in ("deck", "report"):
        checker.problem("kind", "must be deck or report")
    known = {"kind", "title", "subtitle", "style", "seed", "seed_policy", "slides" if kind == "deck" else "blocks"}
    checker.unknown(data, known, "")
    common: dict[str, Any] = dict(
        title=checker.text(data, "title", ""),
        subtitle=checker.text(data, "subtitle", ""),
        style=checker.text(data, "style", ""),
        seed=checker.seed(data, "seed", ""),
        seed_policy=checker.choice(data, "seed_policy", SEED_POLICIES, "same", ""),
    )
    if kind == "deck":
        slides = tuple(
            checker.slide(item, f"slides[{index}]")
            for index, item in enumerate(checker.items(data, "slides", MAX_SLIDES))
        )
        spec = DocumentSpec(kind="deck", slides=slides, **common)
        if not slides and not common["title"]:
            checker.problem("slides", "a deck needs a title or at least one slide")
    else:
        blocks = tuple(
            checker.block(item, f"blocks[{index}]")
            for index, item in enumerate(checker.items(data, "blocks", MAX_BLOCKS))
        )
        spec = DocumentSpec(kind="report", blocks=blocks, **common)
    if checker.problems:
        raise DocumentError("the spec is not valid", checker.problems, code="invalid_spec")
    return spec


class _Checker:
    """Collects problems instead of stopping at the first, so a user fixes a spec in one go."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def unknown(self, data: dict, known: set[str], prefix: str) -> None:
        for key in sorted(set(data) - known):
            self.problem(f"{prefix}{key}", f"unknown field (known: {', '.join(sorted(known))})")

    def text(self, data: dict, key: str, prefix: str) -> str:
        value = data.get(key, "")
        if not isinstance(value, str):
            self.problem(prefix + key, "must be text")
            return ""
        if len(value) > MAX_TEXT_CHARS:
            self.problem(prefix + key, f"at most {MAX_TEXT_CHARS} characters, got {len(value)}")
            return value[:MAX_TEXT_CHARS]
        return value

    def seed(self, data: dict, key: str, prefix: str) -> int | None:
        value = data.get(key)
        if value is not None and not is_valid_seed(value):
            self.problem(prefix + key, f"must be a whole number 0-{MAX_SEED}")
            return None
        return value

    def choice(self, data: dict, key: str, choices: tuple[str, ...], default: str, prefix: str) -> str:
        value = data.get(key, default)
        if value not in choices:
            self.problem(prefix + key, f"must be one of {', '.join(choices)}")
            return default
        return value

    def items(self, data: dict, key: str, most: int) -> list:
        value = data.get(key, [])
        if not isinstance(value, list):
            self.problem(key, "must be a list")
            return []
        if len(value) > most:
            self.problem(key, f"at most {most} entries, got {len(value)}")
            return value[:most]
        return value

    def slide(self, item: Any, path: str) -> SlideSpec:
        if not isinstance(item, dict):
            self.problem(path, "must be an object")
            return SlideSpec()
        self.unknown(item, {"title", "bullets", "image", "layout", "notes"}, path + ".")
        bullets = item.get("bullets", [])
        if not isinstance(bullets, list) or not all(isinstance(bullet, str) for bullet in bullets):
            self.problem(path + ".bullets", "must be a list of text")
            bullets = []
        if len(bullets) > MAX_BULLETS:
            self.problem(path + ".bullets", f"at most {MAX_BULLETS} entries, got {len(bullets)}")
            bullets = bullets[:MAX_BULLETS]
        for number, bullet in enumerate(bullets):
            if len(bullet) > MAX_TEXT_CHARS:
                self.problem(f"{path}.bullets[{number}]", f"at most {MAX_TEXT_CHARS} characters, got {len(bullet)}")
        image = self.text(item, "image", path + ".")
        layout = self.choice(item, "layout", LAYOUTS, "image_right" if image else "text", path + ".")
        if layout != "text" and not image.strip():
            self.problem(path + ".image", f"layout {layout} needs an image prompt")
        return SlideSpec(
            title=self.text(item, "title", path + "."),
            bullets=tuple(bullets),
            image=image,
            layout=layout,
            notes=self.text(item, "notes", path + "."),
        )

    def block(self, item: Any, path: str) -> BlockSpec:
        if not isinstance(item, dict):
            self.problem(path, "must be an object")
            return BlockSpec()
        self.unknown(item, {"heading", "level", "paragraph", "image", "caption"}, path + ".")
        kinds = [key for key in ("heading", "paragraph", "image") if key in item]
        if len(kinds) != 1:
            self.problem(path, "needs exactly one of heading, paragraph, image")
        level = item.get("level", 1)
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= MAX_HEADING_LEVEL:
            self.problem(path + ".level", f"must be 1-{MAX_HEADING_LEVEL}")
            level = 1
        image = self.text(item, "image", path + ".")
        if "image" in item and not image.strip():
            self.problem(path + ".image", "must be a non-empty prompt")
        return BlockSpec(
            heading=self.text(item, "heading", path + "."),
            level=level,
            paragraph=self.text(item, "paragraph", path + "."),
            image=image,
            caption=self.text(item, "caption", path + "."),
        )
