"""Word: find image markers in a document (body, tables, headers, footers) and place generated pictures."""

from __future__ import annotations

import copy
import io
from dataclasses import dataclass

from docx.document import Document
from docx.shared import Emu
from docx.table import Table
from docx.text.paragraph import Paragraph

from addin_server.documents.markers import ImageMarker, parse_marker
from addin_server.documents.pictures_xml import mark_generated


@dataclass
class ParagraphSlot:
    """A paragraph that will hold one picture `width` EMU wide (the text width where it stands)."""

    paragraph: Paragraph
    width: int
    marker: ImageMarker
    caption: str = ""


def text_width(document: Document, section_index: int = 0) -> int:
    section = document.sections[section_index]
    return int((section.page_width or 0) - (section.left_margin or 0) - (section.right_margin or 0))


def find_markers(document: Document) -> list[ParagraphSlot]:
    """Every paragraph whose whole text is a marker: body, table cells (nested too), headers and footers."""
    width = text_width(document)
    slots = _in_story(document.paragraphs, document.tables, width, "paragraph")
    for number, section in enumerate(document.sections, start=1):
        for part_name in (
            "header",
            "first_page_header",
            "even_page_header",
            "footer",
            "first_page_footer",
            "even_page_footer",
        ):
            story = getattr(section, part_name)
            if not story.is_linked_to_previous:
                slots += _in_story(story.paragraphs, story.tables, width, f"section {number} {part_name} paragraph")
    return slots


def _in_story(paragraphs: list[Paragraph], tables: list[Table], width: int, where: str) -> list[ParagraphSlot]:
    slots = []
    for number, paragraph in enumerate(paragraphs, start=1):
        marker = parse_marker(paragraph.text, f"{where} {number}")
        if marker is not None:
            slots.append(ParagraphSlot(paragraph, width, marker, marker.caption))
    for table_number, table in enumerate(tables, start=1):
        columns = len(table.columns) or 1
        for row_number, row in enumerate(table.rows, start=1):
            for column_number, cell in enumerate(row.cells, start=1):
                cell_width = int(cell.width or width // columns)
                slots += _in_story(
                    cell.paragraphs,
                    cell.tables,
                    cell_width - Emu(144000),  # less cell padding
                    f"table {table_number} row {row_number} column {column_number} paragraph",
                )
    return slots


def place_picture(
    document: Document, slot: ParagraphSlot, png: bytes, alt_text: str, number: int, figure: int | None
) -> None:
    """Replace the paragraph's text with the picture at its slot's width; add "Figure N: caption" after it."""
    slot.paragraph.clear()
    inline_shape = slot.paragraph.add_run().add_picture(io.BytesIO(png), width=Emu(slot.width))
    mark_generated(inline_shape._inline.docPr, alt_text, number)
    if slot.caption and figure is not None:
        caption = insert_paragraph_after(slot.paragraph, f"Figure {figure}: {slot.caption}")
        styles = document.styles  # the document's, also for a caption in a header or footer
        if any(style.name == "Caption" for style in styles):
            caption.style = styles["Caption"]


def insert_paragraph_after(paragraph: Paragraph, text: str = "") -> Paragraph:
    """A new paragraph right after `paragraph`, with the same paragraph properties minus any numbering."""
    element = copy.deepcopy(paragraph._p)
    for child in list(element):
        if not child.tag.endswith("}pPr"):
            element.remove(child)
    paragraph._p.addnext(element)
    new = Paragraph(element, paragraph._parent)
    if text:
        new.add_run(text)
    return new
