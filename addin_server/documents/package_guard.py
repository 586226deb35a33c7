"""Checks an uploaded Office file before any parser sees it: the right kind, not encrypted, no macros,
not a zip bomb, no XML entity declarations. External relationships are never fetched by anything here.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass

from addin_server.documents.errors import DocumentError

#: Caps on what a package may unpack to, checked from the zip directory before reading any part.
MAX_UNCOMPRESSED_BYTES = 512 * 1024 * 1024
MAX_PARTS = 10_000
MAX_COMPRESSION_RATIO = 200

_OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # encrypted OOXML lives in an OLE compound file
_DOCTYPE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)

MAIN_CONTENT_TYPES = {
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": ("pptx", False),
    "application/vnd.openxmlformats-officedocument.presentationml.template.main+xml": ("pptx", False),
    "application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml": ("pptx", True),
    "application/vnd.ms-powerpoint.template.macroEnabled.main+xml": ("pptx", True),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": ("docx", False),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml": ("docx", False),
    "application/vnd.ms-word.document.macroEnabled.main+xml": ("docx", True),
    "application/vnd.ms-word.template.macroEnabledTemplate.main+xml": ("docx", True),
}
_OPENXML = "application/vnd.openxmlformats-officedocument."
_TEMPLATE_TYPES = {
    f"{_OPENXML}presentationml.template.main+xml": f"{_OPENXML}presentationml.presentation.main+xml",
    f"{_OPENXML}wordprocessingml.template.main+xml": f"{_OPENXML}wordprocessingml.document.main+xml",
}


@dataclass(frozen=True)
class CheckedPackage:
    """An Office package that passed every check; `kind` is "pptx" or "docx"; `data` is ready to open."""

    kind: str
    data: bytes


def check_package(data: bytes) -> CheckedPackage:
    """Refuse anything that is not a plain, safe PowerPoint or Word package; templates come back as documents."""
    if data.startswith(_OLE_SIGNATURE):
        raise DocumentError(
            "the file is password-protected (encrypted) or an old binary Office file; "
            "save it without a password as .pptx or .docx",
            code="encrypted_document",
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise DocumentError(
            "the file is not a PowerPoint or Word file (not a zip package)", code="not_office_document"
        ) from None
    with archive:
        entries = archive.infolist()
        _check_sizes(entries)
        names = {entry.filename for entry in entries}
        if "[Content_Types].xml" not in names:
            raise DocumentError(
                "the file is a zip but not an Office package (no [Content_Types].xml)", code="not_office_document"
            )
        try:
            for entry in entries:
                if entry.filename.endswith((".xml", ".rels")) and _DOCTYPE.search(archive.read(entry)):
                    raise DocumentError(
                        "the file contains XML with a DOCTYPE or entity declarations, "
                        f"which Office never writes ({entry.filename})",
                        code="unsafe_xml",
                    )
            content_types = archive.read("[Content_Types].xml")
        except (zipfile.BadZipFile, OSError, EOFError, zipfile.LargeZipFile) as error:
            raise DocumentError(f"the package is damaged: {error}", code="corrupt_document") from None
    kind, macros = _kind(content_types)
    if macros:
        raise DocumentError(
            "macro-enabled files (.pptm, .docm) are refused; save as .pptx or .docx", code="macros_not_allowed"
        )
    return CheckedPackage(kind=kind, data=_as_document(data, content_types))


def _check_sizes(entries: list[zipfile.ZipInfo]) -> None:
    if len(entries) > MAX_PARTS:
        raise DocumentError(f"the package has {len(entries)} parts (most allowed {MAX_PARTS})", code="too_large")
    total = sum(entry.file_size for entry in entries)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise DocumentError(
            f"the package unpacks to {total} bytes (most allowed {MAX_UNCOMPRESSED_BYTES})", code="too_large"
        )
    for entry in entries:
        if (
            entry.compress_size
            and entry.file_size / entry.compress_size > MAX_COMPRESSION_RATIO
            and entry.file_size > 1 << 20
        ):
            raise DocumentError(
                f"part {entry.filename} is compressed {entry.file_size // entry.compress_size}:1, like a zip bomb",
                code="too_large",
            )


def _kind(content_types: bytes) -> tuple[str, bool]:
    for content_type, (kind, macros) in MAIN_CONTENT_TYPES.items():
        if content_type.encode() in content_types:
            return kind, macros
    raise DocumentError(
        "the package is neither a PowerPoint presentation nor a Word document (an Excel file?)",
        code="not_office_document",
    )


def _as_document(data: bytes, content_types: bytes) -> bytes:
    """python-pptx and python-docx open .potx/.dotx only once their main part claims to be a document."""
    for template, document in _TEMPLATE_TYPES.items():
        if template.encode() in content_types:
            source, target = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
            with source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
                for entry in source.infolist():
                    part = source.read(entry)
                    if entry.filename == "[Content_Types].xml":
                        part = part.replace(template.encode(), document.encode())
                    out.writestr(entry, part)
            return target.getvalue()
    return data
