"""Fill an existing PowerPoint or Word file: its image markers, plus explicit targets given as options.

1. check the package (kind, encryption, macros, zip bomb, XML entities)
2. open it and find where pictures go (markers, then targets)
3. choose each picture's generation size from its box and the model's limits
4. generate all pictures together (they batch), reporting progress
5. place them (cropped to fill in PowerPoint, at text width in Word) and save to new bytes
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import docx
import pptx
from docx.oxml.ns import qn
from pptx.util import Inches

from addin_server.documents import fast_zip, presentation, wordprocessing
from addin_server.documents.errors import DocumentError
from addin_server.documents.images import ImageMaker, ImageOrder
from addin_server.documents.markers import ImageMarker
from addin_server.documents.package_guard import check_package
from addin_server.documents.restyle import plan_restyle
from addin_server.documents.sizing import generation_size
from engine.api import MAX_SEED, is_valid_seed

CONTENT_TYPES = {
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
TARGET_KEYS = {
    "prompt",
    "alt",
    "seed",
    "slide",
    "left",
    "top",
    "width",
    "height",
    "placeholder",
    "background",
    "new_slide",
    "after_paragraph",
    "at_end",
    "caption",
}


@dataclass(frozen=True)
class FillOptions:
    """Explicit targets (besides the file's own markers) and the style shared by every picture."""

    targets: list[dict[str, Any]] = field(default_factory=list)
    style: str = ""
    #: Redraw the file's own pictures in this style (a preset name or a phrase) instead of filling markers.
    restyle: str = ""
    #: How far a restyled picture moves from the original (default 0.5).
    strength: float | None = None
    #: Which pictures to restyle, 1-based in document order (None: all).
    pictures: list[int] | None = None


@dataclass(frozen=True)
class FilledDocument:
    kind: str
    data: bytes
    pictures: int

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.kind]


@dataclass
class DocumentPlan:
    """A document opened and laid out, waiting for its pictures: everything that can fail on bad input has
    been checked by the time a plan exists, so a server can answer 4xx before it starts generating."""

    kind: str
    orders: list[ImageOrder]
    place: Callable[[list], bytes]
    #: What was left alone, and why (a linked picture, say), for the person who asked.
    notes: list[str] = field(default_factory=list)

    def run(
        self,
        maker: ImageMaker,
        on_progress: Callable[[int, int], None] = lambda done, total: None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> FilledDocument:
        pictures = maker.generate(self.orders, on_progress, cancelled)
        return FilledDocument(self.kind, self.place(pictures), len(pictures))


def parse_fill_options(options: dict[str, Any]) -> FillOptions:
    """Check the options JSON; every problem is listed with its path."""
    problems = []
    known = ("targets", "style", "restyle", "strength", "pictures", "seed", "seed_policy", "model")
    problems += [f"{name}: unknown option (known: {', '.join(known)})" for name in sorted(set(options) - set(known))]
    targets = options.get("targets", [])
    if not isinstance(targets, list):
        problems.append("targets: must be a list")
        targets = []
    for index, target in enumerate(targets):
        path = f"targets[{index}]"
        if not isinstance(target, dict):
            problems.append(f"{path}: must be an object")
            continue
        problems += [f"{path}.{key}: unknown field" for key in sorted(set(target) - TARGET_KEYS)]
        if not isinstance(target.get("prompt"), str) or not target["prompt"].strip():
            problems.append(f"{path}.prompt: required, a non-empty string")
        for key in ("left", "top", "width", "height"):
            if key in target and (
                not isinstance(target[key], (int, float))
                or isinstance(target[key], bool)
                or target[key] < 0
                or (key in ("width", "height") and target[key] == 0)
            ):
                problems.append(f"{path}.{key}: must be a positive number of inches")
        for key in ("slide", "after_paragraph"):
            if key in target and (not isinstance(target[key], int) or isinstance(target[key], bool) or target[key] < 1):
                problems.append(f"{path}.{key}: must be a number from 1")
        if "seed" in target and not is_valid_seed(target["seed"]):
            problems.append(f"{path}.seed: must be 0-{MAX_SEED}")
    style = options.get("style", "")
    if not isinstance(style, str):
        problems.append("style: must be a string")
    problems += _restyle_problems(options)
    if problems:
        raise DocumentError("the fill options are not valid", problems, code="invalid_options")
    return FillOptions(
        targets=targets,
        style=style,
        restyle=str(options.get("restyle") or ""),
        strength=options.get("strength"),
        pictures=options.get("pictures"),
    )


def _restyle_problems(options: dict[str, Any]) -> list[str]:
    problems = []
    restyle, strength, pictures = options.get("restyle"), options.get("strength"), options.get("pictures")
    if restyle is not None and (not isinstance(restyle, str) or not restyle.strip()):
        problems.append("restyle: must be a style name or phrase")
    if (strength is not None or pictures is not None) and not restyle:
        problems.append("strength, pictures: only with restyle")
    if restyle and options.get("targets"):
        problems.append("restyle: redraws the file's own pictures; give targets in another fill")
    if strength is not None and (
        isinstance(strength, bool) or not isinstance(strength, (int, float)) or not 0 <= strength <= 1
    ):
        problems.append("strength: must be a number from 0 to 1")
    if pictures is not None and (
        not isinstance(pictures, list) or not all(isinstance(n, int) and not isinstance(n, bool) for n in pictures)
    ):
        problems.append("pictures: must be a list of picture numbers (1 is the first)")
    return problems


def plan_fill(data: bytes, options: FillOptions, maker: ImageMaker) -> DocumentPlan:
    """Check the package, open it, find where pictures go and what to generate for each."""
    package = check_package(data)
    if options.restyle:
        opener = pptx.Presentation if package.kind == "pptx" else docx.Document
        document = open_document(opener, package.data)
        return plan_restyle(
            package.kind, document, options.restyle, options.strength, options.pictures, maker, document_bytes
        )
    if package.kind == "pptx":
        return _plan_presentation(package.data, options, maker)
    return _plan_word(package.data, options, maker)


def fill_document(
    data: bytes,
    options: FillOptions,
    maker: ImageMaker,
    on_progress: Callable[[int, int], None] = lambda done, total: None,
    cancelled: Callable[[], bool] = lambda: False,
) -> FilledDocument:
    return plan_fill(data, options, maker).run(maker, on_progress, cancelled)


def _plan_presentation(data: bytes, options: FillOptions, maker: ImageMaker) -> DocumentPlan:
    document = open_document(pptx.Presentation, data)
    boxes = presentation.find_markers(document) + [
        _slide_box(document, target, f"targets[{index}]") for index, target in enumerate(options.targets)
    ]
    _require_some(boxes)
    maker.check_image_count(len(boxes))
    limits = maker.limits()
    orders = []
    for index, box in enumerate(boxes):
        width, height = (document.slide_width, document.slide_height) if box.background else (box.width, box.height)
        if box.placeholder_idx is not None:
            placeholder = box.slide.placeholders[box.placeholder_idx]
            width, height = placeholder.width, placeholder.height
        if not width or not height:
            raise DocumentError(
                "a picture's box has no size",
                [f"{box.prompt.where}: the box is {width or 0} by {height or 0} EMU; give it a width and a height"],
                code="empty_box",
            )
        orders.append(_order(box.prompt, index, maker, options, *generation_size(width, height, limits)))

    def place(pictures: list) -> bytes:
        for number, (box, picture) in enumerate(zip(boxes, pictures), start=1):
            presentation.place_picture(document, box, picture.png, box.prompt.alt_text or box.prompt.prompt, number)
        return document_bytes(document)

    return DocumentPlan("pptx", orders, place)


def _plan_word(data: bytes, options: FillOptions, maker: ImageMaker) -> DocumentPlan:
    document = open_document(docx.Document, data)
    slots = wordprocessing.find_markers(document) + [
        _word_slot(document, target, f"targets[{index}]") for index, target in enumerate(options.targets)
    ]
    _require_some(slots)
    maker.check_image_count(len(slots))
    limits = maker.limits()
    size = (limits.default_width, limits.default_height)
    orders = [_order(slot.marker, index, maker, options, *size) for index, slot in enumerate(slots)]

    def place(pictures: list) -> bytes:
        place_word_pictures(document, slots, pictures)
        return document_bytes(document)

    return DocumentPlan("docx", orders, place)


def place_word_pictures(document, slots: list[wordprocessing.ParagraphSlot], pictures: list) -> None:
    """Each picture into its paragraph; captions are numbered "Figure 1", "Figure 2"... in document order."""
    position = {id(element): index for index, element in enumerate(document.element.body.iter(qn("w:p")))}
    captioned = sorted(
        (slot for slot in slots if slot.caption), key=lambda slot: position.get(id(slot.paragraph._p), -1)
    )
    figure = {id(slot): number for number, slot in enumerate(captioned, start=1)}
    for number, (slot, picture) in enumerate(zip(slots, pictures), start=1):
        wordprocessing.place_picture(
            document, slot, picture.png, slot.marker.alt_text or slot.marker.prompt, number, figure.get(id(slot))
        )


def _order(
    marker: ImageMarker, index: int, maker: ImageMaker, options: FillOptions, width: int, height: int
) -> ImageOrder:
    prompt = f"{marker.full_prompt}, {options.style}" if options.style else marker.full_prompt
    return ImageOrder(
        prompt=prompt,
        width=width,
        height=height,
        seed=maker.seed_for(index, marker.seed),
        negative_prompt=marker.negative_prompt,
    )


def _target_marker(target: dict[str, Any], where: str) -> ImageMarker:
    return ImageMarker(
        prompt=target["prompt"].strip(), where=where, seed=target.get("seed"), alt_text=target.get("alt", "")
    )


def _slide_box(document, target: dict[str, Any], where: str) -> presentation.SlideBox:
    marker = _target_marker(target, where)
    if "new_slide" in target:
        slide = _new_slide(document, target["new_slide"], where)
        idx = presentation.picture_placeholder_idx(slide, None)
        return presentation.SlideBox(
            slide,
            0,
            0,
            document.slide_width,
            document.slide_height,
            marker,
            placeholder_idx=idx,
            background=idx is None,
        )
    number = target.get("slide")
    if number is None or number > len(document.slides):
        raise DocumentError(
            "a target names no existing slide",
            [f"{where}.slide: give 1-{len(document.slides)} (or new_slide)"],
            code="invalid_options",
        )
    slide = document.slides[number - 1]
    if target.get("background"):
        return presentation.SlideBox(slide, 0, 0, document.slide_width, document.slide_height, marker, background=True)
    if "placeholder" in target:
        placeholder = target["placeholder"]  # an idx, or true for the first picture placeholder
        wanted = placeholder if isinstance(placeholder, int) and placeholder is not True else None
        idx = presentation.picture_placeholder_idx(slide, wanted)
        if idx is None:
            raise DocumentError(
                "a target names no placeholder on its slide",
                [f"{where}.placeholder: slide {number} has no such picture placeholder"],
                code="invalid_options",
            )
        return presentation.SlideBox(slide, 0, 0, 0, 0, marker, placeholder_idx=idx)
    missing = [key for key in ("left", "top", "width", "height") if key not in target]
    if missing:
        raise DocumentError(
            "a slide target needs a box",
            [f"{where}.{key}: required (inches)" for key in missing],
            code="invalid_options",
        )
    return presentation.SlideBox(
        slide, Inches(target["left"]), Inches(target["top"]), Inches(target["width"]), Inches(target["height"]), marker
    )


def _new_slide(document, spec: Any, where: str):
    layouts = list(document.slide_layouts)
    layout_name = spec.get("layout") if isinstance(spec, dict) else None
    layout = (
        layouts[-1]
        if layout_name is None
        else next(
            (item for number, item in enumerate(layouts) if item.name == layout_name or number == layout_name), None
        )
    )
    if layout is None:
        names = ", ".join(repr(item.name) for item in layouts)
        raise DocumentError(
            "a new slide names an unknown layout", [f"{where}.new_slide.layout: one of {names}"], code="invalid_options"
        )
    slide = document.slides.add_slide(layout)
    if isinstance(spec, dict) and spec.get("title") and slide.shapes.title is not None:
        slide.shapes.title.text = spec["title"]
    return slide


def _word_slot(document, target: dict[str, Any], where: str) -> wordprocessing.ParagraphSlot:
    marker = _target_marker(target, where)
    paragraphs = document.paragraphs
    if target.get("at_end") or "after_paragraph" not in target:
        anchor = document.add_paragraph()
    elif target["after_paragraph"] > len(paragraphs):
        raise DocumentError(
            "a target names no existing paragraph",
            [f"{where}.after_paragraph: the document has {len(paragraphs)} paragraphs"],
            code="invalid_options",
        )
    else:
        anchor = wordprocessing.insert_paragraph_after(paragraphs[target["after_paragraph"] - 1])
    return wordprocessing.ParagraphSlot(anchor, wordprocessing.text_width(document), marker, target.get("caption", ""))


def _require_some(places: list) -> None:
    if not places:
        raise DocumentError(
            "the file has no image markers ({{image: what to draw}}) and no targets were given", code="nothing_to_fill"
        )


def open_document(opener, data: bytes):
    try:
        return opener(io.BytesIO(data))
    except DocumentError:
        raise
    except Exception as error:  # python-pptx/python-docx raise many kinds for a damaged package
        raise DocumentError(f"the file could not be read: {error}", code="corrupt_document") from None


def document_bytes(document) -> bytes:
    """The saved file, its pictures stored rather than deflated again (`fast_zip`)."""
    fast_zip.install()
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
