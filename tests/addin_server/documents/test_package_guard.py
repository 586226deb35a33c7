"""Unsafe or wrong files are refused before any parser reads them, each with a clear message."""

from __future__ import annotations

import io
import zipfile

import docx
import pptx
import pytest

from addin_server.documents.errors import DocumentError
from addin_server.documents.package_guard import check_package
from tests.addin_server.documents.conftest import parts_of


def pptx_bytes() -> bytes:
    buffer = io.BytesIO()
    pptx.Presentation().save(buffer)
    return buffer.getvalue()


def rezip(data: bytes, change) -> bytes:
    parts = parts_of(data)
    change(parts)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, part in parts.items():
            archive.writestr(name, part)
    return buffer.getvalue()


def refused(data: bytes) -> DocumentError:
    with pytest.raises(DocumentError) as raised:
        check_package(data)
    return raised.value


def test_plain_files_pass_and_templates_become_documents():
    assert check_package(pptx_bytes()).kind == "pptx"
    buffer = io.BytesIO()
    docx.Document().save(buffer)
    assert check_package(buffer.getvalue()).kind == "docx"
    potx = rezip(
        pptx_bytes(),
        lambda parts: parts.update(
            {
                "[Content_Types].xml": parts["[Content_Types].xml"].replace(
                    b"presentationml.presentation.main+xml", b"presentationml.template.main+xml"
                )
            }
        ),
    )
    checked = check_package(potx)
    assert checked.kind == "pptx" and pptx.Presentation(io.BytesIO(checked.data)).slide_layouts


def test_not_a_zip():
    assert refused(b"%PDF-1.7 not an office file").code == "not_office_document"


def test_a_damaged_zip():
    data = pptx_bytes()
    error = refused(data[: len(data) // 2])
    assert error.code in ("not_office_document", "corrupt_document")


def test_password_protected():
    error = refused(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    assert error.code == "encrypted_document" and "password-protected" in error.message


def test_a_zip_that_is_not_office():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hi")
    assert "no [Content_Types].xml" in refused(buffer.getvalue()).message


def test_an_excel_file():
    data = rezip(
        pptx_bytes(),
        lambda parts: parts.update(
            {
                "[Content_Types].xml": parts["[Content_Types].xml"].replace(
                    b"application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
                    b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                )
            }
        ),
    )
    assert "neither a PowerPoint presentation nor a Word document" in refused(data).message


def test_macro_enabled_files_are_refused():
    data = rezip(
        pptx_bytes(),
        lambda parts: parts.update(
            {
                "[Content_Types].xml": parts["[Content_Types].xml"].replace(
                    b"application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
                    b"application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml",
                )
            }
        ),
    )
    assert refused(data).code == "macros_not_allowed"


def test_xml_with_entity_declarations():
    bomb = b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><a>&lol2;</a>'
    data = rezip(pptx_bytes(), lambda parts: parts.update({"ppt/presentation.xml": bomb}))
    error = refused(data)
    assert error.code == "unsafe_xml" and "ppt/presentation.xml" in error.message


def test_a_zip_bomb_is_refused_from_its_directory():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("ppt/media/huge.bin", b"\0" * (64 * 1024 * 1024))
    error = refused(buffer.getvalue())
    assert error.code == "too_large" and "zip bomb" in error.message


PPTX_MAIN = b"application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"
PPTM_MAIN = b"application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml"


def test_the_kind_comes_from_the_main_part_not_from_a_comment():
    """A macro-enabled deck that mentions the .pptx type in an XML comment is still macro-enabled."""

    def disguise(parts):
        types = parts["[Content_Types].xml"].replace(PPTX_MAIN, PPTM_MAIN)
        parts["[Content_Types].xml"] = types.replace(b"<Types", b"<!-- " + PPTX_MAIN + b" --><Types", 1)
        parts["ppt/vbaProject.bin"] = b"\xd0\xcf\x11\xe0 a VBA project"

    assert refused(rezip(pptx_bytes(), disguise)).code == "macros_not_allowed"


def test_a_vba_project_is_refused_even_in_a_plain_deck():
    data = rezip(pptx_bytes(), lambda parts: parts.update({"ppt/vbaProject.bin": b"\xd0\xcf\x11\xe0 macros"}))
    assert refused(data).code == "macros_not_allowed"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-8-sig"])
@pytest.mark.parametrize("name", ["ppt/slides/slide9.xml", "customXml/item1.dat", "ppt/notes"])
def test_entity_declarations_are_found_in_any_xml_part_whatever_its_name_or_encoding(encoding, name):
    bomb = '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "x">]><a>&x;</a>'.encode(encoding)
    error = refused(rezip(pptx_bytes(), lambda parts: parts.update({name: bomb})))
    assert error.code == "unsafe_xml" and name in error.message


def test_an_xml_part_larger_than_real_documents_have_is_refused(tmp_path):
    import random

    from addin_server.documents.package_guard import MAX_XML_PART_BYTES

    words = random.Random(3).choices(["<a:t>", "shape", "</a:t>", "slide", "text", "x"], k=MAX_XML_PART_BYTES // 3)
    slide = ("<p:sld>" + " ".join(words) + "</p:sld>").encode()
    error = refused(rezip(pptx_bytes(), lambda parts: parts.update({"ppt/slides/slide1.xml": slide})))
    assert error.code == "too_large" and "ppt/slides/slide1.xml" in error.message


def test_the_compression_ratio_is_checked_on_small_parts_too():
    def squeeze(parts):
        parts["ppt/slides/slide7.xml"] = b"<p:sld>" + b" " * 900_000 + b"</p:sld>"  # 0.9 MB, ~1000:1

    error = refused(rezip(pptx_bytes(), squeeze))
    assert error.code == "too_large" and "slide7.xml" in error.message
