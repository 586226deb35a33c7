"""Redraw the pictures a file already has, in one style: `fill --restyle "flat pastel"`.

1. find every embedded picture (PowerPoint `p:pic`, Word `pic:pic`), with its alt text, in document order
2. keep those named in `pictures` (1-based), leave linked pictures alone (never fetched) with a note, and
   refuse more than the document's image limit before decoding any
3. change each one with the engine (image to image, at the picture's own shape), all with one seed, so the
   set looks like a set
4. swap only the picture data: the shape, its place, size, crop and alt text stay as they were
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pptx.oxml.ns import qn

from addin_server.documents.errors import DocumentError
from addin_server.documents.images import ImageMaker, ImageOrder
from addin_server.errors import BadRequest
from addin_server.images.pictures import EditPictures, fit_for_edit, read_picture
from addin_server.images.presets import STYLE_PRESETS
from engine.api import MAX_SEED

DEFAULT_RESTYLE_STRENGTH = 0.5
#: The prompt of a picture with no alt text.
UNDESCRIBED = "a picture"


@dataclass
class ExistingPicture:
    """One picture in the file: its `a:blip` (which names the image part), the part that owns the link."""

    blip: Any
    part: Any
    alt_text: str
    where: str

    def embedded_id(self) -> str | None:
        return self.blip.get(qn("r:embed"))


def style_words(restyle: str) -> str:
    """A preset's words (`watercolour` -> "watercolour painting"), or the phrase as given."""
    return STYLE_PRESETS.get(restyle.strip().lower()) or restyle.strip()


def presentation_pictures(document) -> list[ExistingPicture]:
    found = []
    for number, slide in enumerate(document.slides, start=1):
        for index, pic in enumerate(slide._element.xpath(".//p:pic"), start=1):
            blips = pic.xpath("./p:blipFill/a:blip")
            if blips:
                alt = pic.xpath("./p:nvPicPr/p:cNvPr")[0].get("descr") or ""
                found.append(ExistingPicture(blips[0], slide.part, alt, f"slide {number}, picture {index}"))
    return found


def word_pictures(document) -> list[ExistingPicture]:
    found = []
    for index, pic in enumerate(document.element.body.xpath(".//pic:pic"), start=1):
        blips = pic.xpath("./pic:blipFill/a:blip")
        frames = pic.xpath("ancestor::wp:inline/wp:docPr | ancestor::wp:anchor/wp:docPr")
        if blips:
            alt = frames[0].get("descr") if frames else ""
            found.append(ExistingPicture(blips[0], document.part, alt or "", f"picture {index}"))
    return found


def plan_restyle(
    kind: str,
    document,
    restyle: str,
    strength: float | None,
    chosen: list[int] | None,
    maker: ImageMaker,
    save: Callable[[Any], bytes],
):
    """The plan that redraws the file's pictures; the notes say which were left alone and why.

    Pictures are counted, and refused past the document's image limit, before any is decoded; a picture part
    shown many times is decoded and fitted once."""
    from addin_server.documents.fill import DocumentPlan  # fill.py routes here, so it imports this module

    pictures = presentation_pictures(document) if kind == "pptx" else word_pictures(document)
    if chosen is not None:
        wrong = [number for number in chosen if not 1 <= number <= len(pictures)]
        if wrong:
            raise DocumentError(
                "the options name pictures the file does not have",
                [f"pictures: {number} is not 1-{len(pictures)}" for number in wrong[:10]],
                code="invalid_options",
            )
        pictures = [pictures[number - 1] for number in sorted(set(chosen))]

    # 1. Which pictures can be redrawn (embedded ones), counted against the limit before any is decoded.
    notes: list[str] = []
    embedded: list[tuple[ExistingPicture, Any]] = []
    for picture in pictures:
        image_part, why_not = _image_part(picture)
        if image_part is None:
            notes.append(f"{picture.where}: {why_not}")
        else:
            embedded.append((picture, image_part))
    maker.check_image_count(len(embedded))

    # 2. Each image part decoded and fitted once, however many pictures show it.
    if maker.seed is None:  # one seed for the whole set, so the pictures look like they belong together
        maker.seed = secrets.randbelow(MAX_SEED + 1)
    maker.seed_policy = "same"
    limits = maker.limits()
    fitted_parts: dict[Any, EditPictures | str] = {}  # image part -> its fitted picture, or why it is left alone
    kept, orders = [], []
    for picture, image_part in embedded:
        if image_part not in fitted_parts:
            try:
                decoded = read_picture(image_part.blob, picture.where, maker.max_picture_pixels)
                fitted_parts[image_part] = fit_for_edit(decoded, None, limits)
            except BadRequest as error:
                fitted_parts[image_part] = error.message
        fitted = fitted_parts[image_part]
        if isinstance(fitted, str):
            notes.append(f"{picture.where}: left alone ({fitted})")
            continue
        prompt = f"{picture.alt_text.strip() or UNDESCRIBED}, {style_words(restyle)}"
        orders.append(
            ImageOrder(
                prompt=prompt,
                width=fitted.width,
                height=fitted.height,
                seed=maker.seed,
                source_image=fitted.source,
                strength=DEFAULT_RESTYLE_STRENGTH if strength is None else strength,
            )
        )
        kept.append(picture)
    if not orders:
        raise DocumentError(
            "the file has no embedded pictures to restyle", notes[:10] or ["it has no pictures"], code="nothing_to_fill"
        )

    def place(generated: list) -> bytes:
        for picture, new in zip(kept, generated):
            old = picture.embedded_id()
            picture.blip.set(qn("r:embed"), _add_image(kind, picture.part, new.png))
            picture.part.drop_rel(old)  # dropped only when nothing else shows the old picture
        return save(document)

    return DocumentPlan(kind, orders, place, notes)


def _image_part(picture: ExistingPicture) -> tuple[Any, str]:
    """The image part a picture embeds, or None and why it is left alone (linked, or a broken reference)."""
    rid = picture.embedded_id()
    if rid is None:
        return None, "a linked picture, left alone (it is never fetched)"
    relationship = picture.part.rels.get(rid)
    if relationship is None:
        return None, f"left alone (its picture {rid!r} is missing from the file)"
    if relationship.is_external:
        return None, "a linked picture, left alone (it is never fetched)"
    return relationship.target_part, ""


def _add_image(kind: str, part, png: bytes) -> str:
    if kind == "pptx":
        _, rid = part.get_or_add_image_part(io.BytesIO(png))
        return rid
    rid, _ = part.get_or_add_image(io.BytesIO(png))
    return rid
