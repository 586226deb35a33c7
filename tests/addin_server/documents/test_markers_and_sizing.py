"""Markers are read with their options; sizes follow the box's shape; crops fill without stretching."""

from __future__ import annotations

import pytest

from addin_server.documents.errors import DocumentError
from addin_server.documents.markers import parse_marker
from addin_server.documents.sizing import crop_to_fill, generation_size
from engine.api import ModelLimits

EMBEDDED = ModelLimits(default_width=256, default_height=256, min_size=128, max_size=512, size_multiple=64)


def test_a_marker_with_options():
    marker = parse_marker("{{image: a red circle | seed=7 | style=flat pastel | alt=A circle}}", "slide 1")
    assert (marker.prompt, marker.seed, marker.alt_text) == ("a red circle", 7, "A circle")
    assert marker.full_prompt == "a red circle, flat pastel"
    assert parse_marker("  {{ IMAGE:sky }}  ", "x").prompt == "sky"
    assert parse_marker("a normal sentence with {{image: x}} inside", "x") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{{image:   }}", "an image marker has no prompt: slide 2: write {{image: what to draw}}"),
        ("{{image: x | colour=red}}", "an image marker has an unknown option: slide 2: 'colour=red'"),
        ("{{image: x | seed=minus one}}", "an image marker has a bad seed: slide 2: seed must be 0-4294967295"),
    ],
)
def test_bad_markers_name_their_place(text, message):
    with pytest.raises(DocumentError) as raised:
        parse_marker(text, "slide 2")
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(
    ("box", "size"),
    [((16, 9), (448, 256)), ((9, 16), (256, 448)), ((4, 3), (256, 192)), ((1, 1), (256, 256)), ((3, 1), (384, 128))],
)
def test_generation_size_follows_the_boxs_shape(box, size):
    assert generation_size(*box, EMBEDDED) == size


def test_crop_fills_the_box_without_stretching():
    crop = crop_to_fill(448, 256, 4, 3)  # wide picture, 4:3 box: cut the sides
    visible_width = 448 * (1 - crop.left - crop.right)
    assert crop.top == crop.bottom == 0 and visible_width / 256 == pytest.approx(4 / 3)
    crop = crop_to_fill(256, 256, 16, 9)
    assert crop.left == 0 and 256 / (256 * (1 - crop.top - crop.bottom)) == pytest.approx(16 / 9)
