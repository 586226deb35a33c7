"""The trainer runs end to end at tiny sizes and the evaluator tells right pictures from wrong ones."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from engine.api import GenerationRequest
from engine.local import LocalEngine
from engine.settings import EngineSettings
from training.components import (
    MAX_TOKENS,
    Architecture,
    build_unet,
    build_vae,
    grow_decoder,
    grow_unet,
    parameter_count,
)
from training.evaluate import Verdicts, evaluation_scenes, held_back_prompt, judge
from training.evaluate import main as evaluate_main
from training.renderer import render
from training.scenes import LONG_LEAD_INS, Scene, SceneObject, describe, random_scene
from training import trainer as trainer_module
from training.train import main as train_main
from training.latent_pool import LatentPool, object_weights, outline_weights
from training.plan import LOW_NOISE_TIMESTEPS, PRESETS
from training.trainer import Trainer


def drawn_by(model: Path) -> Image.Image:
    """The picture the engine draws of a red circle with the model in folder `model`, in two steps."""
    engine = LocalEngine(EngineSettings(default_model=str(model)))
    try:
        result = engine.submit(GenerationRequest(prompt="a red circle", seed=1, steps=2)).result(timeout=60)
    finally:
        engine.close()
    return result.images[0].image


def test_the_trainer_writes_a_pipeline_the_engine_loads(tmp_path):
    out = tmp_path / "model"
    train_main(["--preset", "tiny", "--out", str(out), "--seed", "3"])
    report = json.loads((out / "training.json").read_text())
    assert report["vae"]["steps"] == 3 and report["diffusion"]["steps"] == 3
    assert np.isfinite(report["diffusion"]["final_loss"])
    assert drawn_by(out).size == (64, 64)
    assert "red" in json.loads((out / "engine_defaults.json").read_text())["known_words"]


def test_training_is_reproducible_from_its_seed(tmp_path):
    for name in ("a", "b"):
        train_main(["--preset", "tiny", "--out", str(tmp_path / name), "--seed", "5"])
    first, second = (json.loads((tmp_path / n / "training.json").read_text()) for n in ("a", "b"))
    assert first["diffusion"]["final_loss"] == second["diffusion"]["final_loss"]


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
        training_prompts = {describe(scene, random.Random(seed), free_order).lower()
                            for seed in range(300) for free_order in (False, True)}
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
    assert set(rows) == {"circle", "square", "triangle", "diamond", "star", "heart", "size", "small", "medium",
                         "large"}
    tallies = [cell for name, cells in rows.items() if name in ("small", "medium", "large") for cell in cells]
    objects = sum(len(scene.objects) for scene in evaluation_scenes(3))
    assert sum(int(cell.split("/")[1]) for cell in tallies if cell != "-") == objects  # one seed each


def test_the_evaluator_draws_with_the_scheduler_asked_for(tmp_path, capsys):
    for name, scheduler in (("own", []), ("unipc", ["--scheduler", "unipc"])):
        evaluate_main(["engine/embedded", "--prompts", "2", "--seeds", "1", "--grid", str(tmp_path / f"{name}.png"),
                       *scheduler])
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


def saved_weights(pipeline: Path, part: str) -> dict[str, torch.Tensor]:
    return load_file(str(pipeline / part / "diffusion_pytorch_model.safetensors"))


def test_training_can_go_on_from_a_saved_pipeline_keeping_its_vae(tmp_path):
    train_main(["--preset", "tiny", "--out", str(tmp_path / "first")])
    train_main(["--preset", "tiny", "--continue-from", str(tmp_path / "first"), "--diffusion-batch", "3",
                "--out", str(tmp_path / "second")])
    report = json.loads((tmp_path / "second" / "training.json").read_text())
    assert report["continued_from"] == str(tmp_path / "first") and "vae" not in report
    assert report["plan"]["diffusion"]["batch"] == 3 and report["plan"]["free_order_prompts"]
    vae_before, vae_after = (saved_weights(tmp_path / name, "vae") for name in ("first", "second"))
    assert all((vae_before[key] == vae_after[key]).all() for key in vae_before)
    unet_before, unet_after = (saved_weights(tmp_path / name, "unet") for name in ("first", "second"))
    assert any((unet_before[key] != unet_after[key]).any() for key in unet_before)


def test_a_continuation_can_train_the_decoder_alone_keeping_the_latents_the_unet_learned(tmp_path):
    train_main(["--preset", "tiny", "--out", str(tmp_path / "first")])
    train_main(["--preset", "tiny", "--continue-from", str(tmp_path / "first"), "--decoder-minutes", "1",
                "--decoder-two-object-share", "0.8", "--diffusion-minutes", "0", "--out", str(tmp_path / "second")])
    report = json.loads((tmp_path / "second" / "training.json").read_text())
    assert report["decoder"]["steps"] == 3 and report["diffusion"]["steps"] == 0
    assert report["plan"]["decoder_two_object_share"] == 0.8
    vae_before, vae_after = (saved_weights(tmp_path / name, "vae") for name in ("first", "second"))
    changed = {key.split(".")[0] for key in vae_before if (vae_before[key] != vae_after[key]).any()}
    assert changed == {"decoder"}
    unet_before, unet_after = (saved_weights(tmp_path / name, "unet") for name in ("first", "second"))
    assert all((unet_before[key] == unet_after[key]).all() for key in unet_before)


def test_a_continuation_can_widen_and_deepen_the_decoder_it_trains(tmp_path):
    train_main(["--preset", "tiny", "--out", str(tmp_path / "first")])
    train_main(["--preset", "tiny", "--continue-from", str(tmp_path / "first"), "--decoder-minutes", "1",
                "--decoder-width", "12", "--decoder-blocks", "3,1,2,1,1", "--diffusion-minutes", "0",
                "--out", str(tmp_path / "second")])
    config = json.loads((tmp_path / "second" / "vae" / "config.json").read_text())
    assert config["decoder_block_out_channels"] == [12] * 5 and config["num_decoder_blocks"] == [3, 1, 2, 1, 1]
    vae_before, vae_after = (saved_weights(tmp_path / name, "vae") for name in ("first", "second"))
    assert all((vae_before[key] == vae_after[key]).all() for key in vae_before if key.startswith("encoder."))
    report = json.loads((tmp_path / "second" / "training.json").read_text())
    assert report["plan"]["architecture"]["decoder_width"] == 12
    assert report["parameters"]["vae"] > json.loads((tmp_path / "first" / "training.json").read_text())[
        "parameters"]["vae"]
    assert np.asarray(drawn_by(tmp_path / "second")).std() > 0  # the engine loads and draws with it

    # Going on from the grown decoder needs no flags: the plan takes the saved decoder as it is.
    train_main(["--preset", "tiny", "--continue-from", str(tmp_path / "second"), "--out", str(tmp_path / "third")])
    report = json.loads((tmp_path / "third" / "training.json").read_text())
    assert report["plan"]["architecture"]["decoder_blocks"] == [3, 1, 2, 1, 1]
    vae_before, vae_after = (saved_weights(tmp_path / name, "vae") for name in ("second", "third"))
    assert all((vae_before[key] == vae_after[key]).all() for key in vae_before)


@pytest.mark.parametrize("flags", [["--decoder-width", "12"], ["--decoder-blocks", "3,1,1,1,1"],
                                   ["--decoder-two-object-share", "0.6"], ["--decoder-redrawn-share", "0.5"],
                                   ["--decoder-small-object-share", "0.5"], ["--decoder-star-share", "0.5"]])
def test_the_decoder_flags_need_a_decoder_stage(tmp_path, capsys, flags):
    train_main(["--preset", "tiny", "--out", str(tmp_path / "first")])
    with pytest.raises(SystemExit) as exit_info:
        train_main(["--preset", "tiny", "--continue-from", str(tmp_path / "first"), *flags,
                    "--out", str(tmp_path / "second")])
    assert exit_info.value.code == 2
    assert "--decoder-minutes" in capsys.readouterr().err


def test_a_decoder_that_would_shrink_is_refused_with_a_message(tmp_path, capsys):
    train_main(["--preset", "tiny", "--out", str(tmp_path / "first")])
    with pytest.raises(SystemExit) as exit_info:
        train_main(["--preset", "tiny", "--continue-from", str(tmp_path / "first"), "--decoder-minutes", "1",
                    "--decoder-width", "4", "--out", str(tmp_path / "second")])
    assert exit_info.value.code == 2
    assert "cannot grow this VAE's decoder" in capsys.readouterr().err
    assert not (tmp_path / "second").exists()


def test_the_decoder_stage_draws_two_object_scenes_as_often_as_asked(monkeypatch):
    drawn: list[Scene] = []

    def render_and_note(scenes, *args, **kwargs):
        drawn.extend(scene for scene in scenes if scene.objects)  # not the object-free backgrounds it weighs by
        return render(scenes, *args, **kwargs)

    monkeypatch.setattr(trainer_module, "render", render_and_note)
    trainer = Trainer(PRESETS["tiny"], torch.device("cpu"))
    for share, object_counts in ((1.0, {2}), (0.0, {1})):
        drawn.clear()
        crops, weights, _ = trainer.vae_crops(8, outline_weights, share)
        assert crops.shape[0] == weights.shape[0] == 8
        assert drawn and {len(scene.objects) for scene in drawn} == object_counts


def scenes_in_a_latent_pool(per_refresh: int, **plan_changes) -> list[Scene]:
    """The scenes a tiny trainer's latent pool holds after three refreshes of `per_refresh` new scenes."""
    trainer = Trainer(replace(PRESETS["tiny"], **plan_changes), torch.device("cpu"))
    pool = LatentPool(trainer, capacity=100, least=2)
    for _ in range(3):
        pool.refresh(per_refresh)
    return [scene for entries in pool.entries.values() for scene, _, _ in entries]


@pytest.mark.parametrize("share, object_counts", [(1.0, {2}), (0.0, {1})])
def test_the_diffusion_stage_draws_two_object_scenes_as_often_as_asked(share, object_counts):
    scenes = scenes_in_a_latent_pool(4, diffusion_two_object_share=share)
    assert len(scenes) == 12 and {len(scene.objects) for scene in scenes} == object_counts


def test_the_diffusion_stage_draws_small_objects_as_often_as_asked():
    sizes = {}
    for share in (1.0, 0.0):
        scenes = scenes_in_a_latent_pool(4, diffusion_small_object_share=share)
        sizes[share] = {obj.size for scene in scenes for obj in scene.objects}
        if share == 1.0:  # every prompt says how small, or the UNet would learn that small is the default
            assert all("size" in scene.stated for scene in scenes)
    assert sizes[1.0] == {"small"} and sizes[0.0] > {"small"}


def test_the_diffusion_stage_draws_stars_as_often_as_asked():
    starless = {}
    for share in (1.0, 0.0):
        scenes = scenes_in_a_latent_pool(8, diffusion_star_share=share)
        starless[share] = sum(all(obj.shape != "star" for obj in scene.objects) for scene in scenes)
    assert starless[1.0] == 0 and starless[0.0] > 0  # else stars come as often as any other shape


@pytest.mark.parametrize("share", [1.0, 0.0])
def test_the_diffusion_stage_writes_long_prompts_as_often_as_asked(share):
    trainer = Trainer(replace(PRESETS["tiny"], diffusion_long_prompt_share=share, prompt_dropout=0.0),
                      torch.device("cpu"))
    rng = random.Random(8)
    scenes = [random_scene(rng, two_object_share=0.5) for _ in range(200)]
    prompts = [trainer.diffusion_prompt(scene) for scene in scenes]
    led = [prompt for prompt in prompts if prompt.lower().startswith(LONG_LEAD_INS)]
    # A lead-in goes only where the whole prompt still fits: a cut one would lose the background named last.
    assert all(len(trainer.tokenizer(prompt).input_ids) <= MAX_TOKENS for prompt in prompts)
    assert len(led) > 150 if share == 1.0 else not led
    for scene, prompt in zip(scenes, prompts):
        assert all(obj.shape in prompt.lower() for obj in scene.objects)


@pytest.mark.parametrize("share", [1.0, 0.0])
def test_the_diffusion_stage_trains_at_low_noise_as_often_as_asked(share, monkeypatch):
    trainer = Trainer(replace(PRESETS["tiny"], diffusion_low_noise_share=share,
                              diffusion=replace(PRESETS["tiny"].diffusion, batch=8)), torch.device("cpu"))
    timesteps_seen: list[torch.Tensor] = []
    unet_forward = trainer.unet.forward

    def note_timesteps(sample, timestep, *args, **kwargs):
        timesteps_seen.append(timestep.clone())
        return unet_forward(sample, timestep, *args, **kwargs)

    monkeypatch.setattr(trainer.unet, "forward", note_timesteps)
    trainer.train_diffusion()
    timesteps = torch.cat(timesteps_seen)
    assert len(timesteps) == 3 * 8
    low = (timesteps < LOW_NOISE_TIMESTEPS).float().mean().item()
    assert low == 1.0 if share == 1.0 else low < 0.6  # else drawn from the whole schedule: a quarter low


@pytest.mark.parametrize("outline, heaviest", [(False, 5.0), (True, 13.0)])
def test_the_diffusion_stage_weighs_outlines_when_asked(outline, heaviest):
    trainer = Trainer(replace(PRESETS["tiny"], diffusion_outline_weights=outline), torch.device("cpu"))
    pool = LatentPool(trainer, capacity=100, least=2)
    pool.refresh(6)
    weights = torch.stack([cell_weights for entries in pool.entries.values() for _, _, cell_weights in entries])
    assert weights.shape[0] == 6 and set(weights.unique().tolist()) <= {1.0, 5.0, 9.0, 13.0}
    assert weights.max() == heaviest and weights.min() == 1.0  # every scene keeps some plain background


@pytest.mark.parametrize("flags, field, value", [
    (["--diffusion-outline-weights"], "diffusion_outline_weights", True),
    (["--diffusion-two-object-share", "0.7"], "diffusion_two_object_share", 0.7),
    (["--diffusion-small-object-share", "0.4"], "diffusion_small_object_share", 0.4),
    (["--diffusion-low-noise-share", "0.3"], "diffusion_low_noise_share", 0.3),
    (["--diffusion-star-share", "0.25"], "diffusion_star_share", 0.25),
    (["--diffusion-long-prompt-share", "0.2"], "diffusion_long_prompt_share", 0.2),
])
def test_the_diffusion_flags_are_recorded_in_the_plan(tmp_path, flags, field, value):
    train_main(["--preset", "tiny", *flags, "--out", str(tmp_path / "model")])
    report = json.loads((tmp_path / "model" / "training.json").read_text())
    assert report["plan"][field] == value and type(report["plan"][field]) is type(value)  # true, not 1
    assert report["diffusion"]["steps"] == 3


@pytest.mark.parametrize("flag", ["--decoder-two-object-share", "--decoder-redrawn-share",
                                  "--decoder-small-object-share", "--decoder-star-share",
                                  "--diffusion-two-object-share", "--diffusion-small-object-share",
                                  "--diffusion-low-noise-share", "--diffusion-star-share",
                                  "--diffusion-long-prompt-share"])
def test_the_share_flags_are_shares(tmp_path, capsys, flag):
    with pytest.raises(SystemExit) as exit_info:
        train_main(["--preset", "tiny", "--continue-from", str(tmp_path), "--decoder-minutes", "1",
                    flag, "1.5", "--out", str(tmp_path / "model")])
    assert exit_info.value.code == 2
    assert f"{flag} is a share: from 0 to 1" in capsys.readouterr().err


@pytest.mark.parametrize("share", [1.0, 0.0])
def test_the_decoder_stage_draws_small_objects_and_stars_as_often_as_asked(tmp_path, monkeypatch, share):
    train_main(["--preset", "tiny", "--out", str(tmp_path / "first")])
    tiny = PRESETS["tiny"]
    decoder = replace(tiny.vae, batch=32)  # eight pictures a step, four crops each
    trainer = Trainer(replace(tiny, decoder=decoder, decoder_small_object_share=share, decoder_star_share=share),
                      torch.device("cpu"))
    trainer.continue_from(tmp_path / "first")
    drawn: list[Scene] = []

    def render_and_note(scenes, *args, **kwargs):
        drawn.extend(scene for scene in scenes if scene.objects)  # not the object-free backgrounds it weighs by
        return render(scenes, *args, **kwargs)

    monkeypatch.setattr(trainer_module, "render", render_and_note)
    trainer.train_decoder()
    sizes = {obj.size for scene in drawn for obj in scene.objects}
    starless = sum(all(obj.shape != "star" for obj in scene.objects) for scene in drawn)
    assert drawn and trainer.report["decoder"]["steps"] == 3
    assert (sizes, starless) == ({"small"}, 0) if share == 1.0 else (sizes > {"small"} and starless > 0)


def test_the_decoder_share_flags_are_recorded_in_the_plan(tmp_path):
    train_main(["--preset", "tiny", "--out", str(tmp_path / "first")])
    train_main(["--preset", "tiny", "--continue-from", str(tmp_path / "first"), "--decoder-minutes", "1",
                "--decoder-small-object-share", "0.5", "--decoder-star-share", "0.25", "--out",
                str(tmp_path / "second")])
    plan = json.loads((tmp_path / "second" / "training.json").read_text())["plan"]
    assert (plan["decoder_small_object_share"], plan["decoder_star_share"]) == (0.5, 0.25)


def whole_picture_trainer(saved: Path, redrawn_share: float) -> Trainer:
    """A tiny trainer going on from `saved` whose decoder stage runs three steps on whole pictures."""
    tiny = PRESETS["tiny"]
    plan = replace(tiny, vae_crop=None, decoder=tiny.vae, decoder_redrawn_share=redrawn_share)
    trainer = Trainer(plan, torch.device("cpu"))
    trainer.continue_from(saved)
    return trainer


def test_the_decoder_stage_can_learn_from_latents_the_unet_redrew(tmp_path, monkeypatch):
    train_main(["--preset", "tiny", "--out", str(tmp_path / "first")])
    trainer = whole_picture_trainer(tmp_path / "first", redrawn_share=0.5)
    redrawn: list[list[Scene]] = []
    redraw = trainer.redraw

    def redraw_and_note(latents, scenes):
        redrawn.append(scenes)
        result = redraw(latents, scenes)
        assert result.shape == latents.shape and not torch.equal(result, latents)
        return result

    monkeypatch.setattr(trainer, "redraw", redraw_and_note)
    decoder_before = {name: value.clone() for name, value in trainer.vae.decoder.state_dict().items()}
    encoder_before = {name: value.clone() for name, value in trainer.vae.encoder.state_dict().items()}
    trainer.train_decoder()
    # Three steps, each redrawing half its batch of four before the decoder learns to give the pictures back.
    assert [len(scenes) for scenes in redrawn] == [2, 2, 2]
    assert trainer.report["decoder"]["steps"] == 3
    assert any(not torch.equal(decoder_before[name], value) for name, value in trainer.vae.decoder.state_dict().items())
    assert all(torch.equal(encoder_before[name], value) for name, value in trainer.vae.encoder.state_dict().items())


def test_redrawing_follows_the_prompt(tmp_path):
    train_main(["--preset", "tiny", "--out", str(tmp_path / "first")])
    trainer = whole_picture_trainer(tmp_path / "first", redrawn_share=1.0)
    pictures, _, scenes = trainer.vae_crops(2, outline_weights, 0.0)
    latents = trainer._encode(pictures[:1])  # the first scene's, redrawn with either scene's prompt
    drawn = []
    for scene in scenes:
        trainer.rng.seed(7)  # the same starting step and prompt wording for both
        torch.manual_seed(7)  # the same noise
        drawn.append(trainer.redraw(latents, [scene]))
    assert not torch.equal(drawn[0], drawn[1])
    trainer.rng.seed(7)
    torch.manual_seed(7)
    assert torch.equal(trainer.redraw(latents, scenes[1:]), drawn[1])  # and only the prompt


def test_redrawn_latents_need_whole_pictures(tmp_path, capsys):
    train_main(["--preset", "tiny", "--out", str(tmp_path / "first")])
    with pytest.raises(SystemExit) as exit_info:  # the tiny preset trains its VAE on crops
        train_main(["--preset", "tiny", "--continue-from", str(tmp_path / "first"), "--decoder-minutes", "1",
                    "--decoder-redrawn-share", "0.5", "--out", str(tmp_path / "second")])
    assert exit_info.value.code == 2
    assert "needs whole pictures" in capsys.readouterr().err
    assert not (tmp_path / "second").exists()


def test_decoder_blocks_must_be_whole_numbers(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        train_main(["--preset", "tiny", "--decoder-blocks", "3,two", "--out", str(tmp_path / "model")])
    assert exit_info.value.code == 2
    assert "3,2,2,1,1" in capsys.readouterr().err


def test_training_the_decoder_alone_needs_a_saved_pipeline(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        train_main(["--preset", "tiny", "--decoder-minutes", "1", "--out", str(tmp_path / "model")])
    assert exit_info.value.code == 2
    assert "--continue-from" in capsys.readouterr().err


def test_the_loss_weighs_the_objects_not_the_background():
    """Objects weigh five times as much in both stages' losses; a night sky's dots are background."""
    star = SceneObject(shape="star", colour="yellow", position="top left", centre=(0.25, 0.25))
    scenes = [Scene("night", (star,), star_seed=7), Scene("night", (), star_seed=7)]
    weights = object_weights(scenes, render(scenes, 128, 128))
    with_star, empty_sky = weights[0, 0], weights[1, 0]
    assert empty_sky.eq(1.0).all()
    assert with_star[32, 32] == 5.0 and with_star[96, 96] == 1.0
    assert 0.01 < with_star.gt(1.0).float().mean() < 0.1


def test_the_decoder_stage_weighs_the_outlines_most():
    """A shape is told by its outline: pixels near an object's edge weigh most, inside and out."""
    square = SceneObject(shape="square", colour="red", centre=(0.5, 0.5), size="large")
    scenes = [Scene("white", (square,))]
    weights = outline_weights(scenes, render(scenes, 128, 128))[0, 0]
    row = weights[64]
    edge = int(row.gt(1.0).nonzero()[0])  # the first pixel of the row that weighs more than the background
    assert row[0] == 1.0 and row[64] == 5.0
    assert row[edge : edge + 4].max() > 5.0 and row.max() == 13.0
    assert (row == 9.0).any()  # just outside the edge


def test_a_saved_decoder_grows_wider_and_deeper_and_still_draws_the_same():
    """The decoder grows where small shapes are drawn, starting from exactly the saved decoder's pictures, so
    its training only adds; the encoder, and so the UNet's latents, stay as they were."""
    torch.manual_seed(0)
    saved = build_vae(Architecture.tiny()).eval()
    for parameter in saved.decoder.parameters():  # a trained decoder's weights are nowhere zero
        torch.nn.init.normal_(parameter, std=0.1)
    grown = grow_decoder(saved, replace(Architecture.tiny(), decoder_width=16, decoder_blocks=(3, 2, 2, 1, 1)))
    assert parameter_count(grown.decoder) > parameter_count(saved.decoder)
    assert all(torch.equal(a, b) for a, b in zip(saved.encoder.state_dict().values(),
                                                  grown.encoder.state_dict().values()))
    latents = torch.randn(2, 8, 8, 8)
    with torch.no_grad():
        assert torch.allclose(saved.decode(latents).sample, grown.eval().decode(latents).sample, atol=1e-6)
    assert grow_decoder(saved, Architecture.tiny()) is saved


@pytest.mark.parametrize("smaller", [{"decoder_width": 4}, {"decoder_blocks": (1, 1, 1, 1, 1)}])
def test_a_decoder_does_not_shrink(smaller):
    saved = build_vae(Architecture.tiny())
    with pytest.raises(ValueError, match="cannot grow this VAE's decoder"):
        grow_decoder(saved, replace(Architecture.tiny(), **smaller))


def test_a_saved_unet_grows_attention_at_full_size_and_still_predicts_the_same():
    """Version 4 was trained without cross-attention at the latent's full size; training goes on from it with
    those blocks added, starting from exactly its predictions."""
    torch.manual_seed(0)
    without = replace(Architecture.tiny(), attention_at_full_size=False)
    saved = build_unet(without).eval()
    grown = grow_unet(saved, Architecture.tiny()).eval()
    assert parameter_count(grown) > parameter_count(saved)
    assert any(name.startswith("attentions.") for name, _ in grown.down_blocks[0].named_parameters())
    latents, timesteps, prompt = torch.randn(2, 8, 16, 16), torch.tensor([10, 900]), torch.randn(2, 32, 32)
    with torch.no_grad():
        assert torch.allclose(saved(latents, timesteps, prompt).sample, grown(latents, timesteps, prompt).sample)


def test_a_unet_of_other_widths_does_not_grow():
    saved = build_unet(replace(Architecture.tiny(), unet_channels=(32, 64, 64)))
    with pytest.raises(ValueError, match="differs in more than attention blocks"):
        grow_unet(saved, Architecture.tiny())


def test_an_architecture_with_a_finer_latent_trains_and_draws_at_its_native_size(tmp_path):
    architecture = replace(Architecture.tiny(), vae_levels=4, latent_channels=4, unet_channels=(32, 32, 32, 32),
                           attention_at_full_size=False)
    trainer = Trainer(replace(PRESETS["tiny"], architecture=architecture), torch.device("cpu"), log=lambda _: None)
    trainer.train_vae()
    trainer.train_diffusion()
    out = trainer.save(tmp_path / "model")
    picture = torch.zeros(1, 3, 64, 64)
    assert trainer.vae.float().encode(picture).latents.shape == (1, 4, 8, 8)  # 8x, not 16x
    assert drawn_by(out).size == (64, 64)
