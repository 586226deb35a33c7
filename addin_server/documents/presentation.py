"""PowerPoint: find image markers and targets in a presentation, and place generated pictures in it."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from pptx.enum.shapes import MSO_SHAPE_TYPE, PP_PLACEHOLDER
from pptx.presentation import Presentation
from pptx.slide import Slide
from pptx.util import Emu

from addin_server.documents.markers import ImageMarker, parse_marker
from addin_server.documents.pictures_xml import mark_generated, send_to_back
from addin_server.documents.sizing import crop_to_fill


@dataclass
class SlideBox:
    """Where a picture goes on a slide, in EMU; `clear` removes the marker that stood there."""

    slide: Slide
    left: int
    top: int
    width: int
    height: int
    prompt: ImageMarker
    placeholder_idx: int | None = None
    background: bool = False
    clear: list = field(default_factory=list)


def find_markers(presentation: Presentation) -> list[SlideBox]:
    """Every shape or table cell whose whole text is an image marker, slide by slide."""
    boxes = []
    for number, slide in enumerate(presentation.slides, start=1):
        for shape in slide.shapes:
            boxes.extend(_markers_in_shape(slide, shape, f"slide {number}"))
    return boxes


def _markers_in_shape(slide: Slide, shape, where: str) -> list[SlideBox]:
    # Reading `shape.text_frame` would add an empty text body to a placeholder that has none: look first.
    if shape.has_text_frame and shape._element.txBody is not None:
        marker = parse_marker(shape.text_frame.text, f"{where}, shape {shape.name!r}")
        if marker is not None:
            return [
                SlideBox(
                    slide,
                    shape.left,
                    shape.top,
                    shape.width,
                    shape.height,
                    marker,
                    clear=[lambda s=shape: s._element.getparent().remove(s._element)],
                )
            ]
    if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
        return [box for child in shape.shapes for box in _markers_in_shape(slide, child, where)]
    if getattr(shape, "has_table", False) and shape.has_table:
        return _markers_in_table(slide, shape, where)
    return []


def _markers_in_table(slide: Slide, frame, where: str) -> list[SlideBox]:
    table, boxes = frame.table, []
    top = frame.top
    for row_number, row in enumerate(table.rows):
        left = frame.left
        for column_number, cell in enumerate(row.cells):
            width = table.columns[column_number].width
            text = cell.text_frame.text if cell._tc.txBody is not None else ""
            marker = parse_marker(
                text, f"{where}, table {frame.name!r} row {row_number + 1} column {column_number + 1}"
            )
            if marker is not None:
                boxes.append(
                    SlideBox(
                        slide,
                        left,
                        top,
                        width,
                        row.height,
                        marker,
                        clear=[lambda c=cell: setattr(c.text_frame, "text", "")],
                    )
                )
            left += width
        top += row.height
    return boxes


def place_picture(presentation: Presentation, box: SlideBox, png: bytes, alt_text: str, number: int) -> None:
    """Put the picture in its box, cropped to fill it (never stretched), named and described."""
    for clear in box.clear:
        clear()
    placeholder = box.slide.placeholders[box.placeholder_idx] if box.placeholder_idx is not None else None
    if placeholder is not None and hasattr(placeholder, "insert_picture"):
        picture = placeholder.insert_picture(io.BytesIO(png))  # crops to fill the placeholder itself
    else:
        if placeholder is not None:  # a text or content placeholder: take its box and its place
            box.left, box.top, box.width, box.height = (
                int(placeholder.left or 0),
                int(placeholder.top or 0),
                int(placeholder.width or 0),
                int(placeholder.height or 0),
            )
            placeholder._element.getparent().remove(placeholder._element)
        if box.background:
            left, top = 0, 0
            width, height = int(presentation.slide_width or 0), int(presentation.slide_height or 0)
        else:
            left, top, width, height = box.left, box.top, box.width, box.height
        picture = box.slide.shapes.add_picture(io.BytesIO(png), Emu(left), Emu(top), Emu(width), Emu(height))
        image_width, image_height = picture.image.size
        crop = crop_to_fill(image_width, image_height, width, height)
        picture.crop_left, picture.crop_right = crop.left, crop.right
        picture.crop_top, picture.crop_bottom = crop.top, crop.bottom
        if box.background:
            send_to_back(picture._element)
    mark_generated(picture._element.nvPicPr.cNvPr, alt_text, number)


def picture_placeholder_idx(slide: Slide, idx: int | None) -> int | None:
    """The placeholder to fill on `slide`: the one with `idx`, or else the first picture placeholder."""
    for placeholder in slide.placeholders:
        placeholder_format = placeholder.placeholder_format
        if placeholder_format.idx == idx or (idx is None and placeholder_format.type == PP_PLACEHOLDER.PICTURE):
            return placeholder_format.idx
    return None
