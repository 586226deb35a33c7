"""What a training run does, as data: each stage's budget and every choice that decides the weights.

A `TrainingPlan` is saved beside the weights (training.json), so a run can be read back and repeated.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from training.components import Architecture
from training.scenes import TWO_OBJECT_SHARE

#: The low end of the noise schedule: the last three of the default steps (t 249, 166 and 82), where the UNet
#: finishes an object's outline from a nearly clean picture.
LOW_NOISE_TIMESTEPS = 250


@dataclass(frozen=True)
class StagePlan:
    """How long one stage trains: whichever of `steps` and `minutes` comes first."""

    steps: int
    batch: int
    learning_rate: float
    minutes: float | None = None


@dataclass(frozen=True)
class TrainingPlan:
    """Everything that decides the trained weights; saved beside them as training.json."""

    seed: int = 0
    architecture: Architecture = field(default_factory=Architecture)
    vae: StagePlan = StagePlan(steps=600, batch=32, learning_rate=1e-3)
    #: When going on from a saved pipeline: the VAE's decoder alone trains this long on the kept encoder's
    #: latents, so the UNet's latent space stays as it is. None: the decoder is kept too.
    decoder: StagePlan | None = None
    #: The share of two-object scenes among the decoder stage's pictures: more small objects and more outline
    #: per picture than every other stage draws (versions up to 9 trained their decoders at that share).
    decoder_two_object_share: float = TWO_OBJECT_SHARE
    #: The share of the decoder stage's pictures whose latents the UNet first redraws from part-way noise, as
    #: the pipeline draws (`Trainer.redraw`): the decoder then learns to read the UNet's latents, which are
    #: what it decodes at inference, not only the encoder's. 0: encoder latents only (versions up to 10).
    decoder_redrawn_share: float = 0.0
    #: The shares of the decoder stage's pictures whose objects are all small, and that hold a star: the
    #: encoder's latents tell a small star from the other shapes (a probe on version 14's: 86 of 100), yet its
    #: decoder drew none of 100. 0: versions up to 14.
    decoder_small_object_share: float = 0.0
    decoder_star_share: float = 0.0
    diffusion: StagePlan = StagePlan(steps=1500, batch=64, learning_rate=5e-4)
    #: The share of two-object scenes among the diffusion stage's (the `LatentPool`'s): more small objects and
    #: more pairs for the UNet, where they fail most (versions up to 10 trained at scenes' TWO_OBJECT_SHARE).
    diffusion_two_object_share: float = TWO_OBJECT_SHARE
    #: Weigh the diffusion loss by `outline_weights` (13 on every latent cell an object's edge crosses) rather
    #: than `object_weights` (5 on an object's cells): a small object is all edge, and small objects and stars
    #: are where the UNet fails. False: versions up to 10.
    diffusion_outline_weights: bool = False
    #: The share of the diffusion stage's scenes whose objects are all small, and said to be (`made_small`):
    #: small squares, diamonds and stars are the shapes the UNet draws as discs. 0: versions up to 12.
    diffusion_small_object_share: float = 0.0
    #: The share of each diffusion batch noised no further than `LOW_NOISE_TIMESTEPS` (the rest anywhere on the
    #: schedule): from a nearly clean small square, version 12's last step alone got the shape wrong 7 times in
    #: 8. 0: versions up to 12.
    diffusion_low_noise_share: float = 0.0
    #: The share of the diffusion stage's scenes with one object turned into a star (`with_a_star`): version 13
    #: drew a star beside another object right 5 times in 20. 0: versions up to 13.
    diffusion_star_share: float = 0.0
    #: The share of the diffusion stage's prompts written behind one of `LONG_LEAD_INS` (where it still fits the
    #: tokenizer): version 13 lost the background named at a long prompt's end. 0: versions up to 13.
    diffusion_long_prompt_share: float = 0.0
    #: The VAE learns from square crops of this side; None: whole square pictures. Crops much smaller than
    #: its ~280 px receptive field teach it artefacts on whole pictures, so the presets use whole ones.
    vae_crop: int | None = None
    #: Scenes whose latents the diffusion stage draws its batches from, and how many are replaced each step.
    latent_pool: int = 6000
    fresh_latents_per_step: int = 8
    ema_decay: float = 0.999
    prompt_dropout: float = 0.1
    #: Also write prompts with the background or position first and the colour after the shape
    #: (`describe`'s free order); versions up to 7 trained without.
    free_order_prompts: bool = True
    snr_gamma: float = 5.0
    #: Renders every bucket at this fraction of its size (tests use 0.25 to train on 64x64 pictures).
    image_scale: float = 1.0
    default_steps: int = 12
    default_guidance_scale: float = 4.0


PRESETS = {
    # Under two hours on a 2-core CPU by its time budgets, with bf16 autocast (AVX-512 BF16 makes it ~2.5x
    # faster than fp32 there).
    "cpu": TrainingPlan(
        vae=StagePlan(steps=100_000, batch=8, learning_rate=1e-3, minutes=25),
        diffusion=StagePlan(steps=100_000, batch=64, learning_rate=5e-4, minutes=80),
    ),
    # One CUDA card, a larger run of an 8x-latent design, where a small object is six latent cells across,
    # not three; it draws a 256x256 picture on the CPU in about 1.2 s. (Six H200 minutes of it are far from
    # enough: the model card has the figures.)
    "gpu": TrainingPlan(
        architecture=Architecture(
            vae_levels=4, latent_channels=4, unet_channels=(32, 64, 128, 192), attention_at_full_size=False
        ),
        vae=StagePlan(steps=100_000, batch=128, learning_rate=1e-3, minutes=3),
        diffusion=StagePlan(steps=100_000, batch=256, learning_rate=5e-4, minutes=10),
        latent_pool=50_000,
        fresh_latents_per_step=64,
        ema_decay=0.9995,
    ),
    # A few steps at tiny sizes: shows the trainer works end to end (tests).
    "tiny": TrainingPlan(
        architecture=Architecture.tiny(),
        vae=StagePlan(steps=3, batch=4, learning_rate=1e-3),
        diffusion=StagePlan(steps=3, batch=2, learning_rate=1e-3),
        image_scale=0.25,
        vae_crop=32,
        latent_pool=8,
        fresh_latents_per_step=2,
    ),
}
