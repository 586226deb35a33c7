"""Which size to generate for a box, and how to crop it to fill the box without stretching."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from engine.api import ModelLimits


@dataclass(frozen=True)
class Crop:
    """Fractions to cut from each side (as PowerPoint's `a:srcRect` takes them)."""

    left: float = 0.0
    top: float = 0.0
    right: float = 0.0
    bottom: float = 0.0


def generation_size(box_width: float, box_height: float, limits: ModelLimits) -> tuple[int, int]:
    """The model size closest in shape to the box, about as many pixels as the model's native size."""
    return _size_for_aspect(box_width / box_height, limits)


@functools.lru_cache(maxsize=256)
def _size_for_aspect(target_aspect: float, limits: ModelLimits) -> tuple[int, int]:
    """Remembered: a deck's boxes mostly share a few shapes, and each search tries thousands of sizes."""
    native_area = limits.default_width * limits.default_height
    sides = range(_round_up(limits.min_size, limits.size_multiple), limits.max_size + 1, limits.size_multiple)
    candidates = [(w, h) for w in sides for h in sides]
    near_native = [(w, h) for w, h in candidates if native_area / 2 <= w * h <= native_area * 2] or candidates

    def score(size: tuple[int, int]) -> tuple[float, float]:
        width, height = size
        return (round(abs(math.log(width / height / target_aspect)), 3), abs(math.log(width * height / native_area)))

    return min(near_native, key=score)


def crop_to_fill(image_width: int, image_height: int, box_width: float, box_height: float) -> Crop:
    """Cut the image's excess equally from both sides so its shape matches the box."""
    image_aspect, box_aspect = image_width / image_height, box_width / box_height
    if image_aspect > box_aspect:  # too wide: cut left and right
        cut = (1 - box_aspect / image_aspect) / 2
        return Crop(left=cut, right=cut)
    cut = (1 - image_aspect / box_aspect) / 2
    return Crop(top=cut, bottom=cut)


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple
