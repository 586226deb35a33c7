"""Saving big files fast: pictures and media are already compressed, so they are stored, not deflated again.

python-pptx and python-docx deflate every part when they save (about 1 s per 50 MB of pictures on a small
CPU, for no gain). They offer no option, so `install()` gives their writers a `ZipFile` that stores media
parts and deflates the rest. Reading is untouched.
"""

from __future__ import annotations

import types
import zipfile

ALREADY_COMPRESSED = (
    ".png",
    ".jpg",
    ".jpeg",
    ".gif",
    ".tif",
    ".tiff",
    ".wdp",
    ".mp3",
    ".m4a",
    ".mp4",
    ".mov",
    ".webm",
    ".wmv",
    ".zip",
)


class MediaStoringZipFile(zipfile.ZipFile):
    """A `ZipFile` whose `writestr` stores already-compressed media whatever compression was asked for."""

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None):  # noqa: D102
        name = zinfo_or_arcname if isinstance(zinfo_or_arcname, str) else zinfo_or_arcname.filename
        if name.lower().endswith(ALREADY_COMPRESSED):
            compress_type = zipfile.ZIP_STORED
            if isinstance(zinfo_or_arcname, zipfile.ZipInfo):
                zinfo_or_arcname.compress_type = zipfile.ZIP_STORED
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)


def install() -> None:
    """Point python-pptx's and python-docx's package writers at `MediaStoringZipFile` (idempotent)."""
    import docx.opc.phys_pkg as docx_package
    import pptx.opc.serialized as pptx_package

    if getattr(pptx_package.zipfile, "ZipFile", None) is not MediaStoringZipFile:
        media_storing = types.SimpleNamespace(**{**vars(zipfile), "ZipFile": MediaStoringZipFile})
        pptx_package.zipfile = media_storing  # type: ignore[assignment]
    docx_package.ZipFile = MediaStoringZipFile  # type: ignore[misc]
