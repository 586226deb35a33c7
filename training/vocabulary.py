"""The visual language the embedded model knows: objects, colours, backgrounds, positions, sizes, relations.

These tables are the single source for the renderer, the prompt writer, the tokenizer and the evaluator.
"""

from __future__ import annotations

SHAPES = ("circle", "square", "triangle", "diamond", "star", "heart")

#: The RGB the renderer paints each colour with.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "orange": (245, 140, 30),
    "yellow": (245, 215, 50),
    "green": (40, 160, 70),
    "blue": (40, 90, 220),
    "purple": (130, 60, 180),
    "pink": (240, 130, 180),
    "brown": (130, 80, 40),
    "black": (20, 20, 20),
    "white": (245, 245, 245),
    "gray": (128, 128, 128),
}
#: Other spellings people write, mapped to the colour they mean.
COLOUR_SYNONYMS = {"grey": "gray", "violet": "purple"}

#: Scene backgrounds: (colour at the top, colour at the bottom); `night` also gets small white dots.
SCENES: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = {
    "sky": ((110, 170, 235), (200, 228, 252)),
    "sunset": ((245, 140, 30), (130, 60, 180)),
    "night": ((12, 18, 58), (12, 18, 58)),
}
BACKGROUNDS = tuple(COLOURS) + tuple(SCENES)
DEFAULT_BACKGROUND = "white"

#: Object colours that would be hard to see on a scene background are not drawn on it.
SCENE_CLASHES = {"sky": {"white", "blue"}, "sunset": {"orange", "purple", "pink", "brown"}, "night": {"black", "blue"}}

#: Where a named position puts an object's centre, as fractions of the picture's width and height.
POSITIONS: dict[str, tuple[float, float]] = {
    "center": (0.5, 0.5),
    "left": (0.27, 0.5),
    "right": (0.73, 0.5),
    "top": (0.5, 0.27),
    "bottom": (0.5, 0.73),
    "top left": (0.27, 0.27),
    "top right": (0.73, 0.27),
    "bottom left": (0.27, 0.73),
    "bottom right": (0.73, 0.73),
}
DEFAULT_POSITION = "center"

#: An object's half-extent as a fraction of the picture's shorter side.
SIZES: dict[str, float] = {"small": 0.09, "medium": 0.16, "large": 0.24}
DEFAULT_SIZE = "medium"

#: Relations between two objects: where the first goes and where the second goes.
RELATIONS: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "left of": ((0.28, 0.5), (0.72, 0.5)),
    "right of": ((0.72, 0.5), (0.28, 0.5)),
    "above": ((0.5, 0.28), (0.5, 0.72)),
    "below": ((0.5, 0.72), (0.5, 0.28)),
}

#: The shapes of the pictures the model is trained on (width, height): square, 16:9, 9:16, about 4:3.
ASPECT_BUCKETS = ((256, 256), (448, 256), (256, 448), (320, 256))

#: Words that carry no meaning for the model but appear in how people write prompts.
FILLER_WORDS = (
    "a",
    "an",
    "the",
    "one",
    "of",
    "on",
    "in",
    "at",
    "with",
    "and",
    "to",
    "is",
    "picture",
    "image",
    "drawing",
    "draw",
    "simple",
    "flat",
    "icon",
    "please",
    "nice",
    "shape",
    "background",
    "sky",
    "corner",
    "side",
    "middle",
    "centre",
    "upper",
    "lower",
    "medium",
    "big",
    "tiny",
    "little",
    "huge",
    "scene",
    "made",
    "some",
)


def tokenizer_words() -> list[str]:
    """Every word the tokenizer keeps whole; other words fall apart into letters."""
    words = set(SHAPES) | set(COLOURS) | set(COLOUR_SYNONYMS) | set(SCENES) | set(SIZES) | set(FILLER_WORDS)
    for phrase in list(POSITIONS) + list(RELATIONS):
        words.update(phrase.split())
    words.update({"left", "right", "top", "bottom", "above", "below", "center", "centered", "sunset", "night"})
    words.update({shape + "s" for shape in SHAPES})
    return sorted(words)


#: Words the trainer's phrasings use that the tokenizer does not keep whole (the model learned their pieces).
PHRASING_WORDS = ("against", "clear", "make", "over", "plain", "under")


def known_words() -> list[str]:
    """Every word the trainer's prompts hold: the engine leaves any other prompt word out."""
    return sorted(set(tokenizer_words()) | set(PHRASING_WORDS))
