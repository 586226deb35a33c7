"""The trainer: a pipeline the engine loads, reproducibly, with the stage shares and loss weights asked for."""

from __future__ import annotations

import json
import random
from dataclasses import replace

import numpy as np
import pytest
import torch

from tests.training.pictures import drawn_by
from training.components import (
    MAX_TOKENS,
    Architecture,
    build_unet,
    build_vae,
    grow_decoder,
    grow_unet,
    parameter_count,
)
from training.latent_pool import LatentPool, object_weights, outline_weights
from training.plan import LOW_NOISE_TIMESTEPS, PRESETS
from training.renderer import render
from training.scenes import LONG_LEAD_INS, Scene, SceneObject, random_scene
from training.train import main as train_main
from training.trainer import Trainer


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
    trainer = Trainer(
        replace(PRESETS["tiny"], diffusion_long_prompt_share=share, prompt_dropout=0.0), torch.device("cpu")
    )
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
    trainer = Trainer(
        replace(
            PRESETS["tiny"], diffusion_low_noise_share=share, diffusion=replace(PRESETS["tiny"].diffusion, batch=8)
        ),
        torch.device("cpu"),
    )
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


@pytest.mark.parametrize(
    "flags, field, value",
    [
        (["--diffusion-outline-weights"], "diffusion_outline_weights", True),
        (["--diffusion-two-object-share", "0.7"], "diffusion_two_object_share", 0.7),
        (["--diffusion-small-object-share", "0.4"], "diffusion_small_object_share", 0.4),
        (["--diffusion-low-noise-share", "0.3"], "diffusion_low_noise_share", 0.3),
        (["--diffusion-star-share", "0.25"], "diffusion_star_share", 0.25),
        (["--diffusion-long-prompt-share", "0.2"], "diffusion_long_prompt_share", 0.2),
    ],
)
def test_the_diffusion_flags_are_recorded_in_the_plan(tmp_path, flags, field, value):
    train_main(["--preset", "tiny", *flags, "--out", str(tmp_path / "model")])
    report = json.loads((tmp_path / "model" / "training.json").read_text())
    assert report["plan"][field] == value and type(report["plan"][field]) is type(value)  # true, not 1
    assert report["diffusion"]["steps"] == 3


@pytest.mark.parametrize(
    "flag",
    [
        "--decoder-two-object-share",
        "--decoder-redrawn-share",
        "--decoder-small-object-share",
        "--decoder-star-share",
        "--diffusion-two-object-share",
        "--diffusion-small-object-share",
        "--diffusion-low-noise-share",
        "--diffusion-star-share",
        "--diffusion-long-prompt-share",
    ],
)
def test_the_share_flags_are_shares(tmp_path, capsys, flag):
    with pytest.raises(SystemExit) as exit_info:
        train_main(
            [
                "--preset",
                "tiny",
                "--continue-from",
                str(tmp_path),
                "--decoder-minutes",
                "1",
                flag,
                "1.5",
                "--out",
                str(tmp_path / "model"),
            ]
        )
    assert exit_info.value.code == 2
    assert f"{flag} is a share: from 0 to 1" in capsys.readouterr().err


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
    assert all(
        torch.equal(a, b) for a, b in zip(saved.encoder.state_dict().values(), grown.encoder.state_dict().values())
    )
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
    architecture = replace(
        Architecture.tiny(),
        vae_levels=4,
        latent_channels=4,
        unet_channels=(32, 32, 32, 32),
        attention_at_full_size=False,
    )
    trainer = Trainer(replace(PRESETS["tiny"], architecture=architecture), torch.device("cpu"), log=lambda _: None)
    trainer.train_vae()
    trainer.train_diffusion()
    out = trainer.save(tmp_path / "model")
    picture = torch.zeros(1, 3, 64, 64)
    assert trainer.vae.float().encode(picture).latents.shape == (1, 4, 8, 8)  # 8x, not 16x
    assert drawn_by(out).size == (64, 64)
