"""Filling files: markers and targets become pictures that fill their boxes, with alt text, and nothing else
in the package changes. A second reader (python-pptx/python-docx, then LibreOffice) checks every output."""

from __future__ import annotations

import io

import docx
import pptx
import pytest
from docx.shared import Inches as DocxInches
from pptx.util import Inches

from addin_server.documents.errors import DocumentError
from addin_server.documents.fill import fill_document, parse_fill_options
from addin_server.documents.pictures_xml import GENERATED_NAME_PREFIX
from tests.addin_server.documents.conftest import canonical, colourful_share, parts_of


def deck_with_markers() -> bytes:
    deck = pptx.Presentation()
    deck.slide_width, deck.slide_height = Inches(13.333), Inches(7.5)
    first = deck.slides.add_slide(deck.slide_layouts[6])  # blank
    box = first.shapes.add_textbox(Inches(7), Inches(1), Inches(5), Inches(5))
    box.text_frame.text = "{{image: a red circle | seed=3 | alt=A red circle}}"
    first.shapes.add_textbox(Inches(0.5), Inches(1), Inches(5), Inches(1)).text_frame.text = "Keep this text"
    second = deck.slides.add_slide(deck.slide_layouts[5])  # title only
    second.shapes.title.text = "A table"
    table = second.shapes.add_table(2, 2, Inches(1), Inches(2), Inches(8), Inches(4)).table
    table.cell(1, 1).text = "{{image: a blue square}}"
    second.notes_slide.notes_text_frame.text = "speaker notes survive"
    deck.slides.add_slide(deck.slide_layouts[8])  # picture with caption
    buffer = io.BytesIO()
    deck.save(buffer)
    return buffer.getvalue()


def generated_pictures(slide) -> list:
    return [shape for shape in slide.shapes if shape.name.startswith(GENERATED_NAME_PREFIX)]


def test_markers_fill_their_boxes_with_alt_text_and_nothing_else_changes(maker, render):
    original = deck_with_markers()
    snapshot = bytes(original)
    progress = []
    filled = fill_document(original, parse_fill_options({}), maker, on_progress=lambda d, t: progress.append((d, t)))
    assert original == snapshot  # the input is never modified
    assert filled.pictures == 2 and progress[0] == (0, 2) and progress[-1] == (2, 2)

    deck = pptx.Presentation(io.BytesIO(filled.data))
    [circle] = generated_pictures(deck.slides[0])
    assert (circle.left, circle.top, circle.width, circle.height) == (Inches(7), Inches(1), Inches(5), Inches(5))
    assert circle._element.nvPicPr.cNvPr.get("descr") == "A red circle"
    visible = (
        circle.image.size[0] * (1 - circle.crop_left - circle.crop_right),
        circle.image.size[1] * (1 - circle.crop_top - circle.crop_bottom),
    )
    assert visible[0] / visible[1] == pytest.approx(1.0, abs=0.01)  # cropped to the square box, not stretched
    assert not any("{{image" in shape.text_frame.text for shape in deck.slides[0].shapes if shape.has_text_frame)
    assert any(shape.has_text_frame and shape.text_frame.text == "Keep this text" for shape in deck.slides[0].shapes)
    [square] = generated_pictures(deck.slides[1])
    assert (square.left, square.top) == (Inches(5), Inches(4))  # the table cell's box
    assert square._element.nvPicPr.cNvPr.get("descr") == "a blue square"
    assert deck.slides[1].notes_slide.notes_text_frame.text == "speaker notes survive"

    # Every part of the input is still there; untouched ones are equal.
    before, after = parts_of(snapshot), parts_of(filled.data)
    changed = {
        "[Content_Types].xml",
        "ppt/slides/slide1.xml",
        "ppt/slides/slide2.xml",
        "ppt/slides/_rels/slide1.xml.rels",
        "ppt/slides/_rels/slide2.xml.rels",
    }
    assert set(before) <= set(after)
    for name in set(before) - changed:
        if name.endswith((".xml", ".rels")):
            assert canonical(before[name]) == canonical(after[name]), name
        else:
            assert before[name] == after[name], name
    assert [name for name in set(after) - set(before) if not name.startswith("ppt/media/")] == []

    # LibreOffice renders the picture where the marker was, and paper elsewhere.
    page = render(filled.data, ".pptx")[0]
    scale = page.width / 13.333
    assert colourful_share(page, (int(7.5 * scale), int(1.5 * scale), int(11.5 * scale), int(5.5 * scale))) > 0.9
    assert colourful_share(page, (int(0.5 * scale), int(3 * scale), int(5 * scale), int(7 * scale))) < 0.02


def test_explicit_targets_on_slides(maker):
    options = parse_fill_options(
        {
            "targets": [
                {"prompt": "a box", "slide": 1, "left": 1, "top": 1, "width": 4, "height": 2.25},
                {"prompt": "a picture placeholder", "slide": 3, "placeholder": True, "alt": "Placeholder picture"},
                {"prompt": "the backdrop", "slide": 2, "background": True},
                {"prompt": "a new slide", "new_slide": {"layout": "Title Only", "title": "Added"}},
            ]
        }
    )
    filled = fill_document(deck_with_markers(), options, maker)
    deck = pptx.Presentation(io.BytesIO(filled.data))
    assert filled.pictures == 6 and len(deck.slides) == 4
    box = next(p for p in generated_pictures(deck.slides[0]) if p.left == Inches(1))
    assert (box.width, box.height) == (Inches(4), Inches(2.25))
    [placeholder] = generated_pictures(deck.slides[2])
    assert placeholder.is_placeholder and placeholder._element.nvPicPr.cNvPr.get("descr") == "Placeholder picture"
    backdrop = next(
        p for p in generated_pictures(deck.slides[1]) if p._element.nvPicPr.cNvPr.get("descr") == "the backdrop"
    )
    assert (backdrop.width, backdrop.height) == (deck.slide_width, deck.slide_height)
    assert deck.slides[1].shapes[0].name == backdrop.name  # sent to the back
    assert deck.slides[3].shapes.title.text == "Added" and generated_pictures(deck.slides[3])


def test_bad_targets_list_every_problem():
    with pytest.raises(DocumentError) as raised:
        parse_fill_options({"targets": [{"slide": 0}, {"prompt": "x", "width": -1, "colour": "red"}], "font": 1})
    assert raised.value.problems == [
        "font: unknown option (known: targets, style, restyle, strength, pictures, seed, seed_policy, model)",
        "targets[0].prompt: required, a non-empty string",
        "targets[0].slide: must be a number from 1",
        "targets[1].colour: unknown field",
        "targets[1].width: must be a positive number of inches",
    ]


def test_empty_marker_names_its_slide(maker):
    deck = pptx.Presentation()
    deck.slides.add_slide(deck.slide_layouts[6])
    deck.slides.add_slide(deck.slide_layouts[6]).shapes.add_textbox(
        0, 0, Inches(2), Inches(2)
    ).text_frame.text = "{{image:}}"
    buffer = io.BytesIO()
    deck.save(buffer)
    with pytest.raises(DocumentError) as raised:
        fill_document(buffer.getvalue(), parse_fill_options({}), maker)
    assert raised.value.code == "empty_marker" and "slide 2" in str(raised.value)


@pytest.mark.parametrize("width, height", [(0, Inches(2)), (Inches(2), 0)])
def test_a_marker_in_a_box_without_a_size_is_a_clear_error_naming_its_slide(maker, width, height):
    deck = pptx.Presentation()
    deck.slides.add_slide(deck.slide_layouts[6])
    deck.slides.add_slide(deck.slide_layouts[6]).shapes.add_textbox(
        0, 0, width, height
    ).text_frame.text = "{{image: a red circle}}"
    buffer = io.BytesIO()
    deck.save(buffer)
    with pytest.raises(DocumentError) as raised:
        fill_document(buffer.getvalue(), parse_fill_options({}), maker)
    assert raised.value.code == "empty_box" and raised.value.status == 400 and "slide 2" in str(raised.value)


def test_a_file_without_markers_or_targets(maker):
    buffer = io.BytesIO()
    pptx.Presentation().save(buffer)
    with pytest.raises(DocumentError) as raised:
        fill_document(buffer.getvalue(), parse_fill_options({}), maker)
    assert raised.value.code == "nothing_to_fill"


def word_with_markers() -> bytes:
    document = docx.Document()
    document.add_heading("Report", 0)
    document.add_paragraph("First paragraph.")
    document.add_paragraph("{{image: a green triangle | caption=A triangle}}")
    document.add_paragraph("Last paragraph.")
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).width = DocxInches(3)
    table.cell(0, 0).text = "{{image: in a cell}}"
    document.sections[0].header.paragraphs[0].text = "{{image: a small logo | alt=Logo}}"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_word_markers_become_pictures_at_text_width_with_captions(maker, render):
    options = parse_fill_options(
        {
            "targets": [
                {"prompt": "after the first", "after_paragraph": 2, "caption": "Inserted"},
                {"prompt": "at the end", "at_end": True},
            ]
        }
    )
    filled = fill_document(word_with_markers(), options, maker)
    assert filled.pictures == 5
    document = docx.Document(io.BytesIO(filled.data))
    texts = [paragraph.text for paragraph in document.paragraphs]
    assert texts[:3] == ["Report", "First paragraph.", ""]
    assert "Figure 1: Inserted" in texts and "Figure 2: A triangle" in texts
    assert texts.index("Figure 1: Inserted") < texts.index("Figure 2: A triangle")
    section = document.sections[0]
    text_width = section.page_width - section.left_margin - section.right_margin
    body_pictures = [shape for shape in document.inline_shapes if shape.width == text_width]
    assert len(body_pictures) == 3
    assert all(shape._inline.docPr.get("name").startswith(GENERATED_NAME_PREFIX) for shape in document.inline_shapes)
    assert {shape._inline.docPr.get("descr") for shape in document.inline_shapes} >= {"a green triangle", "in a cell"}
    header_xml = document.sections[0].header._element.xml
    assert 'descr="Logo"' in header_xml and "{{image" not in header_xml

    pages = render(filled.data, ".docx")
    assert sum(colourful_share(page, (100, 100, page.width - 100, page.height - 100)) for page in pages) > 0.2


def test_the_style_phrase_reaches_every_prompt(maker, engine):
    seen = []
    original_submit = engine.submit

    def spy(request):
        seen.append(request.prompt)
        return original_submit(request)

    engine.submit = spy
    try:
        fill_document(deck_with_markers(), parse_fill_options({"style": "watercolour"}), maker)
    finally:
        del engine.submit
    assert seen == ["a red circle, watercolour", "a blue square, watercolour"]


def test_pictures_are_stored_not_deflated_again(maker):
    import zipfile

    filled = fill_document(deck_with_markers(), parse_fill_options({}), maker)
    with zipfile.ZipFile(io.BytesIO(filled.data)) as archive:
        media = [info for info in archive.infolist() if info.filename.startswith("ppt/media/")]
        xml = archive.getinfo("ppt/slides/slide1.xml")
    assert media and all(info.compress_type == zipfile.ZIP_STORED for info in media)
    assert xml.compress_type == zipfile.ZIP_DEFLATED


def test_linked_pictures_are_kept_and_never_fetched(maker):
    from pptx.opc.constants import RELATIONSHIP_TYPE as RT

    deck = pptx.Presentation(io.BytesIO(deck_with_markers()))
    deck.slides[0].part.relate_to("https://images.example.com/linked.png", RT.IMAGE, is_external=True)
    buffer = io.BytesIO()
    deck.save(buffer)
    # The session's socket guard fails this test if anything tries to reach images.example.com.
    filled = fill_document(buffer.getvalue(), parse_fill_options({}), maker)
    rels = parts_of(filled.data)["ppt/slides/_rels/slide1.xml.rels"]
    assert b'Target="https://images.example.com/linked.png" TargetMode="External"' in rels
