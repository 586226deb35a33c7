"""Peak memory while refusing or filling adversarial Office uploads of about 5 MB, as a ratio to the upload's size.

Each upload is checked (`check_package`) and, if it passes, opened and planned as `POST /api/documents/fill`
would, in a fresh process; the figure is that process's peak RSS growth ÷ the upload's size.

1. `xml_at_the_caps`: valid layout XML of many small shapes with random names (so it does not compress past the
   ratio check) in parts python-pptx parses when it opens the deck, as much as the caps allow
   (MAX_XML_PART_BYTES a part, MAX_XML_BYTES in all), padded with random bytes to 5 MB.
2. `xml_over_the_caps`: the same kind of XML, 16 MB in one slide (the review's case), refused by its size.
3. `zip_bomb`: a 2 GB part of zeros compressed into a few MB, refused from the zip directory.
4. `entity_bomb`: a billion-laughs slide, refused by the declaration scan.
5. `restyle_shared_picture`: restyled (`{"restyle": "flat"}`), a deck whose one 512² picture is shown by 2,000
   `p:pic` elements (random names keep the slide from compressing like a bomb): refused by DOCUMENTS_MAX_IMAGES
   (100) before any picture is decoded.
6. `restyle_huge_picture`: restyled, a small deck with three references to one 8192² picture: left alone by
   IMAGES_MAX_UPLOAD_PIXELS before it is decoded.

Each case also prints how long the check or plan took. The last line is one JSON object with each case's ratio
and the worst.

    python bench/upload_memory.py
"""

from __future__ import annotations

import copy
import io
import json
import random
import subprocess
import sys
import zipfile
from pathlib import Path

import pptx
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from addin_server.documents.package_guard import MAX_XML_BYTES, MAX_XML_PART_BYTES  # noqa: E402

NAMESPACES = (
    'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
    'xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"'
)
MEASURE = """
import sys, time

def peak_rss():  # VmHWM is this process's own peak; ru_maxrss would carry the parent's across exec
    status = open("/proc/self/status").read()
    return int(status.split("VmHWM:")[1].split()[0]) * 1024

sys.path.insert(0, {root!r})
from addin_server.documents.errors import DocumentError
from addin_server.documents.fill import parse_fill_options, plan_fill
from addin_server.documents.images import ImageMaker
from engine.api import ModelLimits

class Limits:  # the planner asks the engine for the model's limits only
    def limits(self, model=None):
        return ModelLimits(default_width=256, default_height=256, min_size=128, max_size=512, size_multiple=64)

data = open({path!r}, "rb").read()
maker = ImageMaker(Limits(), max_images=100, max_picture_pixels=4096 * 4096)  # the servers' defaults
before = peak_rss()
started = time.perf_counter()
try:
    plan_fill(data, parse_fill_options({options!r}), maker)
    outcome = "filled"
except DocumentError as error:
    outcome = error.code
print(outcome, peak_rss() - before, time.perf_counter() - started)
"""


def base_deck() -> dict[str, bytes]:
    deck = pptx.Presentation()
    deck.slides.add_slide(deck.slide_layouts[6]).shapes.add_textbox(
        0, 0, 914400, 914400
    ).text_frame.text = "{{image: a red circle}}"
    buffer = io.BytesIO()
    deck.save(buffer)
    archive = zipfile.ZipFile(buffer)
    return {name: archive.read(name) for name in archive.namelist()}


def shapes_xml(size: int, rng: random.Random, root: str = "p:sld") -> bytes:
    """A valid slide (or layout) of about `size` bytes: small shapes whose random names keep it from compressing."""
    parts, total, number = [f"<{root} {NAMESPACES}><p:cSld><p:spTree>"], 0, 2
    while total < size:
        name = "".join(rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=12))
        shape = f'<p:sp><p:nvSpPr><p:cNvPr id="{number}" name="{name}"/><p:cNvSpPr/><p:nvPr/></p:nvSpPr></p:sp>'
        parts.append(shape)
        total += len(shape)
        number += 1
    parts.append(f"</p:spTree></p:cSld></{root}>")
    return "".join(parts).encode()


def package(parts: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def uploads() -> dict[str, bytes]:
    rng = random.Random(5)
    at_caps = base_deck()
    budget = MAX_XML_BYTES - sum(len(data) for name, data in at_caps.items() if name.endswith((".xml", ".rels")))
    for index in range(1, budget // MAX_XML_PART_BYTES + 1):  # layouts the deck's master uses: all parsed on open
        at_caps[f"ppt/slideLayouts/slideLayout{index}.xml"] = shapes_xml(MAX_XML_PART_BYTES - 65536, rng, "p:sldLayout")
    at_caps["ppt/media/padding.bin"] = rng.randbytes(5_000_000 - len(package(at_caps)))
    over = base_deck()
    over["ppt/slideLayouts/slideLayout1.xml"] = shapes_xml(16 * 1024 * 1024, rng, "p:sldLayout")
    bomb = base_deck()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in bomb.items():
            archive.writestr(name, data)
        with archive.open("ppt/media/image9.png", "w", force_zip64=True) as part:
            for _ in range(2048):
                part.write(bytes(1024 * 1024))
    laughs = base_deck()
    entities = "".join(f'<!ENTITY l{n} "{_laughs(n)}">' for n in range(10))
    laughs["ppt/slides/slide1.xml"] = f'<?xml version="1.0"?><!DOCTYPE p [{entities}]><p>&l9;</p>'.encode()
    return {
        "xml_at_the_caps": package(at_caps),
        "xml_over_the_caps": package(over),
        "zip_bomb": buffer.getvalue(),
        "entity_bomb": package(laughs),
        "restyle_shared_picture": deck_showing_one_picture(2000, noise_png(512, 512, rng)),
        "restyle_huge_picture": deck_showing_one_picture(3, flat_png(8192, 8192)),
    }


#: The fill options each upload is planned with (the rest fill markers).
OPTIONS = {"restyle_shared_picture": {"restyle": "flat"}, "restyle_huge_picture": {"restyle": "flat"}}


def deck_showing_one_picture(copies: int, picture: bytes) -> bytes:
    """One slide whose single picture part is shown by `copies` `p:pic` elements with random names."""
    rng = random.Random(copies)
    deck = pptx.Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[6])
    shape = slide.shapes.add_picture(io.BytesIO(picture), 914400, 914400, 914400, 914400)
    for number in range(copies - 1):
        twin = copy.deepcopy(shape._element)
        names = twin.xpath("./p:nvPicPr/p:cNvPr")[0]
        names.set("id", str(number + 100))
        names.set("descr", "".join(rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=300)))
        shape._element.addnext(twin)
    buffer = io.BytesIO()
    deck.save(buffer)
    return buffer.getvalue()


def noise_png(width: int, height: int, rng: random.Random) -> bytes:
    buffer = io.BytesIO()
    Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3)).save(buffer, format="PNG")
    return buffer.getvalue()


def flat_png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


def _laughs(level: int) -> str:
    return f"&l{level - 1};" * 10 if level else "lol"


def measure(name: str, data: bytes, folder: Path) -> tuple[str, float, float]:
    """How the upload ended, its peak RSS growth ÷ its size, and the seconds it took."""
    path = folder / f"{name}.pptx"
    path.write_bytes(data)
    code = MEASURE.format(
        root=str(Path(__file__).resolve().parent.parent), path=str(path), options=OPTIONS.get(name, {})
    )
    outcome, grown, seconds = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    return outcome, int(grown) / len(data), float(seconds)


def main() -> None:
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="upload-memory-"))
    ratios = {}
    for name, data in uploads().items():
        outcome, ratio, seconds = measure(name, data, folder)
        ratios[name] = round(ratio, 2)
        print(
            f"{name}: {len(data) / 1e6:.2f} MB upload, {outcome} in {seconds:.2f} s, "
            f"peak RSS growth {ratio * len(data) / 1e6:.1f} MB, {ratio:.1f}x its size"
        )
    print(json.dumps({**ratios, "worst": max(ratios.values())}))


if __name__ == "__main__":
    main()
