"""Document assembly cost, measured in one run on the embedded model (or --model).

1. Fill a 60-slide deck holding 60 image markers: the share of time spent outside image generation
   (opening, laying out, placing, saving) of the whole fill.
2. Fill one marker in a ~50 MB deck (incompressible pictures on 50 slides): seconds for the whole fill and
   peak memory above the starting point, against the file's size.

The last line is one JSON object with `assembly_share`, `big_deck_seconds` and `big_deck_peak_mb`.

    python bench/documents.py [--model PATH] [--slides 60] [--big-mb 50]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from pathlib import Path

import pptx
from pptx.util import Inches

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from addin_server.documents.fill import parse_fill_options, plan_fill  # noqa: E402
from addin_server.documents.images import ImageMaker  # noqa: E402
from bench.engine_batching import PeakMemory  # noqa: E402
from engine.local import LocalEngine  # noqa: E402
from engine.model_sources import ModelRegistry  # noqa: E402
from engine.settings import EngineSettings  # noqa: E402


def deck_with_markers(slides: int) -> bytes:
    deck = pptx.Presentation()
    deck.slide_width, deck.slide_height = Inches(13.333), Inches(7.5)
    for number in range(slides):
        slide = deck.slides.add_slide(deck.slide_layouts[5])
        slide.shapes.title.text = f"Slide {number + 1}"
        box = slide.shapes.add_textbox(Inches(6.5), Inches(1.8), Inches(6), Inches(5))
        box.text_frame.text = f"{{{{image: a {['red', 'blue', 'green'][number % 3]} circle, slide {number + 1}}}}}"
    buffer = io.BytesIO()
    deck.save(buffer)
    return buffer.getvalue()


def big_deck(megabytes: int) -> bytes:
    """Slides with 1 MB pictures of noise (PNG cannot compress them), and one marker on the last slide."""
    from PIL import Image

    deck = pptx.Presentation()
    for _number in range(megabytes):
        noise = Image.frombytes("RGB", (580, 580), os.urandom(580 * 580 * 3))
        picture = io.BytesIO()
        noise.save(picture, format="PNG", compress_level=1)
        deck.slides.add_slide(deck.slide_layouts[6]).shapes.add_picture(picture, Inches(1), Inches(1), Inches(4))
    deck.slides[-1].shapes.add_textbox(Inches(5), Inches(1), Inches(4), Inches(4)).text_frame.text = "{{image: a star}}"
    buffer = io.BytesIO()
    deck.save(buffer)
    return buffer.getvalue()


def timed_fill(data: bytes, maker: ImageMaker) -> tuple[float, float, bytes]:
    """(whole seconds, seconds inside image generation, output)."""
    generating = 0.0
    original_generate = maker.generate

    def generate(*args, **kwargs):
        nonlocal generating
        started = time.perf_counter()
        try:
            return original_generate(*args, **kwargs)
        finally:
            generating += time.perf_counter() - started

    maker.generate = generate  # type: ignore[method-assign]
    started = time.perf_counter()
    output = plan_fill(data, parse_fill_options({}), maker).run(maker).data
    return time.perf_counter() - started, generating, output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a diffusers folder (default: the embedded model)")
    parser.add_argument("--slides", type=int, default=60)
    parser.add_argument("--big-mb", type=int, default=50)
    args = parser.parse_args()

    settings = EngineSettings(default_model=args.model or "")
    engine = LocalEngine(settings, ModelRegistry.from_settings("", settings.default_model))
    try:
        maker = ImageMaker(engine, seed=1)
        timed_fill(deck_with_markers(2), maker)  # warm up

        # 1. Sixty images.
        total, generating, _ = timed_fill(deck_with_markers(args.slides), ImageMaker(engine, seed=1))
        share = (total - generating) / total
        print(
            f"{args.slides}-slide deck: {total:.1f} s in all, {generating:.1f} s generating, "
            f"{total - generating:.2f} s assembling ({share:.1%})"
        )

        # 2. One image into a big deck.
        data = big_deck(args.big_mb)
        size_mb = len(data) / 2**20
        with PeakMemory() as memory:
            baseline = memory.peak_mb
            time.sleep(0.05)
            baseline = memory.peak_mb
            big_total, big_generating, output = timed_fill(data, ImageMaker(engine, seed=1))
        peak_mb = memory.peak_mb - baseline
        print(
            f"{size_mb:.0f} MB deck, one image: {big_total:.2f} s ({big_generating:.2f} s generating), "
            f"peak memory +{peak_mb:.0f} MB ({peak_mb / size_mb:.2f}x the file); output {len(output) / 2**20:.0f} MB"
        )
    finally:
        engine.close()

    print(
        json.dumps(
            {
                "assembly_share": round(share, 4),
                "assembly_seconds": round(total - generating, 3),
                "images": args.slides,
                "big_deck_mb": round(size_mb, 1),
                "big_deck_seconds": round(big_total, 3),
                "big_deck_assembly_seconds": round(big_total - big_generating, 3),
                "big_deck_peak_mb": round(peak_mb, 1),
                "big_deck_peak_ratio": round(peak_mb / size_mb, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
