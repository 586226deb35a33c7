"""Build a new deck or report from a spec, on the user's template or the defaults in `templates/documents/`.

1. open the template (its theme, layouts and styles are kept; its slides or body text are not)
2. lay out every slide or block, leaving a box for each image
3. generate all images together (the deck's style phrase and seed make them a set)
4. place the pictures and save
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import docx
import pptx
from pptx.dml.color import RGBColor
from pptx.enum.shapes import MSO_SHAPE, PP_PLACEHOLDER
from pptx.util import Emu, Inches, Pt

from addin_server.documents import presentation, wordprocessing
from addin_server.documents.errors import DocumentError
from addin_server.documents.fill import (
    DocumentPlan,
    FilledDocument,
    document_bytes,
    open_document,
    place_word_pictures,
)
from addin_server.documents.images import ImageMaker, ImageOrder
from addin_server.documents.markers import ImageMarker
from addin_server.documents.package_guard import check_package
from addin_server.documents.pictures_xml import send_to_back, set_fill_transparency
from addin_server.documents.sizing import generation_size
from addin_server.documents.spec import DocumentSpec, SlideSpec
from addin_server.resources import document_templates_folder

MARGIN = Inches(0.5)
GAP = Inches(0.3)


def build_document(
    spec: DocumentSpec,
    maker: ImageMaker,
    template: bytes | None = None,
    on_progress: Callable[[int, int], None] = lambda done, total: None,
    cancelled: Callable[[], bool] = lambda: False,
) -> FilledDocument:
    return plan_build(spec, maker, template).run(maker, on_progress, cancelled)


def plan_build(spec: DocumentSpec, maker: ImageMaker, template: bytes | None = None) -> DocumentPlan:
    """Open the template and lay out every slide or block; the plan then generates and places the images."""
    if template is not None:
        package = check_package(template)
        if package.kind != spec.extension:
            raise DocumentError(
                f"a {spec.kind} needs a {'PowerPoint' if spec.kind == 'deck' else 'Word'} template",
                code="wrong_template",
            )
        template = package.data
    else:
        template = (document_templates_folder() / f"{spec.kind}.{spec.extension}").read_bytes()
    if spec.kind == "deck":
        return _plan_deck(spec, template, maker)
    return _plan_report(spec, template, maker)


# -- decks ----------------------------------------------------------------------------------------------------


def _plan_deck(spec: DocumentSpec, template: bytes, maker: ImageMaker) -> DocumentPlan:
    # 1. The template, without its slides.
    deck = open_document(pptx.Presentation, template)
    _remove_all_slides(deck)
    # 2. Lay out the slides.
    if spec.title:
        _title_slide(deck, spec.title, spec.subtitle)
    boxes = []
    for number, slide_spec in enumerate(spec.slides, start=1):
        box = _content_slide(deck, slide_spec, f"slides[{number - 1}]")
        if box is not None:
            boxes.append(box)
    # 3. What to generate (the plan's run does it).
    limits = maker.limits()
    orders = []
    for index, box in enumerate(boxes):
        width, height = generation_size(box.width, box.height, limits)
        prompt = f"{box.prompt.prompt}, {spec.style}" if spec.style else box.prompt.prompt
        orders.append(ImageOrder(prompt, width, height, maker.seed_for(index, None)))

    # 4. Place.
    def place(pictures: list) -> bytes:
        for number, (box, picture) in enumerate(zip(boxes, pictures), start=1):
            presentation.place_picture(deck, box, picture.png, box.prompt.prompt, number)
            if box.background:
                _readable_text_panel(deck, box.slide)
        return document_bytes(deck)

    return DocumentPlan("pptx", orders, place)


def _remove_all_slides(deck) -> None:
    slide_ids = deck.slides._sldIdLst
    for slide_id in list(slide_ids):
        deck.part.drop_rel(slide_id.rId)
        slide_ids.remove(slide_id)


def _layout(deck, wanted: tuple[PP_PLACEHOLDER, ...], names: tuple[str, ...]):
    """The first layout with one of `names`, else the first whose placeholders include all of `wanted`."""
    for layout in deck.slide_layouts:
        if layout.name in names:
            return layout
    for layout in deck.slide_layouts:
        kinds = {placeholder.placeholder_format.type for placeholder in layout.placeholders}
        if set(wanted) <= kinds:
            return layout
    return deck.slide_layouts[0]


def _title_slide(deck, title: str, subtitle: str) -> None:
    slide = deck.slides.add_slide(_layout(deck, (PP_PLACEHOLDER.CENTER_TITLE,), ("Title Slide",)))
    for placeholder in list(slide.placeholders):
        kind = placeholder.placeholder_format.type
        if kind in (PP_PLACEHOLDER.CENTER_TITLE, PP_PLACEHOLDER.TITLE):
            placeholder.text = title
        elif kind == PP_PLACEHOLDER.SUBTITLE and subtitle:
            placeholder.text = subtitle
        else:
            placeholder._element.getparent().remove(placeholder._element)


def _content_slide(deck, spec: SlideSpec, where: str) -> presentation.SlideBox | None:
    slide = deck.slides.add_slide(_layout(deck, (PP_PLACEHOLDER.TITLE,), ("Title Only",)))
    for placeholder in list(slide.placeholders):  # keep only the title
        if placeholder.placeholder_format.type != PP_PLACEHOLDER.TITLE:
            placeholder._element.getparent().remove(placeholder._element)
    title = slide.shapes.title
    if title is not None:
        if spec.title:
            title.text = spec.title
        else:
            title._element.getparent().remove(title._element)
            title = None
    if spec.notes:
        slide.notes_slide.notes_text_frame.text = spec.notes
    width, height = deck.slide_width, deck.slide_height
    top = (title.top + title.height + GAP) if title is not None else MARGIN
    content = (MARGIN, top, width - 2 * MARGIN, height - top - MARGIN)
    left_half = (MARGIN, top, (width - 2 * MARGIN - GAP) // 2, height - top - MARGIN)
    right_half = (MARGIN + left_half[2] + GAP, top, left_half[2], left_half[3])
    marker = ImageMarker(prompt=spec.image, where=where)
    if spec.layout == "text":
        _bullets(slide, spec.bullets, content)
        return None
    if spec.layout == "image_only":
        return presentation.SlideBox(slide, *content, marker)
    if spec.layout == "background":
        panel = (MARGIN, top, int(width * 0.45), height - top - MARGIN)
        _bullets(slide, spec.bullets, panel, white=True)
        if title is not None:
            for paragraph in title.text_frame.paragraphs:
                for run in paragraph.runs:
                    run.font.color.rgb = RGBColor(255, 255, 255)
        return presentation.SlideBox(slide, 0, 0, width, height, marker, background=True)
    text_box, image_box = (left_half, right_half) if spec.layout == "image_right" else (right_half, left_half)
    _bullets(slide, spec.bullets, text_box)
    left, top, width, height = image_box
    return presentation.SlideBox(slide, left, top, width, height, marker)


def _bullets(slide, bullets: tuple[str, ...], box: tuple[int, int, int, int], white: bool = False) -> None:
    if not bullets:
        return
    shape = slide.shapes.add_textbox(*(Emu(value) for value in box))
    frame = shape.text_frame
    frame.word_wrap = True
    for index, bullet in enumerate(bullets):
        paragraph = frame.paragraphs[0] if index == 0 else frame.add_paragraph()
        paragraph.text = f"\u2022 {bullet}"
        paragraph.font.size = Pt(24)
        paragraph.space_after = Pt(8)
        if white:
            paragraph.font.color.rgb = RGBColor(255, 255, 255)


def _readable_text_panel(deck, slide) -> None:
    """A dark, 55 % opaque panel behind the text of a background slide, so white text reads on any picture."""
    panel = slide.shapes.add_shape(
        MSO_SHAPE.RECTANGLE, 0, 0, int(deck.slide_width * 0.45) + 2 * MARGIN, deck.slide_height
    )
    panel.fill.solid()
    panel.fill.fore_color.rgb = RGBColor(0, 0, 0)
    panel.line.fill.background()
    set_fill_transparency(panel._element, 55)
    panel.name = "Text backdrop"
    send_to_back(panel._element)
    pictures = [shape for shape in slide.shapes if shape.name.startswith("Generated image")]
    for picture in pictures:  # the picture goes behind the panel
        send_to_back(picture._element)


# -- reports --------------------------------------------------------------------------------------------------


def _plan_report(spec: DocumentSpec, template: bytes, maker: ImageMaker) -> DocumentPlan:
    # 1. The template, without its body text (its styles, headers and page setup stay).
    document = open_document(docx.Document, template)
    body = document.element.body
    for child in list(body):
        if not child.tag.endswith("}sectPr"):
            body.remove(child)
    # 2. The blocks, leaving an empty paragraph for each image.
    if spec.title:
        document.add_heading(spec.title, 0)
    slots = []
    width = wordprocessing.text_width(document)
    for index, block in enumerate(spec.blocks):
        if block.heading:
            document.add_heading(block.heading, block.level)
        elif block.paragraph:
            document.add_paragraph(block.paragraph)
        elif block.image:
            marker = ImageMarker(prompt=block.image, where=f"blocks[{index}]")
            slots.append(wordprocessing.ParagraphSlot(document.add_paragraph(), width, marker, block.caption))
    # 3. What to generate.
    limits = maker.limits()
    orders = [
        ImageOrder(
            f"{slot.marker.prompt}, {spec.style}" if spec.style else slot.marker.prompt,
            limits.default_width,
            limits.default_height,
            maker.seed_for(index, None),
        )
        for index, slot in enumerate(slots)
    ]

    # 4. Place.
    def place(pictures: list) -> bytes:
        place_word_pictures(document, slots, pictures)
        return document_bytes(document)

    return DocumentPlan("docx", orders, place)


def write_default_templates(folder: Path | None = None) -> None:
    """The defaults: a 16:9 deck on python-pptx's built-in theme, and python-docx's built-in document."""
    folder = folder or document_templates_folder()
    folder.mkdir(parents=True, exist_ok=True)
    deck = pptx.Presentation()
    stretch = Inches(13.333) / deck.slide_width
    deck.slide_width, deck.slide_height = Inches(13.333), Inches(7.5)
    for layout_or_master in [deck.slide_master, *deck.slide_layouts]:
        for placeholder in layout_or_master.placeholders:  # widen the 4:3 theme's own boxes to 16:9
            offset, extent = (
                placeholder._element.xpath("./p:spPr/a:xfrm/a:off"),
                placeholder._element.xpath("./p:spPr/a:xfrm/a:ext"),
            )
            if offset and extent:
                offset[0].set("x", str(int(int(offset[0].get("x")) * stretch)))
                extent[0].set("cx", str(int(int(extent[0].get("cx")) * stretch)))
    deck.save(str(folder / "deck.pptx"))
    docx.Document().save(str(folder / "report.docx"))
