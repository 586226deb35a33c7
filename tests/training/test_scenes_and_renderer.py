"""The renderer, the prompt writer and the tokenizer agree on the visual language."""

from __future__ import annotations

import random
import re

from training.components import build_tokenizer
from training.renderer import render
from training.scenes import (
    LONG_LEAD_INS,
    Scene,
    SceneObject,
    describe,
    made_small,
    random_scene,
    with_a_star,
)
from training.vocabulary import COLOURS, SHAPES, known_words, tokenizer_words


def pixel(image, x: int, y: int) -> tuple[int, ...]:
    return tuple(int(round(v * 255)) for v in image[:, y, x].tolist())


def test_a_red_circle_on_blue_is_painted_with_the_documented_colours():
    scene = Scene("blue", (SceneObject("circle", "red", centre=(0.5, 0.5)),))
    image = render([scene], 256, 256)[0]
    assert pixel(image, 128, 128) == COLOURS["red"]
    assert pixel(image, 5, 5) == COLOURS["blue"]


def test_shapes_have_their_canonical_orientation():
    def painted(shape: str, x: int, y: int) -> bool:
        image = render([Scene("white", (SceneObject(shape, "black"),))], 256, 256)[0]
        return pixel(image, x, y) == COLOURS["black"]

    r = 0.16 * 256
    assert painted("triangle", 128, int(128 - 0.9 * r)) and not painted(
        "triangle", int(128 - 0.9 * r), int(128 - 0.8 * r)
    )
    assert painted("star", 128, int(128 - 0.9 * r)) and not painted("star", 128, int(128 + 0.9 * r))
    assert painted("diamond", int(128 + 1.1 * r), 128) and not painted("square", int(128 + 1.1 * r), 128)


def test_scene_backgrounds_run_the_way_the_card_says():
    sky, sunset, night = render([Scene(name, ()) for name in ("sky", "sunset", "night")], 64, 64)
    assert sum(pixel(sky, 30, 60)) > sum(pixel(sky, 30, 2))  # lighter toward the bottom
    assert pixel(sunset, 30, 0)[0] > 200 and pixel(sunset, 30, 63)[2] > 150  # orange top, purple bottom
    assert (night[0].numpy() > 0.2).sum() >= 4  # light dots on navy (red channel: navy has almost none)


def test_every_aspect_bucket_renders_at_its_size():
    rng = random.Random(0)
    for width, height in ((256, 256), (448, 256), (256, 448), (320, 256)):
        assert render([random_scene(rng)], height, width).shape == (1, 3, height, width)


def test_prompts_name_what_the_scene_holds_and_vocabulary_words_stay_whole():
    rng = random.Random(3)
    tokenizer = build_tokenizer()
    for _ in range(200):
        scene = random_scene(rng)
        text = describe(scene, rng).lower()
        for obj in scene.objects:
            assert obj.shape in text
            if "colour" in scene.stated:
                assert obj.colour in text
    for word in tokenizer_words():
        assert tokenizer.tokenize(word) == [word + "</w>"], word
    assert len(tokenizer("zebra quantum flux " * 20, truncation=True).input_ids) <= 32
    # The free order uses no word the original phrasings lack: only the order of the words changes.
    words = {
        free_order: {
            word
            for _ in range(1000)
            for word in re.findall("[a-z]+", describe(random_scene(rng), rng, free_order).lower())
        }
        for free_order in (False, True)
    }
    assert words[True] == words[False]
    # The engine leaves out prompt words outside `known_words()`: none of them may be one the model learned.
    assert words[True] <= set(known_words()), words[True] - set(known_words())
    assert {"over", "under"} <= words[True]  # relation words the tokenizer spells in pieces


def test_a_scene_made_small_draws_and_names_every_object_small():
    rng = random.Random(4)
    for _ in range(100):
        scene = made_small(random_scene(rng, two_object_share=0.5))
        words = describe(scene, rng).lower().split()
        assert sum(words.count(word) for word in ("small", "tiny", "little")) == len(scene.objects)
        assert all(obj.size == "small" for obj in scene.objects)


def test_a_scene_with_a_star_turns_one_object_into_a_star_and_keeps_the_rest():
    rng = random.Random(6)
    for _ in range(100):
        scene = random_scene(rng, two_object_share=0.5)
        starred = with_a_star(scene, rng)
        changed = [new for old, new in zip(scene.objects, starred.objects) if old != new]
        assert "star" in {obj.shape for obj in starred.objects} and len(changed) <= 1
        assert all(obj.shape == "star" for obj in changed) and "star" in describe(starred, rng).lower()
        assert (starred.background, starred.relation, starred.stated) == (
            scene.background,
            scene.relation,
            scene.stated,
        )


def test_long_lead_ins_use_only_words_the_engine_keeps():
    words = {word.strip(":") for lead_in in LONG_LEAD_INS for word in lead_in.split()}
    assert words <= set(known_words())  # else the engine drops them and the prompt is short again


def test_free_order_prompts_also_lead_with_the_background_or_position_and_name_colours_after_shapes():
    rng = random.Random(5)
    leads, colours_after = set(), 0
    for _ in range(600):
        scene = random_scene(rng)
        text = describe(scene, rng, free_order=True).lower()
        for obj in scene.objects:
            assert obj.shape in text and ("colour" not in scene.stated or obj.colour in text)
            colours_after += f"{obj.shape} in {obj.colour}" in text
        first_object = min(text.find(obj.shape) for obj in scene.objects)
        if "background" in scene.stated and 0 <= text.find("background") < first_object:
            leads.add("background")
        if any(place in text[:first_object] for place in ("left", "right", "top", "bottom")):
            leads.add("position")
    assert leads == {"background", "position"} and colours_after > 30
    # The evaluator's fixed prompts keep the original phrasings: the colour always before the shape.
    fixed = [describe(random_scene(rng), rng).lower() for _ in range(300)]
    assert not any(f"{shape} in {colour}" in text for text in fixed for shape in SHAPES for colour in COLOURS)
