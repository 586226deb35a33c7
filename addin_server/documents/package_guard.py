"""Checks an uploaded Office file before any parser sees it: the right kind, not encrypted, no macros, not a
zip bomb, no XML entity declarations, no XML part larger than real documents have. External relationships are
never fetched by anything here.

    1. not encrypted, and a zip package
    2. sizes, from the zip directory before reading a part: parts, total unpacked, each part's ratio
    3. which parts are XML (by content type, and by their first bytes) and their sizes
    4. no DOCTYPE or entity declaration in any XML part, whatever its name or encoding
    5. the kind, from the main part's content type in the parsed [Content_Types].xml
    6. no macros: neither a macro-enabled main part nor a VBA project anywhere
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from dataclasses import dataclass

from lxml import etree

from addin_server.documents.errors import DocumentError

#: Caps on what a package may unpack to, checked from the zip directory before reading any part. lxml takes
#: tens of bytes of memory per byte of XML it parses, so XML is capped far below media (README: the sizes
#: real decks and reports have).
MAX_UNCOMPRESSED_BYTES = 256 * 1024 * 1024
MAX_PARTS = 10_000
MAX_COMPRESSION_RATIO = 200
MAX_XML_PART_BYTES = 8 * 1024 * 1024
MAX_XML_BYTES = 24 * 1024 * 1024

_OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # encrypted OOXML lives in an OLE compound file
_DOCTYPE = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_OFFICE_DOCUMENT = "/officeDocument"
_CONTENT_TYPES_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_RELATIONSHIPS_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
#: Byte-order marks and the first bytes of "<?" in the encodings XML may come in.
_ENCODINGS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00", "utf-16-le"),
    (b"\x00<", "utf-16-be"),
)

_OPENXML = "application/vnd.openxmlformats-officedocument."
MAIN_CONTENT_TYPES = {
    f"{_OPENXML}presentationml.presentation.main+xml": ("pptx", False),
    f"{_OPENXML}presentationml.template.main+xml": ("pptx", False),
    "application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml": ("pptx", True),
    "application/vnd.ms-powerpoint.template.macroEnabled.main+xml": ("pptx", True),
    f"{_OPENXML}wordprocessingml.document.main+xml": ("docx", False),
    f"{_OPENXML}wordprocessingml.template.main+xml": ("docx", False),
    "application/vnd.ms-word.document.macroEnabled.main+xml": ("docx", True),
    "application/vnd.ms-word.template.macroEnabledTemplate.main+xml": ("docx", True),
}
_TEMPLATE_TYPES = {
    f"{_OPENXML}presentationml.template.main+xml": f"{_OPENXML}presentationml.presentation.main+xml",
    f"{_OPENXML}wordprocessingml.template.main+xml": f"{_OPENXML}wordprocessingml.document.main+xml",
}
_SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


@dataclass(frozen=True)
class CheckedPackage:
    """An Office package that passed every check; `kind` is "pptx" or "docx"; `data` is ready to open."""

    kind: str
    data: bytes


@dataclass(frozen=True)
class _ContentTypes:
    """[Content_Types].xml, parsed: a type per part name (overrides) and per file extension (defaults)."""

    overrides: dict[str, str]
    defaults: dict[str, str]

    def of(self, part_name: str) -> str:
        name = "/" + part_name.lstrip("/")
        extension = posixpath.splitext(name)[1].lstrip(".").lower()
        return self.overrides.get(name.lower(), self.defaults.get(extension, ""))


def check_package(data: bytes) -> CheckedPackage:
    """Refuse anything that is not a plain, safe PowerPoint or Word package; templates come back as documents."""
    # 1. Not encrypted, and a zip.
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
        # 2. Sizes from the directory.
        entries = archive.infolist()
        _check_sizes(entries)
        if "[Content_Types].xml" not in {entry.filename for entry in entries}:
            raise DocumentError(
                "the file is a zip but not an Office package (no [Content_Types].xml)", code="not_office_document"
            )
        try:
            # 3-4. The XML parts: within their caps, and free of DOCTYPE and entities.
            content_types = _content_types(archive)
            _check_xml_parts(archive, entries, content_types)
            # 5-6. The kind, and no macros.
            main_type = content_types.of(_main_part(archive))
        except (zipfile.BadZipFile, OSError, EOFError, zipfile.LargeZipFile) as error:
            raise DocumentError(f"the package is damaged: {error}", code="corrupt_document") from None
        kind, macros = _kind(main_type)
        if macros or any(_is_macro_part(entry.filename, content_types) for entry in entries):
            raise DocumentError(
                "macro-enabled files (.pptm, .docm) are refused; save as .pptx or .docx", code="macros_not_allowed"
            )
    return CheckedPackage(kind=kind, data=_as_document(data, main_type))


def _check_sizes(entries: list[zipfile.ZipInfo]) -> None:
    if len(entries) > MAX_PARTS:
        raise DocumentError(f"the package has {len(entries)} parts (most allowed {MAX_PARTS})", code="too_large")
    total = sum(entry.file_size for entry in entries)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise DocumentError(
            f"the package unpacks to {total} bytes (most allowed {MAX_UNCOMPRESSED_BYTES})", code="too_large"
        )
    for entry in entries:
        if entry.file_size > MAX_COMPRESSION_RATIO * max(entry.compress_size, 1):
            raise DocumentError(
                f"part {entry.filename} is compressed {entry.file_size // max(entry.compress_size, 1)}:1, "
                "like a zip bomb",
                code="too_large",
            )


def _content_types(archive: zipfile.ZipFile) -> _ContentTypes:
    raw = archive.read("[Content_Types].xml")
    _refuse_declarations("[Content_Types].xml", raw)
    try:
        root = etree.fromstring(raw, _SAFE_PARSER)
    except etree.XMLSyntaxError as error:
        raise DocumentError(f"the package's [Content_Types].xml is not XML: {error}", code="corrupt_document") from None
    overrides = {
        str(item.get("PartName", "")).lower(): str(item.get("ContentType", ""))
        for item in root.iter(f"{_CONTENT_TYPES_NS}Override")
    }
    defaults = {
        str(item.get("Extension", "")).lower(): str(item.get("ContentType", ""))
        for item in root.iter(f"{_CONTENT_TYPES_NS}Default")
    }
    return _ContentTypes(overrides, defaults)


def _check_xml_parts(archive: zipfile.ZipFile, entries: list[zipfile.ZipInfo], types: _ContentTypes) -> None:
    """Every part that is XML by its content type or by its first bytes: within the caps, no declarations."""
    total = 0
    for entry in entries:
        if entry.is_dir():
            continue
        with archive.open(entry) as part:
            start = part.read(8)
        if not (types.of(entry.filename).endswith("xml") or _encoding_of(start) or start.lstrip().startswith(b"<")):
            continue
        if entry.file_size > MAX_XML_PART_BYTES:
            raise DocumentError(
                f"XML part {entry.filename} is {entry.file_size} bytes (most allowed {MAX_XML_PART_BYTES})",
                code="too_large",
            )
        total += entry.file_size
        if total > MAX_XML_BYTES:
            raise DocumentError(f"the package holds over {MAX_XML_BYTES} bytes of XML", code="too_large")
        _refuse_declarations(entry.filename, archive.read(entry))


def _encoding_of(start: bytes) -> str | None:
    return next((encoding for mark, encoding in _ENCODINGS if start.startswith(mark)), None)


def _refuse_declarations(name: str, raw: bytes) -> None:
    text = raw.decode(_encoding_of(raw[:8]) or "latin-1", errors="replace")
    if _DOCTYPE.search(text):
        raise DocumentError(
            f"the file contains XML with a DOCTYPE or entity declarations, which Office never writes ({name})",
            code="unsafe_xml",
        )


def _main_part(archive: zipfile.ZipFile) -> str:
    """The part the package's own relationships name as its office document (e.g. ppt/presentation.xml)."""
    try:
        raw = archive.read("_rels/.rels")
    except KeyError:
        raise DocumentError("the package has no relationships (_rels/.rels)", code="not_office_document") from None
    try:
        root = etree.fromstring(raw, _SAFE_PARSER)
    except etree.XMLSyntaxError as error:
        raise DocumentError(f"the package's _rels/.rels is not XML: {error}", code="corrupt_document") from None
    for relationship in root.iter(f"{_RELATIONSHIPS_NS}Relationship"):
        if str(relationship.get("Type", "")).endswith(_OFFICE_DOCUMENT):
            return str(relationship.get("Target", "")).lstrip("/")
    raise DocumentError("the package names no main document part", code="not_office_document")


def _kind(main_type: str) -> tuple[str, bool]:
    if main_type in MAIN_CONTENT_TYPES:
        return MAIN_CONTENT_TYPES[main_type]
    raise DocumentError(
        "the package is neither a PowerPoint presentation nor a Word document (an Excel file?)",
        code="not_office_document",
    )


def _is_macro_part(name: str, types: _ContentTypes) -> bool:
    """A VBA project (or its signature), by content type or by the name Office gives it."""
    return "vbaproject" in types.of(name).lower() or posixpath.basename(name).lower().startswith("vbaproject")


def _as_document(data: bytes, main_type: str) -> bytes:
    """python-pptx and python-docx open .potx/.dotx only once their main part claims to be a document."""
    document = _TEMPLATE_TYPES.get(main_type)
    if document is None:
        return data
    source, target = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for entry in source.infolist():
            part = source.read(entry)
            if entry.filename == "[Content_Types].xml":
                part = part.replace(main_type.encode(), document.encode())
            out.writestr(entry, part)
    return target.getvalue()
