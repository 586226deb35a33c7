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
