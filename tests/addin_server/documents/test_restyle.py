"""Restyling a file: every embedded picture (or those named) is redrawn from itself in one style with one
seed, keeping its place, size, crop and alt text; linked pictures are left alone with a note. python-pptx,
python-docx and LibreOffice read every output again."""

from __future__ import annotations

import io
import json

import docx
import numpy as np
import pptx
import pytest
from docx.shared import Inches as DocxInches
from PIL import Image
from pptx.enum.shapes import MSO_SHAPE_TYPE
from pptx.opc.constants import RELATIONSHIP_TYPE as RT
from pptx.oxml.ns import qn
from pptx.util import Inches

from addin_server.cli import main
from addin_server.documents.errors import DocumentError
from addin_server.documents.fill import fill_document, parse_fill_options, plan_fill
from addin_server.documents.images import ImageMaker


def photo(colour: tuple[int, int, int], size: tuple[int, int] = (300, 200)) -> io.BytesIO:
    picture = Image.new("RGB", size, colour)
    picture.paste((255, 255, 255), (size[0] // 3, size[1] // 3, size[0] // 2, size[1] // 2))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    buffer.seek(0)
    return buffer


def deck_with_pictures(linked: bool = True) -> bytes:
    deck = pptx.Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[6])
    first = slide.shapes.add_picture(photo((200, 40, 40)), Inches(1), Inches(1), Inches(3), Inches(2))
    first._element.xpath("./p:nvPicPr/p:cNvPr")[0].set("descr", "a red circle")
    first.crop_left = 0.1
    second = deck.slides.add_slide(deck.slide_layouts[6])
    second.shapes.add_picture(photo((40, 40, 200), (200, 200)), Inches(5), Inches(2), Inches(2), Inches(2))
    if linked:
        third = second.shapes.add_picture(photo((40, 200, 40)), Inches(1), Inches(4), Inches(2), Inches(1.5))
        blip = third._element.xpath("./p:blipFill/a:blip")[0]
        rid = blip.get(qn("r:embed"))
        link = second.part.relate_to("https://intranet.example/logo.png", RT.IMAGE, is_external=True)
        del blip.attrib[qn("r:embed")]
        blip.set(qn("r:link"), link)
        second.part.drop_rel(rid)
    buffer = io.BytesIO()
    deck.save(buffer)
    return buffer.getvalue()


def pictures_of(data: bytes) -> list[dict]:
    deck = pptx.Presentation(io.BytesIO(data))
    found = []
    for slide in deck.slides:
        for shape in slide.shapes:
            if shape.shape_type == MSO_SHAPE_TYPE.PICTURE:
                blip = shape._element.xpath("./p:blipFill/a:blip")[0]
                rid = blip.get(qn("r:embed"))
                found.append(
                    {
                        "box": (shape.left, shape.top, shape.width, shape.height),
                        "crop": shape.crop_left,
                        "alt": shape._element.xpath("./p:nvPicPr/p:cNvPr")[0].get("descr"),
                        "image": slide.part.related_part(rid).blob if rid else None,
                    }
                )
    return found


def test_a_restyled_deck_keeps_every_picture_in_its_place(maker, render):
    original = deck_with_pictures()
    options = parse_fill_options({"restyle": "flat", "strength": 0.6})
    filled = fill_document(original, options, maker)
    before, after = pictures_of(original), pictures_of(filled.data)
    assert filled.pictures == 2 and len(after) == len(before) == 3
    for old, new in zip(before, after):
        assert (new["box"], new["crop"], new["alt"]) == (old["box"], old["crop"], old["alt"])
    assert after[0]["image"] != before[0]["image"] and after[1]["image"] != before[1]["image"]
    assert after[2]["image"] is None  # the linked picture: left alone, never fetched
    redrawn = Image.open(io.BytesIO(after[0]["image"]))
    assert "compositeWithTrainedAlgorithmicMedia" in redrawn.text["XML:com.adobe.xmp"]
    assert redrawn.text["prompt"] == "a red circle, flat colours, simple shapes"
    seeds = {Image.open(io.BytesIO(item["image"])).text["seed"] for item in after[:2]}
    assert len(seeds) == 1  # one seed for the set
    assert len(render(filled.data, ".pptx")) == 2  # LibreOffice opens it


def test_only_the_named_pictures_are_redrawn_and_the_notes_say_what_was_left(maker):
    from addin_server.documents.fill import plan_fill

    original = deck_with_pictures()
    plan = plan_fill(original, parse_fill_options({"restyle": "watercolour", "pictures": [2, 3]}), maker)
    assert len(plan.orders) == 1 and plan.notes == [
        "slide 2, picture 2: a linked picture, left alone (it is never fetched)"
    ]
    after = pictures_of(plan.run(maker).data)
    before = pictures_of(original)
    assert after[0]["image"] == before[0]["image"] and after[1]["image"] != before[1]["image"]


def test_a_restyled_word_report_keeps_its_pictures(maker, render):
    document = docx.Document()
    document.add_paragraph("Intro")
    document.add_picture(photo((200, 40, 40)), width=DocxInches(3))
    document.inline_shapes[0]._inline.docPr.set("descr", "a red circle")
    document.add_paragraph("Outro")
    buffer = io.BytesIO()
    document.save(buffer)
    filled = fill_document(buffer.getvalue(), parse_fill_options({"restyle": "sketch"}), maker)
    reopened = docx.Document(io.BytesIO(filled.data))
    [shape] = reopened.inline_shapes
    assert shape.width == DocxInches(3) and shape._inline.docPr.get("descr") == "a red circle"
    assert [p.text for p in reopened.paragraphs if p.text] == ["Intro", "Outro"]
    assert render(filled.data, ".docx")


def test_strength_near_zero_keeps_the_pictures(maker):
    original = deck_with_pictures(linked=False)
    filled = fill_document(original, parse_fill_options({"restyle": "flat", "strength": 0.01}), maker)
    old = np.asarray(
        Image.open(io.BytesIO(pictures_of(original)[1]["image"])).convert("RGB").resize((64, 64)), dtype=np.int16
    )
    new = np.asarray(
        Image.open(io.BytesIO(pictures_of(filled.data)[1]["image"])).convert("RGB").resize((64, 64)), dtype=np.int16
    )
    assert np.abs(old - new).mean() < 8


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"restyle": ""}, "restyle: must be a style name or phrase"),
        ({"strength": 0.5}, "strength, pictures: only with restyle"),
        ({"restyle": "flat", "strength": 2}, "strength: must be a number from 0 to 1"),
        ({"restyle": "flat", "pictures": "all"}, "pictures: must be a list"),
        ({"restyle": "flat", "targets": [{"prompt": "x", "slide": 1}]}, "restyle: redraws the file's own pictures"),
    ],
)
def test_bad_restyle_options_are_listed(options, problem):
    with pytest.raises(DocumentError) as raised:
        parse_fill_options(options)
    assert any(item.startswith(problem) for item in raised.value.problems), raised.value.problems


def test_a_picture_number_the_file_lacks_and_a_file_without_pictures(maker):
    with pytest.raises(DocumentError) as raised:
        fill_document(deck_with_pictures(), parse_fill_options({"restyle": "flat", "pictures": [9]}), maker)
    assert raised.value.problems == ["pictures: 9 is not 1-3"]
    empty = io.BytesIO()
    pptx.Presentation().save(empty)
    with pytest.raises(DocumentError, match="no embedded pictures"):
        fill_document(empty.getvalue(), parse_fill_options({"restyle": "flat"}), maker)


def test_the_cli_restyles_a_deck(tmp_path, test_model_dir, monkeypatch, capsys):
    monkeypatch.setenv("ENGINE_MODEL", str(test_model_dir))
    source = tmp_path / "deck.pptx"
    source.write_bytes(deck_with_pictures())
    out = tmp_path / "out.pptx"
    assert (
        main(["fill", str(source), "--restyle", "flat pastel", "--strength", "0.5", "--seed", "4", "-o", str(out)]) == 0
    )
    captured = capsys.readouterr()
    assert "2 images" in captured.out and "linked picture, left alone" in captured.err
    assert len(pictures_of(out.read_bytes())) == 3
    json.dumps(pictures_of(out.read_bytes())[0]["box"])


def test_the_api_restyles_and_its_job_carries_the_notes(client):
    import time

    response = client.post(
        "/api/documents/fill",
        data={
            "file": (io.BytesIO(deck_with_pictures()), "deck.pptx"),
            "options": json.dumps({"restyle": "flat", "seed": 7}),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 202, response.get_json()
    job = response.get_json()
    assert job["notes"] == ["slide 2, picture 2: a linked picture, left alone (it is never fetched)"]
    deadline = time.monotonic() + 60
    while (download := client.get(f"/api/documents/{job['id']}")).status_code == 202:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert download.status_code == 200 and len(pictures_of(download.data)) == 3
    assert client.get(f"/api/documents/{job['id']}/status").get_json()["notes"] == job["notes"]


def deck_showing_one_picture(copies: int, picture: bytes | None = None) -> bytes:
    """One slide whose single image part is shown by `copies` pictures (an XML copy each, as a restyle bomb
    makes them); `picture` replaces that image part's bytes (say, a header claiming huge dimensions)."""
    import copy
    import random

    rng = random.Random(copies)
    deck = pptx.Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[6])
    shape = slide.shapes.add_picture(photo((200, 40, 40), (64, 64)), Inches(1), Inches(1), Inches(1), Inches(1))
    for number in range(copies - 1):
        twin = copy.deepcopy(shape._element)
        names = twin.xpath("./p:nvPicPr/p:cNvPr")[0]  # random names, so the slide does not compress like a bomb
        names.set("id", str(number + 100))
        names.set("descr", "".join(rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=200)))
        shape._element.addnext(twin)
    if picture is not None:
        rid = shape._element.xpath("./p:blipFill/a:blip")[0].get(qn("r:embed"))
        slide.part.related_part(rid)._blob = picture
    buffer = io.BytesIO()
    deck.save(buffer)
    return buffer.getvalue()


def counting_decodes(monkeypatch) -> list[str]:
    """The pictures restyling decodes, in order."""
    from addin_server.documents import restyle

    decoded: list[str] = []

    def read_picture(data, field, max_pixels):
        decoded.append(field)
        return real(data, field, max_pixels)

    real = restyle.read_picture
    monkeypatch.setattr(restyle, "read_picture", read_picture)
    return decoded


def test_a_restyle_past_the_image_limit_is_refused_before_any_picture_is_decoded(engine, monkeypatch):
    decoded = counting_decodes(monkeypatch)
    maker = ImageMaker(engine, seed=1, max_images=100)
    with pytest.raises(DocumentError) as raised:
        plan_fill(deck_showing_one_picture(2000), parse_fill_options({"restyle": "flat"}), maker)
    assert raised.value.code == "too_many_images" and "2000 images" in str(raised.value)
    assert decoded == []


def test_a_picture_shown_many_times_is_decoded_once(engine, monkeypatch):
    decoded = counting_decodes(monkeypatch)
    plan = plan_fill(deck_showing_one_picture(30), parse_fill_options({"restyle": "flat"}), ImageMaker(engine, seed=1))
    assert len(plan.orders) == 30 and len(decoded) == 1
    assert len({id(order.source_image) for order in plan.orders}) == 1  # one fitted copy, shared


def test_a_picture_past_the_upload_pixel_cap_is_left_alone_undecoded(engine):
    huge = decompression_bomb_png(8192, 8192)
    maker = ImageMaker(engine, seed=1, max_picture_pixels=4096 * 4096)
    with pytest.raises(DocumentError) as raised:
        plan_fill(deck_showing_one_picture(3, huge), parse_fill_options({"restyle": "flat"}), maker)
    assert raised.value.code == "nothing_to_fill"
    assert all("8192×8192 pixels" in problem for problem in raised.value.problems)


def test_a_picture_reference_that_is_external_or_missing_is_a_note(maker):
    deck = pptx.Presentation(io.BytesIO(deck_with_pictures(linked=False)))
    slides = list(deck.slides)
    first = slides[0].shapes[0]._element.xpath("./p:blipFill/a:blip")[0]
    first.set(qn("r:embed"), slides[0].part.relate_to("https://intranet.example/a.png", RT.IMAGE, is_external=True))
    slides[1].shapes[0]._element.xpath("./p:blipFill/a:blip")[0].set(qn("r:embed"), "rId999")
    buffer = io.BytesIO()
    deck.save(buffer)
    with pytest.raises(DocumentError) as raised:
        plan_fill(buffer.getvalue(), parse_fill_options({"restyle": "flat"}), maker)
    assert raised.value.code == "nothing_to_fill"
    assert raised.value.problems == [
        "slide 1, picture 1: a linked picture, left alone (it is never fetched)",
        "slide 2, picture 1: left alone (its picture 'rId999' is missing from the file)",
    ]


def test_markers_past_the_image_limit_are_refused_before_any_is_sized(engine, monkeypatch):
    from addin_server.documents import fill

    sized: list[tuple] = []
    monkeypatch.setattr(fill, "generation_size", lambda *args: sized.append(args) or (64, 64))
    deck = pptx.Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[6])
    for number in range(101):
        box = slide.shapes.add_textbox(Inches(number % 10), Inches(number // 10 % 7), Inches(1), Inches(1))
        box.text_frame.text = f"{{{{image: star {number}}}}}"
    buffer = io.BytesIO()
    deck.save(buffer)
    with pytest.raises(DocumentError) as raised:
        plan_fill(buffer.getvalue(), parse_fill_options({}), ImageMaker(engine, max_images=100))
    assert raised.value.code == "too_many_images" and sized == []


def decompression_bomb_png(width: int, height: int) -> bytes:
    """A small PNG whose header claims `width`×`height` pixels."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")
