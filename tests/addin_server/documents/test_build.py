"""Decks and reports from a spec: layouts, notes, one style for the set, templates, and every spec problem listed."""

from __future__ import annotations

import io

import docx
import pptx
import pytest
from pptx.util import Inches

from addin_server.documents.build import build_document
from addin_server.documents.errors import DocumentError
from addin_server.documents.images import ImageMaker
from addin_server.documents.pictures_xml import GENERATED_NAME_PREFIX
from addin_server.documents.spec import load_spec_text, parse_spec
from tests.addin_server.documents.conftest import colourful_share

DECK = """
title: Shapes of the quarter
subtitle: Demo
style: flat colours
seed: 11
slides:
  - {title: Right, bullets: [one, two], image: a red circle, notes: Say hello}
  - {title: Left, bullets: [three], image: a blue square, layout: image_left}
  - {title: Night, bullets: [stars], image: a night sky, layout: background}
  - {image: a green triangle, layout: image_only}
  - {title: Text only, bullets: [four, five]}
"""


def pictures(slide) -> list:
    return [shape for shape in slide.shapes if shape.name.startswith(GENERATED_NAME_PREFIX)]


def test_a_deck_from_a_yaml_spec(maker, render):
    spec = parse_spec(load_spec_text(DECK))
    filled = build_document(spec, ImageMaker(maker.engine, seed=spec.seed, seed_policy=spec.seed_policy))
    deck = pptx.Presentation(io.BytesIO(filled.data))
    assert filled.pictures == 4 and len(deck.slides) == 6
    assert deck.slide_width == Inches(13.333) and deck.slides[0].shapes.title.text == "Shapes of the quarter"
    right, left, night, only, text = list(deck.slides)[1:]
    assert right.notes_slide.notes_text_frame.text == "Say hello"
    [right_picture], [left_picture] = pictures(right), pictures(left)
    assert right_picture.left > deck.slide_width // 2 > left_picture.left + left_picture.width
    [background] = pictures(night)
    assert (background.width, background.height) == (deck.slide_width, deck.slide_height)
    assert night.shapes[0].name == background.name  # behind the text backdrop and the text
    assert pictures(only)[0].width > deck.slide_width * 0.9 and pictures(text) == []
    assert right_picture._element.nvPicPr.cNvPr.get("descr") == "a red circle"

    pages = render(filled.data, ".pptx")
    scale = pages[1].width / 13.333
    assert colourful_share(pages[1], (int(9 * scale), int(3 * scale), int(12 * scale), int(6 * scale))) > 0.9
    assert colourful_share(pages[5], (int(1 * scale), int(3 * scale), int(12 * scale), int(7 * scale))) < 0.02


def test_the_same_seed_policy_makes_a_matching_set(maker):
    spec = parse_spec({"seed": 5, "slides": [{"image": "a star", "layout": "image_only"}] * 2})
    filled = build_document(spec, ImageMaker(maker.engine, seed=5, seed_policy="same"))
    blobs = [pictures(slide)[0].image.blob for slide in pptx.Presentation(io.BytesIO(filled.data)).slides]
    assert blobs[0] == blobs[1]
    filled = build_document(spec, ImageMaker(maker.engine, seed=5, seed_policy="increment"))
    blobs = [pictures(slide)[0].image.blob for slide in pptx.Presentation(io.BytesIO(filled.data)).slides]
    assert blobs[0] != blobs[1]


def test_a_users_template_keeps_its_layouts(maker):
    template = pptx.Presentation()
    template.slide_layouts[5].name = "Company Title Only"
    template.slides.add_slide(template.slide_layouts[0])  # example slides are not kept
    buffer = io.BytesIO()
    template.save(buffer)
    spec = parse_spec({"title": "On our template", "slides": [{"title": "One", "image": "x"}]})
    deck = pptx.Presentation(io.BytesIO(build_document(spec, maker, template=buffer.getvalue()).data))
    assert len(deck.slides) == 2 and deck.slide_width == template.slide_width
    assert "Company Title Only" in [layout.name for layout in deck.slide_layouts]


def test_a_report_with_headings_and_captioned_figures(maker):
    spec = parse_spec(
        {
            "kind": "report",
            "title": "Report",
            "style": "pastel",
            "blocks": [
                {"heading": "Intro"},
                {"paragraph": "Text."},
                {"image": "a diamond", "caption": "A diamond"},
                {"heading": "More", "level": 2},
                {"image": "a heart", "caption": "A heart"},
            ],
        }
    )
    document = docx.Document(io.BytesIO(build_document(spec, maker).data))
    texts = [paragraph.text for paragraph in document.paragraphs]
    assert texts == ["Report", "Intro", "Text.", "", "Figure 1: A diamond", "More", "", "Figure 2: A heart"]
    assert document.paragraphs[1].style.name == "Heading 1" and document.paragraphs[5].style.name == "Heading 2"
    assert len(document.inline_shapes) == 2


def test_a_template_of_the_wrong_kind(maker):
    buffer = io.BytesIO()
    docx.Document().save(buffer)
    with pytest.raises(DocumentError) as raised:
        build_document(parse_spec({"title": "deck"}), maker, template=buffer.getvalue())
    assert raised.value.code == "wrong_template"


def test_every_spec_problem_is_listed_with_its_path():
    with pytest.raises(DocumentError) as raised:
        parse_spec(
            {
                "title": 5,
                "seed": -1,
                "colour": "red",
                "slides": [{"layout": "image_right"}, "text", {"bullets": "not a list", "layout": "sideways"}],
            }
        )
    assert raised.value.problems == [
        "colour: unknown field (known: kind, seed, seed_policy, slides, style, subtitle, title)",
        "title: must be text",
        "seed: must be a whole number 0-4294967295",
        "slides[0].image: layout image_right needs an image prompt",
        "slides[1]: must be an object",
        "slides[2].bullets: must be a list of text",
        "slides[2].layout: must be one of image_right, image_left, background, image_only, text",
    ]
    with pytest.raises(DocumentError) as raised:
        parse_spec({"kind": "report", "blocks": [{"heading": "a", "paragraph": "b"}, {"image": " "}]})
    assert raised.value.problems == [
        "blocks[0]: needs exactly one of heading, paragraph, image",
        "blocks[1].image: must be a non-empty prompt",
    ]
    with pytest.raises(DocumentError):
        load_spec_text("slides: [unclosed")


def test_a_yaml_spec_with_anchors_or_aliases_is_refused_before_it_expands():
    """A 1 MB spec of nested aliases would expand to terabytes of bullets: it is refused unread."""
    from addin_server.documents.spec import load_spec_text

    ten = lambda name: "[" + ", ".join([name] * 10) + "]"  # noqa: E731
    bomb = f"a: &a {ten('x')}\nb: &b {ten('*a')}\nc: &c {ten('*b')}\nslides:\n  - title: boom\n    bullets: *c\n"
    with pytest.raises(DocumentError) as raised:
        load_spec_text(bomb)
    assert raised.value.code == "invalid_spec" and "anchor or alias at line 1" in str(raised.value)


def test_every_list_and_text_in_a_spec_has_a_cap():
    from addin_server.documents.spec import MAX_BULLETS, MAX_TEXT_CHARS

    long = "x" * (MAX_TEXT_CHARS + 1)
    with pytest.raises(DocumentError) as raised:
        parse_spec(
            {
                "title": long,
                "slides": [{"title": "t", "bullets": ["b"] * (MAX_BULLETS + 1)}, {"title": "u", "bullets": [long]}],
            }
        )
    assert raised.value.problems == [
        f"title: at most {MAX_TEXT_CHARS} characters, got {MAX_TEXT_CHARS + 1}",
        f"slides[0].bullets: at most {MAX_BULLETS} entries, got {MAX_BULLETS + 1}",
        f"slides[1].bullets[0]: at most {MAX_TEXT_CHARS} characters, got {MAX_TEXT_CHARS + 1}",
    ]


def test_an_aliased_spec_is_a_400_over_http(client):
    spec = "title: &t Deck\nsubtitle: *t\n"
    answer = client.post("/api/documents", data={"spec": spec}, content_type="multipart/form-data")
    assert answer.status_code == 400 and "anchor or alias" in answer.get_json()["error"]["message"]
