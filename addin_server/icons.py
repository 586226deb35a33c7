"""The add-in's icon: one drawing, rendered at every size Office and Teams ask for.

Colour icons: a blue-to-violet rounded square with a white picture frame, a sun and a sparkle. The outline icon
(Teams): the same frame and sparkle in white on a transparent background. Drawn at 4x and scaled down for
smooth edges.
"""

from __future__ import annotations

import io
from functools import lru_cache

from PIL import Image, ImageDraw

SUPERSAMPLE = 4
TOP, BOTTOM = (40, 90, 220), (130, 60, 180)  # the renderer's blue and purple
OFFICE_SIZES = (16, 32, 64, 80)


def _glyph(draw: ImageDraw.ImageDraw, side: int, colour: tuple, width: int) -> None:
    """The picture frame with a mountain and sun, and a four-point sparkle at its top right."""
    unit = side / 32
    frame = (7 * unit, 10 * unit, 23 * unit, 24 * unit)
    draw.rounded_rectangle(frame, radius=2 * unit, outline=colour, width=width)
    draw.line(
        [
            (9 * unit, 22 * unit),
            (14 * unit, 16 * unit),
            (17 * unit, 19.5 * unit),
            (19 * unit, 17.5 * unit),
            (21 * unit, 22 * unit),
        ],
        fill=colour,
        width=width,
        joint="curve",
    )
    draw.ellipse((17.5 * unit, 12.5 * unit, 20.5 * unit, 15.5 * unit), fill=colour)
    cx, cy, r, w = 24.5 * unit, 8 * unit, 4.5 * unit, 1.2 * unit
    draw.polygon(
        [
            (cx, cy - r),
            (cx + w, cy - w),
            (cx + r, cy),
            (cx + w, cy + w),
            (cx, cy + r),
            (cx - w, cy + w),
            (cx - r, cy),
            (cx - w, cy - w),
        ],
        fill=colour,
    )


@lru_cache(maxsize=32)
def icon_png(size: int, outline: bool = False) -> bytes:
    """The icon as PNG bytes, `size` pixels square."""
    side = size * SUPERSAMPLE
    image = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    if not outline:
        gradient = Image.new("RGBA", (1, side))
        for y in range(side):
            t = y / max(1, side - 1)
            gradient.putpixel((0, y), tuple(round(a + (b - a) * t) for a, b in zip(TOP, BOTTOM)) + (255,))
        mask = Image.new("L", (side, side), 0)
        ImageDraw.Draw(mask).rounded_rectangle((0, 0, side - 1, side - 1), radius=side // 5, fill=255)
        image.paste(gradient.resize((side, side)), (0, 0), mask)
    _glyph(ImageDraw.Draw(image), side, (255, 255, 255, 255), max(SUPERSAMPLE, round(side / 16)))
    buffer = io.BytesIO()
    image.resize((size, size), Image.Resampling.LANCZOS).save(buffer, format="PNG")
    return buffer.getvalue()
