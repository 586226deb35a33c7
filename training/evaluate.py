"""Scores a text-to-image model on the embedded model's visual language.

It generates a fixed set of prompts (drawn from a seed) over several image seeds, finds the objects in each
picture, and checks them against the scene the prompt described: object colour (nearest named colour),
shape (overlap with the canonical masks), position, size, background, both objects present and their relation.
`--held-back` words the same scenes in phrasings the trainer never writes (other word orders and joiners),
to see whether the model follows the words or only the templates it was trained on.

    python -m training.evaluate engine/embedded [--prompts 60] [--seeds 2] [--held-back] [--dtype float32]
                                                       [--by-shape] [--grid samples.png]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

import numpy as np
import torch

from engine.errors import EngineError
from training.renderer import object_geometry, render_backgrounds, shape_mask
from training.scenes import Scene, SceneObject, describe, random_scene
from training.vocabulary import BACKGROUNDS, COLOURS, POSITIONS, SCENES, SHAPES, SIZES

TARGETS = {
    "colour": 0.95,
    "shape": 0.85,
    "position": 0.90,
    "size": 0.85,
    "background": 0.95,
    "two_objects": 0.80,
    "relation": 0.80,
}
FOREGROUND_DISTANCE = 0.22  # RGB distance (0-1 scale) from the background that makes a pixel foreground
_PALETTE_NAMES = list(COLOURS)
_PALETTE = np.array([COLOURS[name] for name in _PALETTE_NAMES], dtype=np.float32) / 255.0


@dataclass
class Verdicts:
    """Per category: how many pictures were checked and how many were right."""

    checked: dict[str, int] = field(default_factory=lambda: {name: 0 for name in TARGETS})
    right: dict[str, int] = field(default_factory=lambda: {name: 0 for name in TARGETS})
    #: Every object's shape verdict by what was asked, (shape, size, "alone" or "beside another") ->
    #: [right, checked]: which shapes and sizes fail, where the categories say only how many.
    shapes: dict[tuple[str, str, str], list[int]] = field(default_factory=dict)

    def add(self, category: str, correct: bool) -> None:
        self.checked[category] += 1
        self.right[category] += int(correct)

    def add_shape(self, obj: SceneObject, setting: str, correct: bool) -> None:
        tally = self.shapes.setdefault((obj.shape, obj.size, setting), [0, 0])
        tally[0] += int(correct)
        tally[1] += 1

    def shape_table(self) -> list[str]:
        """Lines of right/checked shapes, one per asked shape and one per asked size, alone and beside another."""
        settings = ("alone", "beside another")
        lines = [f"{'shape asked':<14} {'alone':>8} {'beside another':>15}"]
        for index, names in ((0, SHAPES), (1, tuple(SIZES))):
            for name in names:
                cells = []
                for setting in settings:
                    tallies = [tally for key, tally in self.shapes.items() if key[index] == name and key[2] == setting]
                    right, checked = sum(t[0] for t in tallies), sum(t[1] for t in tallies)
                    cells.append(f"{right}/{checked}" if checked else "-")
                lines.append(f"{name:<14} {cells[0]:>8} {cells[1]:>15}")
            if index == 0:
                lines.append("size asked")
        return lines

    def accuracy(self) -> dict[str, float]:
        return {name: self.right[name] / self.checked[name] for name in TARGETS if self.checked[name]}


def evaluation_scenes(count: int, seed: int = 1234) -> list[Scene]:
    """A fixed mix: two thirds one object with every attribute stated, one third two objects in a relation."""
    rng = random.Random(seed)
    scenes: list[Scene] = []
    while len(scenes) < count:
        scene = random_scene(rng, two_object_share=1 / 3)
        if len(scene.objects) == 1:
            scene = replace(scene, stated=frozenset({"shape", "colour", "position", "size", "background"}))
        elif "background" not in scene.stated:
            continue  # keep every prompt's background checkable
        scenes.append(scene)
    return scenes


# -- prompts the trainer never writes ----------------------------------------------------------------------

_HELD_BACK_JOINERS = {
    "and": (" plus ", " & ", " next to "),
    "left of": (" placed to the left of ", " sitting left of "),
    "right of": (" placed to the right of ", " sitting right of "),
    "above": (" placed above ", " sitting above "),
    "below": (" placed below ", " sitting below "),
}

_HELD_BACK_COLOUR_WORDS = ("coloured", "painted")  # not in the tokenizer's vocabulary


def held_back_prompt(scene: Scene, rng: random.Random) -> str:
    """An evaluation scene in a phrasing `describe` never writes, even in its free order: the background
    between the object and its position, or the position, then the background, then the object; the colour
    after the shape with a word the tokenizer does not know ("a star coloured red"); other joiners between
    two objects. Only vocabulary words carry meaning, as in training. (Evaluation scenes state their
    background, and one object's every attribute.)"""
    background = f"{scene.background} background"
    if len(scene.objects) == 2:
        first, second = (_held_back_object(obj, "size" in scene.stated, rng) for obj in scene.objects)
        return f"{background} with {first}{rng.choice(_HELD_BACK_JOINERS[scene.relation or ''])}{second}"
    obj = scene.objects[0]
    described = _held_back_object(obj, True, rng)
    return rng.choice(
        (
            f"{described}, {background}, {obj.position}",
            f"{obj.position}: {background} with {described}",
        )
    )


def _held_back_object(obj: SceneObject, size_stated: bool, rng: random.Random) -> str:
    """The object as "one small star coloured yellow": the colour after the shape, joined by a word the
    tokenizer does not know."""
    size = [obj.size] if size_stated else []
    return " ".join(["one", *size, obj.shape, rng.choice(_HELD_BACK_COLOUR_WORDS), obj.colour])


# -- finding things in a picture ------------------------------------------------------------------------


@cache
def _unit_shape(shape: str) -> tuple[float, float]:
    """Area (in r^2) and centroid offset down from the centre (in r) of a canonical shape of half-extent r."""
    r, extent = 100.0, 160
    coordinates = torch.arange(-extent, extent, dtype=torch.float32) + 0.5
    mask = shape_mask(shape, coordinates.view(1, -1), coordinates.view(-1, 1), torch.tensor(r)).numpy()
    rows = np.nonzero(mask)[0]
    return mask.sum() / r**2, float((rows + 0.5 - extent).mean() / r)


def _canonical_mask(shape: str, height: int, width: int, cx: float, cy: float, r: float) -> np.ndarray:
    ys = torch.arange(height, dtype=torch.float32).view(-1, 1) + 0.5
    xs = torch.arange(width, dtype=torch.float32).view(1, -1) + 0.5
    return shape_mask(shape, xs - cx, ys - cy, torch.tensor(r)).numpy()


def _open(mask: np.ndarray) -> np.ndarray:
    """Erode then dilate by one pixel: drops night-sky dots and stray pixels, keeps objects."""

    def neighbours(m: np.ndarray, reduce) -> np.ndarray:
        padded = np.pad(m, 1, mode="edge")
        stack = [
            padded[1 + dy : 1 + dy + m.shape[0], 1 + dx : 1 + dx + m.shape[1]] for dy in (-1, 0, 1) for dx in (-1, 0, 1)
        ]
        return reduce(stack)

    eroded = neighbours(mask, lambda s: np.logical_and.reduce(s))
    return neighbours(eroded, lambda s: np.logical_or.reduce(s))


def nearest_colour(rgb: np.ndarray) -> str:
    return _PALETTE_NAMES[int(np.argmin(((_PALETTE - rgb) ** 2).sum(axis=1)))]


def classify_background(picture: np.ndarray, scene: Scene) -> str:
    """The background whose plain rendering is closest, over the pixels where no object was asked for."""
    height, width, _ = picture.shape
    keep = np.ones((height, width), dtype=bool)
    for _shape, cx, cy, r in object_geometry(scene, height, width):
        keep &= ~_canonical_mask("circle", height, width, cx, cy, r * 1.6)
    candidates = [replace(scene, background=name) for name in BACKGROUNDS]
    plains = render_backgrounds(candidates, height, width, torch.device("cpu")).permute(0, 2, 3, 1).numpy()
    errors = [np.median(np.abs(picture - plain).sum(axis=2)[keep]) for plain in plains]
    return BACKGROUNDS[int(np.argmin(errors))]


def foreground(picture: np.ndarray, scene: Scene, background: str) -> np.ndarray:
    height, width = picture.shape[:2]
    rendered = render_backgrounds([replace(scene, background=background)], height, width, torch.device("cpu"))
    plain = rendered[0].permute(1, 2, 0).numpy()
    if background == "night":
        plain = np.full_like(plain, np.array(SCENES["night"][0], dtype=np.float32) / 255.0)
    return _open(np.sqrt(((picture - plain) ** 2).sum(axis=2)) > FOREGROUND_DISTANCE)


def best_shape(mask: np.ndarray) -> str:
    """The canonical shape that overlaps `mask` most, each fitted to its centroid and area."""
    height, width = mask.shape
    rows, columns = np.nonzero(mask)
    cx, cy, area = columns.mean() + 0.5, rows.mean() + 0.5, len(rows)
    scores = {}
    for shape in SHAPES:
        unit_area, centroid_offset = _unit_shape(shape)
        r = float(np.sqrt(area / unit_area))
        canonical = _canonical_mask(shape, height, width, cx, cy - centroid_offset * r, r)
        scores[shape] = (canonical & mask).sum() / max(1, (canonical | mask).sum())
    return max(scores, key=lambda shape: scores[shape])


def judge(picture: np.ndarray, scene: Scene, verdicts: Verdicts) -> None:
    """Add this picture's verdicts for every category its prompt states."""
    height, width, _ = picture.shape
    background = classify_background(picture, scene)
    verdicts.add("background", background == scene.background)
    mask = foreground(picture, scene, background)
    min_area = 0.3 * _unit_shape("circle")[0] * (SIZES["small"] * min(height, width)) ** 2

    if len(scene.objects) == 1:
        obj = scene.objects[0]
        found = mask.sum() >= min_area
        rows, columns = np.nonzero(mask)
        colour = nearest_colour(np.median(picture[mask], axis=0)) if found else None
        shape = best_shape(mask) if found else None
        verdicts.add("colour", colour == obj.colour)
        right_shape = shape == obj.shape
        verdicts.add("shape", right_shape)
        verdicts.add_shape(obj, "alone", right_shape)
        if found:
            centre = ((columns.mean() + 0.5) / width, (rows.mean() + 0.5) / height)
            position = min(POSITIONS, key=lambda p: np.hypot(POSITIONS[p][0] - centre[0], POSITIONS[p][1] - centre[1]))
            r = np.sqrt(mask.sum() / _unit_shape(shape)[0]) / min(height, width)
            size = min(SIZES, key=lambda s: abs(SIZES[s] - r))
        verdicts.add("position", found and position == obj.position)
        verdicts.add("size", found and size == obj.size)
        return

    colour_of_pixel = np.argmin(((picture[:, :, None, :] - _PALETTE) ** 2).sum(axis=3), axis=2)
    centres: list[tuple[float, float] | None] = []
    all_right = True
    for obj in scene.objects:
        own = _open(mask & (colour_of_pixel == _PALETTE_NAMES.index(obj.colour)))
        if own.sum() < min_area:
            all_right = False
            centres.append(None)
            verdicts.add_shape(obj, "beside another", False)
            continue
        rows, columns = np.nonzero(own)
        centres.append(((columns.mean() + 0.5) / width, (rows.mean() + 0.5) / height))
        right_shape = best_shape(own) == obj.shape
        verdicts.add_shape(obj, "beside another", right_shape)
        all_right &= right_shape
    verdicts.add("two_objects", all_right)
    if scene.relation and scene.relation != "and":
        first, second = centres
        holds = (
            first is not None
            and second is not None
            and {
                "left of": first[0] < second[0] - 0.1,
                "right of": first[0] > second[0] + 0.1,
                "above": first[1] < second[1] - 0.1,
                "below": first[1] > second[1] + 0.1,
            }[scene.relation]
        )
        verdicts.add("relation", bool(holds))


# -- running it -------------------------------------------------------------------------------------------


def evaluate(
    model: str,
    prompts: int,
    seeds: int,
    steps: int | None,
    guidance: float | None,
    grid: Path | None = None,
    held_back: bool = False,
    scheduler: str | None = None,
    dtype: str | None = None,
) -> Verdicts:
    from engine.api import GenerationRequest
    from engine.local import LocalEngine
    from engine.settings import EngineSettings, LoadOptions

    scenes = evaluation_scenes(prompts)
    rng = random.Random(99)
    write = held_back_prompt if held_back else describe
    texts = [write(scene, rng) for scene in scenes]
    settings = EngineSettings(
        default_model=model, max_batch=8, max_wait_ms=50, max_queue=10_000, load=LoadOptions(dtype=dtype)
    )
    engine = LocalEngine(settings)
    verdicts = Verdicts()
    samples: list = []
    try:
        handles = [
            engine.submit(
                GenerationRequest(
                    prompt=text, n=seeds, seed=0, steps=steps, guidance_scale=guidance, scheduler=scheduler
                )
            )
            for text in texts
        ]
        for index, (scene, handle) in enumerate(zip(scenes, handles)):
            for image in handle.result(timeout=3600).images:
                picture = np.asarray(image.image.convert("RGB"), dtype=np.float32) / 255.0
                judge(picture, scene, verdicts)
                if image.index == 0 and len(samples) < 24:
                    samples.append(image.image)
            print(f"\r{index + 1}/{len(scenes)} prompts", end="", file=sys.stderr)
    finally:
        engine.close()
    print(file=sys.stderr)
    if grid is not None:
        _save_grid(samples, grid)
    return verdicts


def _save_grid(images: list, path: Path, columns: int = 6) -> None:
    from PIL import Image

    size = images[0].size
    rows = (len(images) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * size[0], rows * size[1]), "white")
    for index, image in enumerate(images):
        sheet.paste(image, ((index % columns) * size[0], (index // columns) * size[1]))
    sheet.save(path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Score a model on the embedded model's visual language.")
    parser.add_argument("model", help="model folder (e.g. engine/embedded)")
    parser.add_argument("--prompts", type=int, default=60)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--steps", type=int)
    parser.add_argument("--guidance", type=float)
    parser.add_argument("--scheduler", help="one the model can run, e.g. dpmpp_2m or unipc (default: its own)")
    parser.add_argument(
        "--held-back", action="store_true", help="word the prompts in phrasings the trainer never writes"
    )
    parser.add_argument(
        "--by-shape", action="store_true", help="also print the shape verdicts by the shape and the size asked for"
    )
    parser.add_argument("--dtype", help="float32 or bfloat16 (default: the engine's choice for this hardware)")
    parser.add_argument("--grid", type=Path, help="write a grid of samples (first seed of the first 24 prompts)")
    args = parser.parse_args(argv)
    try:
        verdicts = evaluate(
            args.model,
            args.prompts,
            args.seeds,
            args.steps,
            args.guidance,
            args.grid,
            args.held_back,
            args.scheduler,
            args.dtype,
        )
    except EngineError as error:  # no such model, or steps, guidance or scheduler it cannot run
        parser.error(str(error))
    if args.by_shape:
        print("\n".join(verdicts.shape_table()) + "\n")
    accuracy = verdicts.accuracy()
    print(f"{'category':<12} {'accuracy':>9} {'target':>7}")
    for name, target in TARGETS.items():
        if name in accuracy:
            mark = "ok" if accuracy[name] >= target else "below"
            print(f"{name:<12} {accuracy[name]:>8.1%} {target:>7.0%}  {mark}")
    print(json.dumps({name: round(value, 4) for name, value in accuracy.items()}))


if __name__ == "__main__":
    main()
