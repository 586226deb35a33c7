"""Pictures sent to be changed: read safely (format, pixel count before decoding, a real image), the mask
checked against the picture, and both fitted to the model's size, as PNG bytes for the engine.

A mask follows OpenAI's rule: its transparent pixels are the ones to repaint.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from addin_server.documents.sizing import generation_size
from addin_server.errors import BadRequest
from engine.api import ModelLimits

ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP")
#: Pillow's names for what it reads under those formats: a phone's or camera's multi-picture JPEG is "MPO" (its
#: first frame is the photo).
_READ_AS = {"PNG": "PNG", "JPEG": "JPEG", "MPO": "JPEG", "WEBP": "WEBP"}
#: A mask pixel this transparent or more is repainted.
REPAINT_BELOW_ALPHA = 128


@dataclass(frozen=True)
class EditPictures:
    """The picture (and mask: white where to repaint) at the size the engine will draw, as PNG bytes."""

    source: bytes
    mask: bytes | None
    width: int
    height: int


def read_picture(data: bytes, field: str, max_pixels: int) -> Image.Image:
    """The decoded picture; anything else (empty, not a picture, another format, too many pixels) is a 400."""
    if not data:
        raise BadRequest(f"{field} is empty", "invalid_image", field)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            picture = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)  # no other parser sees the bytes
            if _READ_AS.get(picture.format or "") not in ACCEPTED_FORMATS:
                raise BadRequest(
                    f"{field} must be a PNG, JPEG or WebP picture, got {picture.format or 'an unknown format'}",
                    "unsupported_image",
                    field,
                )
            width, height = picture.size
            if width * height > max_pixels:  # from the header, before a single pixel is decoded
                raise BadRequest(
                    f"{field} is {width}×{height} pixels; this server takes at most {max_pixels:,} "
                    "(IMAGES_MAX_UPLOAD_PIXELS)",
                    "image_too_large",
                    field,
                )
            picture.load()
    except BadRequest:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadRequest(
            f"{field} claims far more pixels than this server takes (a decompression bomb)", "image_too_large", field
        ) from None
    except UnidentifiedImageError:
        raise BadRequest(
            f"{field} must be a PNG, JPEG or WebP picture, and this is none of them", "unsupported_image", field
        ) from None
    except (OSError, ValueError, SyntaxError, Warning):
        raise BadRequest(f"{field} is not a picture this server can read", "invalid_image", field) from None
    return picture


def repaint_mask(mask: Image.Image, picture: Image.Image, field: str = "mask") -> Image.Image:
    """An "L" mask, white where `mask` is transparent; it must match the picture's size and have alpha."""
    if mask.size != picture.size:
        raise BadRequest(
            f"{field} is {mask.size[0]}×{mask.size[1]} but the image is {picture.size[0]}×{picture.size[1]}; "
            "they must be the same size",
            "invalid_mask",
            field,
        )
    if "A" not in mask.getbands() and "transparency" not in mask.info:
        raise BadRequest(
            f"{field} has no alpha channel: its transparent pixels mark what to repaint", "invalid_mask", field
        )
    alpha = mask.convert("RGBA").getchannel("A")
    return alpha.point(lambda value: 255 if value < REPAINT_BELOW_ALPHA else 0)


def fit_for_edit(
    picture: Image.Image,
    mask: Image.Image | None,
    limits: ModelLimits,
    size: tuple[int, int] | None = None,
) -> EditPictures:
    """The picture (and repaint mask) resized to `size`, or to the model's nearest size for its shape."""
    width, height = size or generation_size(picture.width, picture.height, limits)
    source = picture.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
    fitted_mask = mask.resize((width, height), Image.Resampling.NEAREST) if mask is not None else None
    return EditPictures(_png(source), _png(fitted_mask) if fitted_mask is not None else None, width, height)


def stored_prompt(picture: Image.Image) -> str:
    """The prompt a picture of ours carries in its metadata ("" for any other picture)."""
    text = getattr(picture, "text", None) or {}
    return str(text.get("prompt") or "")


def _png(picture: Image.Image) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
