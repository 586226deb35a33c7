"""Going on from a saved pipeline: the decoder alone, grown wider and deeper, on the scenes and latents asked for."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from tests.training.pictures import drawn_by
from training import trainer as trainer_module
from training.latent_pool import outline_weights
from training.plan import PRESETS
from training.renderer import render
from training.scenes import Scene
from training.train import main as train_main
from training.trainer import Trainer


def saved_weights(pipeline: Path, part: str) -> dict[str, torch.Tensor]:
    return load_file(str(pipeline / part / "diffusion_pytorch_model.safetensors"))


def test_training_can_go_on_from_a_saved_pipeline_keeping_its_vae(tmp_path):
    train_main(["--preset", "tiny", "--out", str(tmp_path / "first")])
    train_main(
        [
            "--preset",
            "tiny",
            "--continue-from",
            str(tmp_path / "first"),
            "--diffusion-batch",
            "3",
            "--out",
            str(tmp_path / "second"),
        ]
    )
    report = json.loads((tmp_path / "second" / "training.json").read_text())
    assert report["continued_from"] == str(tmp_path / "first") and "vae" not in report
    assert report["plan"]["diffusion"]["batch"] == 3 and report["plan"]["free_order_prompts"]
    vae_before, vae_after = (saved_weights(tmp_path / name, "vae") for name in ("first", "second"))
    assert all((vae_before[key] == vae_after[key]).all() for key in vae_before)
    unet_before, unet_after = (saved_weights(tmp_path / name, "unet") for name in ("first", "second"))
    assert any((unet_before[key] != unet_after[key]).any() for key in unet_before)


def test_a_continuation_can_train_the_decoder_alone_keeping_the_latents_the_unet_learned(tmp_path):
    train_main(["--preset", "tiny", "--out", str(tmp_path / "first")])
    train_main(
        [
            "--preset",
            "tiny",
            "--continue-from",
            str(tmp_path / "first"),
            "--decoder-minutes",
            "1",
            "--decoder-two-object-share",
            "0.8",
            "--diffusion-minutes",
            "0",
            "--out",
            str(tmp_path / "second"),
        ]
    )
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
    train_main(
        [
            "--preset",
            "tiny",
            "--continue-from",
            str(tmp_path / "first"),
            "--decoder-minutes",
            "1",
            "--decoder-width",
            "12",
            "--decoder-blocks",
            "3,1,2,1,1",
            "--diffusion-minutes",
            "0",
            "--out",
            str(tmp_path / "second"),
        ]
    )
    config = json.loads((tmp_path / "second" / "vae" / "config.json").read_text())
    assert config["decoder_block_out_channels"] == [12] * 5 and config["num_decoder_blocks"] == [3, 1, 2, 1, 1]
    vae_before, vae_after = (saved_weights(tmp_path / name, "vae") for name in ("first", "second"))
    assert all((vae_before[key] == vae_after[key]).all() for key in vae_before if key.startswith("encoder."))
    report = json.loads((tmp_path / "second" / "training.json").read_text())
    assert report["plan"]["architecture"]["decoder_width"] == 12
    assert (
        report["parameters"]["vae"]
        > json.loads((tmp_path / "first" / "training.json").read_text())["parameters"]["vae"]
    )
    assert np.asarray(drawn_by(tmp_path / "second")).std() > 0  # the engine loads and draws with it

    # Going on from the grown decoder needs no flags: the plan takes the saved decoder as it is.
    train_main(["--preset", "tiny", "--continue-from", str(tmp_path / "second"), "--out", str(tmp_path / "third")])
    report = json.loads((tmp_path / "third" / "training.json").read_text())
    assert report["plan"]["architecture"]["decoder_blocks"] == [3, 1, 2, 1, 1]
    vae_before, vae_after = (saved_weights(tmp_path / name, "vae") for name in ("second", "third"))
    assert all((vae_before[key] == vae_after[key]).all() for key in vae_before)


@pytest.mark.parametrize(
    "flags",
    [
        ["--decoder-width", "12"],
        ["--decoder-blocks", "3,1,1,1,1"],
        ["--decoder-two-object-share", "0.6"],
        ["--decoder-redrawn-share", "0.5"],
        ["--decoder-small-object-share", "0.5"],
        ["--decoder-star-share", "0.5"],
    ],
)
def test_the_decoder_flags_need_a_decoder_stage(tmp_path, capsys, flags):
    train_main(["--preset", "tiny", "--out", str(tmp_path / "first")])
    with pytest.raises(SystemExit) as exit_info:
        train_main(
            ["--preset", "tiny", "--continue-from", str(tmp_path / "first"), *flags, "--out", str(tmp_path / "second")]
        )
    assert exit_info.value.code == 2
    assert "--decoder-minutes" in capsys.readouterr().err


def test_a_decoder_that_would_shrink_is_refused_with_a_message(tmp_path, capsys):
    train_main(["--preset", "tiny", "--out", str(tmp_path / "first")])
    with pytest.raises(SystemExit) as exit_info:
        train_main(
            [
                "--preset",
                "tiny",
                "--continue-from",
                str(tmp_path / "first"),
                "--decoder-minutes",
                "1",
                "--decoder-width",
                "4",
                "--out",
                str(tmp_path / "second"),
            ]
        )
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


@pytest.mark.parametrize("share", [1.0, 0.0])
def test_the_decoder_stage_draws_small_objects_and_stars_as_often_as_asked(tmp_path, monkeypatch, share):
    train_main(["--preset", "tiny", "--out", str(tmp_path / "first")])
    tiny = PRESETS["tiny"]
    decoder = replace(tiny.vae, batch=32)  # eight pictures a step, four crops each
    trainer = Trainer(
        replace(tiny, decoder=decoder, decoder_small_object_share=share, decoder_star_share=share), torch.device("cpu")
    )
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
    train_main(
        [
            "--preset",
            "tiny",
            "--continue-from",
            str(tmp_path / "first"),
            "--decoder-minutes",
            "1",
            "--decoder-small-object-share",
            "0.5",
            "--decoder-star-share",
            "0.25",
            "--out",
            str(tmp_path / "second"),
        ]
    )
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
        train_main(
            [
                "--preset",
                "tiny",
                "--continue-from",
                str(tmp_path / "first"),
                "--decoder-minutes",
                "1",
                "--decoder-redrawn-share",
                "0.5",
                "--out",
                str(tmp_path / "second"),
            ]
        )
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
