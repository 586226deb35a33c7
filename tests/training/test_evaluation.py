"""The evaluator: it scores the renderer's own pictures perfectly and catches what is drawn wrong."""

from __future__ import annotations

import json
import random
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from training.evaluate import Verdicts, evaluation_scenes, held_back_prompt, judge
from training.evaluate import main as evaluate_main
from training.renderer import render
from training.scenes import describe


def judged(scenes, pictures) -> Verdicts:
    verdicts = Verdicts()
    for scene, picture in zip(scenes, pictures):
        judge(picture, scene, verdicts)
    return verdicts


def test_the_evaluator_scores_the_renderers_own_pictures_perfectly():
    scenes = evaluation_scenes(60)
    pictures = render(scenes, 256, 256).permute(0, 2, 3, 1).numpy()
    verdicts = judged(scenes, pictures)
    accuracy = verdicts.accuracy()
    assert set(accuracy) == {"colour", "shape", "position", "size", "background", "two_objects", "relation"}
    assert all(value == 1.0 for value in accuracy.values()), accuracy
    # Every object's shape is tallied by what was asked, each one right.
    assert all(right == checked for right, checked in verdicts.shapes.values())
    assert sum(checked for _, checked in verdicts.shapes.values()) == sum(len(scene.objects) for scene in scenes)


def test_the_evaluator_catches_wrong_colours_shapes_and_places():
    scenes = [scene for scene in evaluation_scenes(60) if len(scene.objects) == 1][:20]
    wrong = []
    for scene in scenes:
        obj = scene.objects[0]
        other_shape = "heart" if obj.shape != "heart" else "square"
        moved = (1 - obj.centre[0], 1 - obj.centre[1]) if obj.position != "center" else (0.27, 0.27)
        wrong.append(replace(scene, objects=(replace(obj, shape=other_shape, centre=moved),)))
    pictures = render(wrong, 256, 256).permute(0, 2, 3, 1).numpy()
    verdicts = judged(scenes, pictures)
    accuracy = verdicts.accuracy()
    assert accuracy["shape"] <= 0.1 and accuracy["position"] <= 0.1
    assert accuracy["colour"] == 1.0 and accuracy["background"] == 1.0
    # The by-shape table names the shapes asked for, not the ones drawn: each asked shape nearly all wrong.
    table = {line.split()[0]: line.split()[1] for line in verdicts.shape_table()[1:] if len(line.split()) == 3}
    asked = {scene.objects[0].shape for scene in scenes}
    for shape in asked:
        right, checked = map(int, table[shape].split("/"))
        assert checked == sum(scene.objects[0].shape == shape for scene in scenes) and right <= checked // 2


def test_held_back_prompts_name_the_scene_in_words_training_never_strings_together():
    rng = random.Random(0)
    for scene in evaluation_scenes(60):
        prompt = held_back_prompt(scene, rng)
        assert scene.background in prompt
        for obj in scene.objects:
            assert f"{obj.shape} coloured {obj.colour}" in prompt or f"{obj.shape} painted {obj.colour}" in prompt
        training_prompts = {
            describe(scene, random.Random(seed), free_order).lower()
            for seed in range(300)
            for free_order in (False, True)
        }
        assert prompt not in training_prompts, prompt
        assert not ({"coloured", "painted"} & set(" ".join(training_prompts).split()))


def test_the_evaluator_prints_its_table_for_held_back_prompts(capsys):
    evaluate_main(["engine/embedded", "--prompts", "3", "--seeds", "1", "--held-back"])
    printed = capsys.readouterr().out
    scores = json.loads(printed.strip().splitlines()[-1])
    assert {"colour", "shape", "position", "size", "background"} <= set(scores)
    assert "target" in printed and all(0.0 <= value <= 1.0 for value in scores.values())


def test_the_evaluator_prints_shape_verdicts_by_shape_and_size_when_asked(capsys):
    evaluate_main(["engine/embedded", "--prompts", "3", "--seeds", "1", "--by-shape"])
    lines = capsys.readouterr().out.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("shape asked")))
    rows = {line.split()[0]: line.split()[1:] for line in lines[start + 1 : start + 11] if line.strip()}
    assert set(rows) == {"circle", "square", "triangle", "diamond", "star", "heart", "size", "small", "medium", "large"}
    tallies = [cell for name, cells in rows.items() if name in ("small", "medium", "large") for cell in cells]
    objects = sum(len(scene.objects) for scene in evaluation_scenes(3))
    assert sum(int(cell.split("/")[1]) for cell in tallies if cell != "-") == objects  # one seed each


def test_the_evaluator_draws_with_the_scheduler_asked_for(tmp_path, capsys):
    for name, scheduler in (("own", []), ("unipc", ["--scheduler", "unipc"])):
        evaluate_main(
            ["engine/embedded", "--prompts", "2", "--seeds", "1", "--grid", str(tmp_path / f"{name}.png"), *scheduler]
        )
        assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["background"] == 1.0
    own, unipc = (np.asarray(Image.open(tmp_path / f"{name}.png"), dtype=np.float32) for name in ("own", "unipc"))
    drawn = np.abs(own - unipc)[:, : 2 * 256]  # the two pictures; the sheet's other cells stay blank
    assert own.shape == unipc.shape and drawn.mean() > 0.2  # same seeds, another solver's path (about 1.4)


def test_the_evaluator_names_a_scheduler_the_model_cannot_run(capsys):
    with pytest.raises(SystemExit) as exit_info:
        evaluate_main(["engine/embedded", "--prompts", "2", "--seeds", "1", "--scheduler", "nonsense"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "'nonsense' does not fit model" in error and "unipc" in error
