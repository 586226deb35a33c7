"""Scenes (what a picture holds) and the prompts that describe them, drawn at random from a seed.

A `Scene` is the ground truth: the renderer paints it, the prompt writer describes it in one of many
phrasings, and the evaluator checks a generated picture against it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace

from training.vocabulary import (
    COLOURS,
    DEFAULT_BACKGROUND,
    DEFAULT_POSITION,
    DEFAULT_SIZE,
    POSITIONS,
    RELATIONS,
    SCENE_CLASHES,
    SCENES,
    SHAPES,
    SIZES,
)


@dataclass(frozen=True)
class SceneObject:
    """One object: its shape and colour, where its centre is (fractions of width, height) and its size."""

    shape: str
    colour: str
    position: str = DEFAULT_POSITION  # the named position it stands for (for one-object scenes)
    size: str = DEFAULT_SIZE
    centre: tuple[float, float] = (0.5, 0.5)
    scale: float = 1.0  # jitter on the named size


@dataclass(frozen=True)
class Scene:
    """A background and one or two objects; `relation` says how two objects stand ("left of", ..., or "and")."""

    background: str
    objects: tuple[SceneObject, ...]
    relation: str | None = None
    #: Which attributes the prompt states (the others were left to chance): e.g. {"colour", "position"}.
    stated: frozenset[str] = field(default_factory=frozenset)
    star_seed: int = 0  # where the night sky's dots fall


#: How many of the training scenes hold two objects.
TWO_OBJECT_SHARE = 0.35


def random_scene(rng: random.Random, two_object_share: float = TWO_OBJECT_SHARE) -> Scene:
    """A random composition, with jittered positions and sizes, that the prompt can describe exactly."""
    if rng.random() < two_object_share:
        return _two_object_scene(rng)
    # A prompt sometimes leaves an attribute out; the picture then shows the default (or any colour).
    stated = {"shape"} | {
        attribute
        for attribute, left_out_share in (("colour", 0.06), ("position", 0.25), ("size", 0.25), ("background", 0.15))
        if rng.random() >= left_out_share
    }
    background = _random_background(rng) if "background" in stated else DEFAULT_BACKGROUND
    position = rng.choice(tuple(POSITIONS)) if "position" in stated else DEFAULT_POSITION
    size = rng.choice(tuple(SIZES)) if "size" in stated else DEFAULT_SIZE
    obj = SceneObject(
        shape=rng.choice(SHAPES),
        colour=rng.choice(_colours_for(background)),
        position=position,
        size=size,
        centre=_jitter(rng, POSITIONS[position], 0.05),
        scale=rng.uniform(0.88, 1.12),
    )
    return Scene(background, (obj,), None, frozenset(stated), rng.randrange(2**31))


def _two_object_scene(rng: random.Random) -> Scene:
    stated = {"colour", "shape", "relation"}
    if rng.random() < 0.5:
        stated.add("size")
    background = DEFAULT_BACKGROUND
    if rng.random() < 0.75:
        stated.add("background")
        background = _random_background(rng)
    relation = rng.choice(tuple(RELATIONS) + ("and",))
    places = rng.choice(tuple(RELATIONS.values())) if relation == "and" else RELATIONS[relation]
    colours = rng.sample(_colours_for(background), 2)
    objects = tuple(
        SceneObject(
            shape=rng.choice(SHAPES),
            colour=colour,
            size=rng.choice(("small", "medium")) if "size" in stated else DEFAULT_SIZE,
            centre=_jitter(rng, place, 0.04),
            scale=rng.uniform(0.9, 1.1),
        )
        for colour, place in zip(colours, places)
    )
    return Scene(background, objects, relation, frozenset(stated), rng.randrange(2**31))


def made_small(scene: Scene) -> Scene:
    """`scene` with every object small and its prompt saying so: where the UNet draws worst (a small object is
    three latent cells across), for a trainer that wants more of them."""
    objects = tuple(replace(obj, size="small") for obj in scene.objects)
    return replace(scene, objects=objects, stated=scene.stated | {"size"})


def with_a_star(scene: Scene, rng: random.Random) -> Scene:
    """`scene` with one of its objects, drawn at random, turned into a star: the shape the UNet draws worst,
    most of all beside another object, for a trainer that wants more of them."""
    index = rng.randrange(len(scene.objects))
    objects = tuple(replace(obj, shape="star") if i == index else obj for i, obj in enumerate(scene.objects))
    return replace(scene, objects=objects)


def _random_background(rng: random.Random) -> str:
    return rng.choice(tuple(COLOURS) * 2 + tuple(SCENES) * 3)


def _colours_for(background: str) -> list[str]:
    """Object colours that stand out on `background`."""
    return [c for c in COLOURS if c != background and c not in SCENE_CLASHES.get(background, set())]


def _jitter(rng: random.Random, place: tuple[float, float], amount: float) -> tuple[float, float]:
    return (place[0] + rng.uniform(-amount, amount), place[1] + rng.uniform(-amount, amount))


# -- prompts ---------------------------------------------------------------------------------------------

_ARTICLES = ("a ", "a ", "an ", "the ", "one ", "")
_POSITION_PHRASES = {
    "center": ("in the center", "in the middle", "centered", "center", "in the centre"),
    "left": ("on the left", "at the left", "left", "on the left side"),
    "right": ("on the right", "at the right", "right", "on the right side"),
    "top": ("at the top", "on top", "top", "in the upper middle"),
    "bottom": ("at the bottom", "bottom", "in the lower middle"),
}
_SIZE_WORDS = {"small": ("small", "tiny", "little"), "medium": ("medium", ""), "large": ("large", "big", "huge")}


def _object_phrase(rng: random.Random, obj: SceneObject, stated: frozenset[str], colour_after: bool = False) -> str:
    """The object as "a small red star", or with `colour_after` as "a small star in red"."""
    words = []
    if "size" in stated:
        words.append(rng.choice(_SIZE_WORDS[obj.size]))
    if "colour" in stated and not colour_after:
        words.append(obj.colour)
    words.append(obj.shape)
    if "colour" in stated and colour_after:
        words.extend(("in", obj.colour))
    article = rng.choice(_ARTICLES)
    if article == "an " and not words[0].startswith(("a", "e", "i", "o", "u")):
        article = "a "
    return article + " ".join(word for word in words if word)


def _position_phrase(rng: random.Random, position: str) -> str:
    if position in _POSITION_PHRASES:
        return rng.choice(_POSITION_PHRASES[position])
    vertical, horizontal = position.split()
    return rng.choice(
        (
            f"in the {position}",
            f"at the {position}",
            f"{position}",
            f"in the {position} corner",
            f"{vertical}-{horizontal}",
            f"in the upper {horizontal}" if vertical == "top" else f"in the lower {horizontal}",
        )
    )


def _background_phrase(rng: random.Random, background: str) -> str:
    if background in SCENES:
        options = {
            "sky": ("in the sky", "in a clear sky", "sky", "against the sky", "on a sky background"),
            "sunset": ("at sunset", "sunset", "in a sunset sky", "on a sunset background", "sunset sky"),
            "night": ("in a night sky", "at night", "night", "night sky", "in the night sky"),
        }[background]
        return rng.choice(options)
    return rng.choice(
        (
            f"on a {background} background",
            f"{background} background",
            f"on {background}",
            f"on a plain {background} background",
            f"with a {background} background",
        )
    )


_JOINERS = {
    "and": (" and ", " with ", " and "),
    "left of": (" to the left of ", " left of ", " is left of "),
    "right of": (" to the right of ", " right of ", " is to the right of "),
    "above": (" above ", " is above ", " over "),
    "below": (" below ", " is below ", " under "),
}


#: What a person may write before the request, every word one the model knows: behind one, a prompt's colour
#: and shape words stand later than `describe` alone puts them (a colour word at the 23rd token of 24 is lost).
LONG_LEAD_INS = (
    "please make a nice simple picture of ",
    "please make a simple flat drawing of ",
    "please draw ",
    "make a nice flat image of ",
    "a simple flat picture of ",
    "please make one simple icon: ",
    "draw a nice picture of ",
    "please make an image of ",
)


def describe(scene: Scene, rng: random.Random, free_order: bool = False) -> str:
    """One of many ways a person could ask for `scene`, mentioning only its stated attributes.

    With `free_order`, two prompts in five also put the background or the position first, or the colour
    after the shape ("a star in red"), so that a model learns colours from the words around them rather
    than from where they stand. Without it the phrasings (and the random draws) are the original ones,
    which the evaluator's fixed prompts keep."""
    reordered = free_order and rng.random() < 0.4
    colour_after = reordered and rng.random() < 0.5
    lead = rng.choice(("background", "position", "object")) if reordered else "object"
    if len(scene.objects) == 2:
        first, second = (_object_phrase(rng, obj, scene.stated, colour_after) for obj in scene.objects)
        text = first + rng.choice(_JOINERS[scene.relation or "and"]) + second
    else:
        obj = scene.objects[0]
        text = _object_phrase(rng, obj, scene.stated, colour_after)
        if "position" in scene.stated and (obj.position != "center" or rng.random() < 0.5):
            if lead == "position":
                text = _position_phrase(rng, obj.position) + rng.choice((", ", ": ", " ")) + text
            else:
                text += rng.choice((" ", ", ")) + _position_phrase(rng, obj.position)
    if "background" in scene.stated:
        if lead == "background":
            text = _background_phrase(rng, scene.background) + rng.choice((", ", ": ", " ")) + text
        else:
            text += rng.choice((" ", ", ")) + _background_phrase(rng, scene.background)
    if rng.random() < 0.1:
        text = rng.choice(("draw ", "a picture of ", "simple icon: ", "please make ")) + text
    style = rng.random()
    if style < 0.08:
        text = text.upper()
    elif style < 0.16:
        text = text.title()
    elif style < 0.2:
        text = text.replace(" a ", " ").replace(" the ", " ")
    return text.strip()
