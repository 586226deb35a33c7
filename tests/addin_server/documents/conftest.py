"""Fixtures for document tests: an engine on the tiny model, and LibreOffice as the second reader."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pypdfium2
import pytest
from PIL import Image

from addin_server.documents.images import ImageMaker
from engine.local import LocalEngine
from engine.model_sources import ModelRegistry
from engine.settings import EngineSettings


@pytest.fixture(scope="session")
def engine(test_model_dir):
    settings = EngineSettings(default_model=str(test_model_dir), max_wait_ms=5)
    engine = LocalEngine(settings, ModelRegistry.from_settings("", settings.default_model))
    yield engine
    engine.close()


@pytest.fixture
def maker(engine) -> ImageMaker:
    return ImageMaker(engine, seed=1)


@pytest.fixture(scope="session")
def render(tmp_path_factory):
    """Convert an Office file to PDF with LibreOffice and return the pages as images (width 1000 px)."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.fail("LibreOffice is not installed (scripts/test.sh installs it with apt-get)")
    profile = tmp_path_factory.mktemp("lo-profile")

    def to_pages(data: bytes, suffix: str) -> list[Image.Image]:
        folder = tmp_path_factory.mktemp("render")
        source = folder / f"document{suffix}"
        source.write_bytes(data)
        subprocess.run(
            [
                soffice,
                f"-env:UserInstallation=file://{profile}",
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                str(folder),
                str(source),
            ],
            check=True,
            capture_output=True,
            timeout=180,
        )
        pdf = pypdfium2.PdfDocument(str(folder / "document.pdf"))
        pages = []
        for page in pdf:
            scale = 1000 / page.get_width()
            pages.append(page.render(scale=scale).to_pil().convert("RGB"))
        return pages

    return to_pages


def colourful_share(image: Image.Image, box: tuple[int, int, int, int]) -> float:
    """The share of pixels in `box` that are neither near-white nor near-black (a picture, not paper or text)."""
    region = image.crop(box).convert("RGB")
    pixels = list(region.getdata())
    coloured = sum(1 for r, g, b in pixels if max(r, g, b) - min(r, g, b) > 12 or 40 < (r + g + b) / 3 < 215)
    return coloured / len(pixels)


def parts_of(data: bytes) -> dict[str, bytes]:
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def canonical(xml: bytes) -> bytes:
    from lxml import etree

    return etree.tostring(etree.fromstring(xml), method="c14n")


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
