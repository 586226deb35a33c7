"""Trains the embedded model from nothing: first the VAE on rendered scenes, then the text encoder and UNet
together on the VAE's latents. Reproducible from `--seed`; `--preset cpu` finishes on a 2-core CPU in under
two hours; `--preset gpu` trains an 8x-latent design on a CUDA card; `--device cuda` runs any preset there.

    python -m engine.training.train --preset cpu --out runs/embedded
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import random
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from diffusers import StableDiffusionPipeline
from diffusers.training_utils import EMAModel

from engine.models import ENGINE_DEFAULTS_FILE
from engine.training.components import (
    MAX_TOKENS,
    Architecture,
    build_text_encoder,
    build_tokenizer,
    build_unet,
    build_vae,
    grow_decoder,
    grow_unet,
    inference_scheduler,
    parameter_count,
    training_scheduler,
)
from engine.training.renderer import render
from engine.training.scenes import (
    LONG_LEAD_INS,
    TWO_OBJECT_SHARE,
    Scene,
    describe,
    made_small,
    random_scene,
    with_a_star,
)
from engine.training.vocabulary import ASPECT_BUCKETS, known_words

#: How often each aspect bucket is drawn: the square native size most, the slide and page shapes too.
BUCKET_WEIGHTS = (0.4, 0.25, 0.15, 0.2)

#: Where `Trainer.redraw` may start among the default steps (12: timesteps 999, 916, ..., 82): no earlier than
#: the fourth (t 749, a third of the scene's signal left, so its layout survives and the picture still fits
#: the latents), no later than the tenth (t 249), so the UNet draws the outlines itself.
REDRAW_FIRST_STEPS = range(3, 10)

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
        architecture=Architecture(vae_levels=4, latent_channels=4, unet_channels=(32, 64, 128, 192),
                                  attention_at_full_size=False),
        vae=StagePlan(steps=100_000, batch=128, learning_rate=1e-3, minutes=3),
        diffusion=StagePlan(steps=100_000, batch=256, learning_rate=5e-4, minutes=10),
        latent_pool=50_000, fresh_latents_per_step=64, ema_decay=0.9995,
    ),
    # A few steps at tiny sizes: shows the trainer works end to end (tests).
    "tiny": TrainingPlan(
        architecture=Architecture.tiny(),
        vae=StagePlan(steps=3, batch=4, learning_rate=1e-3),
        diffusion=StagePlan(steps=3, batch=2, learning_rate=1e-3),
        image_scale=0.25, vae_crop=32, latent_pool=8, fresh_latents_per_step=2,
    ),
}


class Trainer:
    """Runs a `TrainingPlan` on one device and writes a diffusers pipeline folder."""

    def __init__(self, plan: TrainingPlan, device: torch.device, log=print) -> None:
        if plan.decoder_redrawn_share and plan.vae_crop:
            raise ValueError("--decoder-redrawn-share needs whole pictures (a preset without crops): the prompts "
                             "that redraw them describe whole scenes")
        self.plan = plan
        self.device = device
        self.log = log
        self.rng = random.Random(plan.seed)
        torch.manual_seed(plan.seed)
        self.tokenizer = build_tokenizer()
        self.text_encoder = build_text_encoder(plan.architecture, len(self.tokenizer)).to(device)
        self.vae = build_vae(plan.architecture).to(device)
        self.unet = build_unet(plan.architecture).to(device)
        self.noise_schedule = training_scheduler()
        self.vae_trained = False
        # bf16 autocast on both: on a CPU with AVX-512 BF16 it trains about 2.5x faster than fp32.
        self.autocast = torch.autocast(device.type, dtype=torch.bfloat16)
        self.report: dict[str, object] = {}

    def continue_from(self, folder: Path) -> None:
        """Start from a saved pipeline's weights (its encoder is kept as it is) instead of from nothing; a UNet
        saved without attention blocks that the plan's architecture has grows them (`grow_unet`), and a
        decoder narrower or shallower than the plan's grows to it (`grow_decoder`)."""
        from diffusers import AutoencoderTiny, UNet2DConditionModel
        from transformers import CLIPTextModel

        self.text_encoder = CLIPTextModel.from_pretrained(folder / "text_encoder", dtype=torch.float32).to(self.device)
        saved_vae = AutoencoderTiny.from_pretrained(folder / "vae", torch_dtype=torch.float32)
        # What the plan leaves unsaid of the decoder is what was saved (the plan then records it).
        architecture = self.plan.architecture
        architecture = replace(
            architecture,
            decoder_width=architecture.decoder_width or saved_vae.config.decoder_block_out_channels[0],
            decoder_blocks=architecture.decoder_blocks or tuple(saved_vae.config.num_decoder_blocks),
        )
        self.plan = replace(self.plan, architecture=architecture)
        self.vae = grow_decoder(saved_vae, architecture).to(self.device)
        saved_unet = UNet2DConditionModel.from_pretrained(folder / "unet", torch_dtype=torch.float32)
        self.unet = grow_unet(saved_unet, self.plan.architecture).to(self.device)
        self.vae.eval().requires_grad_(False)
        self.vae_trained = True
        self.report["continued_from"] = str(folder)

    # -- data ---------------------------------------------------------------------------------------------

    def _scaled(self, pixels: int) -> int:
        return int(pixels * self.plan.image_scale) // 16 * 16

    def random_scenes(self, count: int, two_object_share: float, small_object_share: float = 0.0,
                      star_share: float = 0.0) -> list[Scene]:
        """`count` random scenes, `two_object_share` of them with two objects, `small_object_share` with every
        object small (`made_small`) and `star_share` with one object a star (`with_a_star`)."""
        scenes = [random_scene(self.rng, two_object_share) for _ in range(count)]
        # No draws at a share of 0, so the commands from before each share still reproduce from their seeds.
        if small_object_share:
            scenes = [made_small(scene) if self.rng.random() < small_object_share else scene for scene in scenes]
        if star_share:
            scenes = [with_a_star(scene, self.rng) if self.rng.random() < star_share else scene for scene in scenes]
        return scenes

    def vae_crops(self, count: int, weigh, two_object_share: float, small_object_share: float = 0.0,
                  star_share: float = 0.0) -> tuple[torch.Tensor, torch.Tensor, list[Scene]]:
        """`count` square crops of rendered scenes in [-1, 1] (four from each picture, or whole pictures), their
        loss weights by `weigh` (`object_weights` or `outline_weights`) and the scene each was cut from; the
        scenes are drawn by `random_scenes` with the shares given."""
        side = self._scaled(256)
        crop = min(side, self.plan.vae_crop or side)
        per_picture = 4 if crop < side else 1
        scenes = self.random_scenes(-(-count // per_picture), two_object_share, small_object_share, star_share)
        pictures = render(scenes, side, side, self.device)
        weights = weigh(scenes, pictures)
        pictures = pictures * 2.0 - 1.0
        crops, crop_weights = [], []
        for index in range(count):
            y, x = self.rng.randrange(side - crop + 1), self.rng.randrange(side - crop + 1)
            crops.append(pictures[index // per_picture, :, y : y + crop, x : x + crop])
            crop_weights.append(weights[index // per_picture, :, y : y + crop, x : x + crop])
        return torch.stack(crops), torch.stack(crop_weights), [scenes[i // per_picture] for i in range(count)]

    # -- stage 1: the VAE ----------------------------------------------------------------------------------

    def train_vae(self) -> None:
        if self.vae_trained:
            return
        self.report["vae"] = self._train_autoencoder("vae", self.plan.vae, self.vae, object_weights,
                                                     TWO_OBJECT_SHARE)
        self.vae.register_to_config(scaling_factor=self._latent_scaling_factor())

    def train_decoder(self) -> None:
        """Train the saved VAE's decoder further with its encoder frozen: sharper shapes from the very
        latents the UNet already learned to draw."""
        stage = self.plan.decoder
        if stage is None:
            return
        plan = self.plan
        self.report["decoder"] = self._train_autoencoder("decoder", stage, self.vae.decoder, outline_weights,
                                                         plan.decoder_two_object_share, plan.decoder_redrawn_share,
                                                         plan.decoder_small_object_share, plan.decoder_star_share)

    def _train_autoencoder(self, name: str, stage: StagePlan, trained: torch.nn.Module, weigh,
                           two_object_share: float, redrawn_share: float = 0.0, small_object_share: float = 0.0,
                           star_share: float = 0.0) -> dict[str, float]:
        """Train `trained` (the whole VAE, or its decoder alone) to give back rendered scenes drawn with the
        shares given (`random_scenes`), each pixel's error weighed by `weigh`, from latents the UNet redraws for
        `redrawn_share` of them; the VAE is left frozen for encoding."""
        self.vae.requires_grad_(False)
        trained.requires_grad_(True).train()
        parameters = list(trained.parameters())
        optimiser = torch.optim.Adam(parameters, lr=stage.learning_rate)
        redrawn = round(redrawn_share * stage.batch)

        def step(index: int, progress: float) -> float:
            crops, weights, scenes = self.vae_crops(stage.batch, weigh, two_object_share, small_object_share,
                                                    star_share)
            with self.autocast:
                latents = self.vae.encode(crops).latents.float()
            if redrawn:
                latents = torch.cat([self.redraw(latents[:redrawn], scenes[:redrawn]), latents[redrawn:]])
            with self.autocast:
                decoded = self.vae.decode(latents).sample
            error = decoded.float() - crops
            # A little pull toward zero keeps the latents in the range the decoder's tanh clamp passes.
            loss = ((error.abs() + error**2) * weights).mean() + 1e-4 * latents.float().pow(2).mean()
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(parameters, 1.0)
            _set_learning_rate(optimiser, stage.learning_rate, index, progress, warmup=30)
            optimiser.step()
            return error.pow(2).mean().item()

        report = self._run_stage(name, stage, step)
        self.vae.eval().requires_grad_(False)
        return report

    @torch.no_grad()
    def redraw(self, latents: torch.Tensor, scenes: list[Scene]) -> torch.Tensor:
        """The encoder's `latents` of `scenes` noised to one of the default steps (`REDRAW_FIRST_STEPS`) and
        drawn back from there as the pipeline draws: their prompts, classifier-free guidance, DDIM."""
        scheduler = inference_scheduler()
        scheduler.set_timesteps(self.plan.default_steps, device=self.device)
        timesteps = scheduler.timesteps[self.rng.choice(REDRAW_FIRST_STEPS):]
        prompts = [describe(scene, self.rng, self.plan.free_order_prompts) for scene in scenes]
        token_ids = self.tokenizer(prompts + [""] * len(prompts), padding="max_length", max_length=MAX_TOKENS,
                                   truncation=True, return_tensors="pt").input_ids.to(self.device)
        scale = self.vae.config.scaling_factor
        sample = scheduler.add_noise(latents * scale, torch.randn_like(latents), timesteps[:1])
        with self.autocast:
            text = self.text_encoder(token_ids)[0]
            for timestep in timesteps:
                prediction = self.unet(torch.cat([sample, sample]), timestep, text).sample.float()
                conditional, unconditional = prediction.chunk(2)
                guided = unconditional + self.plan.default_guidance_scale * (conditional - unconditional)
                sample = scheduler.step(guided, timestep, sample).prev_sample
        return sample / scale

    @torch.no_grad()
    def _latent_scaling_factor(self) -> float:
        """1 / the latents' standard deviation, so the UNet sees unit-variance inputs (as SD's 0.18215)."""
        side = self._scaled(256)
        scenes = [random_scene(self.rng) for _ in range(32)]
        latents = self._encode(render(scenes, side, side, self.device) * 2.0 - 1.0)
        return float(1.0 / latents.std().clamp(min=1e-3))

    @torch.no_grad()
    def _encode(self, pictures: torch.Tensor) -> torch.Tensor:
        with self.autocast:
            return self.vae.encode(pictures).latents.float()

    # -- stage 2: text encoder and UNet ----------------------------------------------------------------------

    def train_diffusion(self) -> None:
        stage = self.plan.diffusion
        parameters = list(self.unet.parameters()) + list(self.text_encoder.parameters())
        optimiser = torch.optim.AdamW(parameters, lr=stage.learning_rate, weight_decay=1e-2)
        ema = EMAModel(parameters, decay=self.plan.ema_decay, use_ema_warmup=True, power=0.75)
        alphas_cumprod = self.noise_schedule.alphas_cumprod.to(self.device)
        pool = LatentPool(self, self.plan.latent_pool, least=stage.batch)
        self.unet.train()
        self.text_encoder.train()

        def step(index: int, progress: float) -> float:
            pool.refresh(self.plan.fresh_latents_per_step)
            scenes, latents, weights = pool.batch(stage.batch)
            latents = latents * self.vae.config.scaling_factor
            prompts = [self.diffusion_prompt(scene) for scene in scenes]
            noise = torch.randn_like(latents)
            timesteps = torch.randint(0, self.noise_schedule.config.num_train_timesteps, (len(scenes),),
                                      device=self.device)
            low = round(self.plan.diffusion_low_noise_share * len(scenes))
            timesteps[:low] = torch.randint(0, LOW_NOISE_TIMESTEPS, (low,), device=self.device)
            noisy = self.noise_schedule.add_noise(latents, noise, timesteps)
            target = self.noise_schedule.get_velocity(latents, noise, timesteps)
            token_ids = self.tokenizer(prompts, padding="max_length", max_length=MAX_TOKENS, truncation=True,
                                       return_tensors="pt").input_ids.to(self.device)
            with self.autocast:
                text = self.text_encoder(token_ids)[0]
                prediction = self.unet(noisy, timesteps, text).sample
            # Objects weigh five times their area (their outlines 13 times with diffusion_outline_weights), as
            # in the VAE: otherwise the backgrounds, most of every picture, are all the model learns in a CPU's
            # budget.
            error = F.mse_loss(prediction.float(), target, reduction="none")
            per_sample = (error * weights).mean(dim=(1, 2, 3))
            # Min-SNR-gamma weighting for v-prediction, +1 so the pure-noise step (SNR 0) still learns.
            snr = alphas_cumprod[timesteps] / (1 - alphas_cumprod[timesteps]).clamp(min=1e-8)
            weight = (torch.clamp(snr, max=self.plan.snr_gamma) + 1) / (snr + 1)
            loss = (per_sample * weight).mean()
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(parameters, 1.0)
            _set_learning_rate(optimiser, stage.learning_rate, index, progress, warmup=200)
            optimiser.step()
            ema.step(parameters)
            return loss.item()

        self.report["diffusion"] = self._run_stage("diffusion", stage, step)
        ema.copy_to(parameters)
        self.unet.eval()
        self.text_encoder.eval()

    def diffusion_prompt(self, scene: Scene) -> str:
        """What the diffusion stage trains `scene` with: now and then nothing (for classifier-free guidance),
        else a new description, `diffusion_long_prompt_share` of the time behind a long lead-in if it still fits."""
        if self.rng.random() < self.plan.prompt_dropout:
            return ""
        prompt = describe(scene, self.rng, self.plan.free_order_prompts)
        if self.plan.diffusion_long_prompt_share and self.rng.random() < self.plan.diffusion_long_prompt_share:
            longer = self.rng.choice(LONG_LEAD_INS) + prompt
            if len(self.tokenizer(longer).input_ids) <= MAX_TOKENS:  # cut short, it would lose the background
                return longer
        return prompt

    # -- the loop both stages share ---------------------------------------------------------------------------

    def _run_stage(self, name: str, stage: StagePlan, step) -> dict[str, float]:
        started = time.perf_counter()
        budget = stage.minutes * 60 if stage.minutes is not None else math.inf
        losses: list[float] = []
        index, last_report = 0, started
        while index < stage.steps and time.perf_counter() - started < budget:
            progress = max(index / stage.steps, (time.perf_counter() - started) / budget)
            losses.append(step(index, progress))
            index += 1
            if index % 50 == 0 or index == stage.steps or time.perf_counter() - last_report > 60:
                last_report = time.perf_counter()
                recent = sum(losses[-50:]) / len(losses[-50:])
                elapsed = time.perf_counter() - started
                self.log(f"{name} step {index}: loss {recent:.4f}, {elapsed:.0f} s, {index / elapsed:.2f} steps/s")
        seconds = time.perf_counter() - started
        tail = losses[-100:] or [float("nan")]
        return {"steps": index, "seconds": round(seconds, 1), "final_loss": round(sum(tail) / len(tail), 5)}

    # -- output --------------------------------------------------------------------------------------------

    def save(self, out: Path) -> Path:
        """Write the pipeline (fp16 weights, loaded as fp32 on CPU), its engine defaults and training.json."""
        for module in (self.vae, self.text_encoder, self.unet):
            module.to("cpu", torch.float16)  # half the bytes on disk; the engine loads them as fp32 on a CPU
        pipeline = StableDiffusionPipeline(
            vae=self.vae, text_encoder=self.text_encoder, tokenizer=self.tokenizer, unet=self.unet,
            scheduler=inference_scheduler(), safety_checker=None, feature_extractor=None,
            requires_safety_checker=False,
        )
        pipeline.save_pretrained(out, safe_serialization=True)
        scale = self.plan.image_scale
        size_multiple = max(16, int(64 * scale))
        defaults = {
            "default_width": int(256 * scale), "default_height": int(256 * scale),
            "min_size": size_multiple * 2, "max_size": int(512 * scale) if scale < 1 else 512,
            "size_multiple": size_multiple,
            "default_steps": self.plan.default_steps, "default_guidance_scale": self.plan.default_guidance_scale,
            "default_scheduler": "ddim", "known_words": known_words(),
        }
        (out / ENGINE_DEFAULTS_FILE).write_text(json.dumps(defaults, indent=2) + "\n")
        self.report.update({
            "plan": asdict(self.plan),
            "device": _device_name(self.device),
            "parameters": {"text_encoder": parameter_count(self.text_encoder), "vae": parameter_count(self.vae),
                           "unet": parameter_count(self.unet)},
            "torch": torch.__version__,
        })
        (out / "training.json").write_text(json.dumps(self.report, indent=2) + "\n")
        return out


class LatentPool:
    """Scenes with their VAE latents and loss weights, per aspect bucket, a few replaced each step: encoding
    every picture of every batch anew would cost more than the UNet's step, and the prompts are rephrased
    each time anyway."""

    def __init__(self, trainer: Trainer, capacity: int, least: int) -> None:
        self.trainer = trainer
        self.capacity = {bucket: max(least, round(capacity * weight)) for bucket, weight in
                         zip(ASPECT_BUCKETS, BUCKET_WEIGHTS)}
        #: Per bucket, oldest first: (scene, latents, loss weights per latent cell).
        self.entries: dict[tuple[int, int], list[tuple[Scene, torch.Tensor, torch.Tensor]]] = {
            bucket: [] for bucket in ASPECT_BUCKETS
        }

    def refresh(self, count: int) -> None:
        """Encode `count` new scenes into a random bucket, dropping its oldest when full."""
        self._add(self._draw_bucket(), count)

    def batch(self, size: int) -> tuple[list[Scene], torch.Tensor, torch.Tensor]:
        """`size` scenes of one bucket (drawn by the buckets' weights) with their latents and loss weights."""
        bucket = self._draw_bucket()
        entries = self.entries[bucket]
        if len(entries) < size:
            self._add(bucket, size - len(entries))
        chosen = [entries[i] for i in self.trainer.rng.sample(range(len(entries)), size)]
        scenes, latents, weights = zip(*chosen)
        return list(scenes), torch.stack(latents), torch.stack(weights)

    def _draw_bucket(self) -> tuple[int, int]:
        return self.trainer.rng.choices(ASPECT_BUCKETS, weights=BUCKET_WEIGHTS)[0]

    def _add(self, bucket: tuple[int, int], count: int) -> None:
        trainer = self.trainer
        width, height = trainer._scaled(bucket[0]), trainer._scaled(bucket[1])
        plan = trainer.plan
        scenes = trainer.random_scenes(count, plan.diffusion_two_object_share, plan.diffusion_small_object_share,
                                       plan.diffusion_star_share)
        pictures = render(scenes, height, width, trainer.device)
        latents = trainer._encode(pictures * 2.0 - 1.0)
        weigh = outline_weights if trainer.plan.diffusion_outline_weights else object_weights
        # A latent cell weighs as much as the heaviest pixel it stands for (the VAE's grid, whatever its scale).
        weights = F.adaptive_max_pool2d(weigh(scenes, pictures), latents.shape[-2:])
        entries = self.entries[bucket]
        entries.extend(zip(scenes, latents, weights))
        del entries[: max(0, len(entries) - self.capacity[bucket])]


def object_weights(scenes: list[Scene], pictures: torch.Tensor) -> torch.Tensor:
    """Per-pixel loss weights for the rendered `pictures` of `scenes`, (B, 1, H, W): 5 where an object is
    drawn, else 1. Objects cover a tenth of a picture but carry its meaning."""
    height, width = pictures.shape[-2:]
    backgrounds = render([replace(scene, objects=()) for scene in scenes], height, width, pictures.device)
    return 1.0 + 4.0 * ((pictures - backgrounds).abs().sum(dim=1, keepdim=True) > 0.05).float()


def outline_weights(scenes: list[Scene], pictures: torch.Tensor) -> torch.Tensor:
    """`object_weights`, plus 8 on every pixel within two of an object's edge, inside or out: the decoder
    stage's weights, since a shape is told by its outline (a small star's points are a few pixels each)."""
    weights = object_weights(scenes, pictures)
    inside = (weights > 1.0).float()
    grown = F.max_pool2d(inside, kernel_size=5, stride=1, padding=2)
    shrunk = -F.max_pool2d(-inside, kernel_size=5, stride=1, padding=2)
    return weights + 8.0 * (grown - shrunk)


def _set_learning_rate(optimiser: torch.optim.Optimizer, peak: float, index: int, progress: float,
                       warmup: int) -> None:
    """Linear warm-up, then a linear decay to a tenth of the peak by the end of the stage's budget."""
    for group in optimiser.param_groups:
        group["lr"] = peak * min(1.0, (index + 1) / warmup) * (1.0 - 0.9 * min(1.0, progress))


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} threads"


def _block_counts(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected whole numbers joined by commas, like 3,2,2,1,1; got {text!r}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Train the embedded text-to-image model on rendered scenes.")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="cpu")
    parser.add_argument("--out", type=Path, required=True, help="folder for the trained pipeline")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", help="cuda or cpu (default: cuda when present)")
    parser.add_argument("--vae-minutes", type=float, help="override the preset's VAE time budget")
    parser.add_argument("--diffusion-minutes", type=float, help="override the preset's diffusion time budget")
    parser.add_argument("--diffusion-batch", type=int, help="override the preset's diffusion batch size")
    parser.add_argument("--diffusion-learning-rate", type=float,
                        help="override the preset's peak diffusion learning rate (lower suits a continuation)")
    parser.add_argument("--diffusion-two-object-share", type=float,
                        help="the share of two-object scenes the diffusion stage trains on (default 0.35)")
    parser.add_argument("--diffusion-outline-weights", action="store_true",
                        help="weigh the diffusion loss 13x on the latent cells an object's edge crosses "
                             "(default: 5x on an object's cells)")
    parser.add_argument("--diffusion-small-object-share", type=float,
                        help="the share of the diffusion stage's scenes whose objects are all small (default 0)")
    parser.add_argument("--diffusion-low-noise-share", type=float,
                        help=f"the share of each diffusion batch noised to a timestep under {LOW_NOISE_TIMESTEPS}, "
                             "where the outlines are finished (default 0: every timestep alike)")
    parser.add_argument("--diffusion-star-share", type=float,
                        help="the share of the diffusion stage's scenes with one object turned into a star "
                             "(default 0)")
    parser.add_argument("--diffusion-long-prompt-share", type=float,
                        help="the share of the diffusion stage's prompts written behind a long lead-in such as "
                             "'please make a nice simple picture of' (default 0)")
    parser.add_argument("--continue-from", type=Path, help="a trained pipeline folder to go on training")
    parser.add_argument("--decoder-minutes", type=float,
                        help="with --continue-from: first train the VAE's decoder alone this long")
    parser.add_argument("--decoder-width", type=int,
                        help="with --decoder-minutes: widen the saved decoder to this many channels first")
    parser.add_argument("--decoder-blocks", type=_block_counts,
                        help="with --decoder-minutes: residual blocks per decoder level, from the latent's size "
                             "up (e.g. 3,2,2,1,1); a level may only gain blocks")
    parser.add_argument("--decoder-two-object-share", type=float,
                        help="with --decoder-minutes: the share of two-object scenes the decoder trains on "
                             "(default 0.35, as every other stage)")
    parser.add_argument("--decoder-redrawn-share", type=float,
                        help="with --decoder-minutes: the share of the decoder's pictures whose latents the UNet "
                             "first redraws from part-way noise, as it draws them at inference (default 0)")
    parser.add_argument("--decoder-small-object-share", type=float,
                        help="with --decoder-minutes: the share of the decoder's pictures whose objects are all "
                             "small (default 0)")
    parser.add_argument("--decoder-star-share", type=float,
                        help="with --decoder-minutes: the share of the decoder's pictures with one object turned "
                             "into a star (default 0)")
    args = parser.parse_args(argv)

    plan = replace(PRESETS[args.preset], seed=args.seed)
    if args.vae_minutes is not None:
        plan = replace(plan, vae=replace(plan.vae, minutes=args.vae_minutes))
    if args.diffusion_minutes is not None:
        plan = replace(plan, diffusion=replace(plan.diffusion, minutes=args.diffusion_minutes))
    if args.diffusion_batch is not None:
        plan = replace(plan, diffusion=replace(plan.diffusion, batch=args.diffusion_batch))
    if args.diffusion_learning_rate is not None:
        plan = replace(plan, diffusion=replace(plan.diffusion, learning_rate=args.diffusion_learning_rate))
    if args.diffusion_outline_weights:
        plan = replace(plan, diffusion_outline_weights=True)
    if args.decoder_minutes is not None:
        if not args.continue_from:
            parser.error("--decoder-minutes trains a saved VAE's decoder: it needs --continue-from")
        plan = replace(plan, decoder=replace(plan.vae, learning_rate=plan.vae.learning_rate / 4,
                                             minutes=args.decoder_minutes))
    # Each share flag is its plan field's name in dashes.
    share_fields = [plan_field.name for plan_field in fields(TrainingPlan) if plan_field.name.endswith("_share")]
    decoder_shares = [name for name in share_fields if name.startswith("decoder_")]
    decoder_fields = ["decoder_width", "decoder_blocks", *decoder_shares]
    given = ["--" + name.replace("_", "-") for name in decoder_fields if getattr(args, name) is not None]
    if given and args.decoder_minutes is None:
        parser.error(f"{' and '.join(given)}: only for a decoder stage, which needs --decoder-minutes")
    for share_field in share_fields:
        share = getattr(args, share_field)
        if share is None:
            continue
        if not 0.0 <= share <= 1.0:
            parser.error(f"--{share_field.replace('_', '-')} is a share: from 0 to 1")
        plan = replace(plan, **{share_field: share})
    if args.decoder_width is not None or args.decoder_blocks is not None:
        plan = replace(plan, architecture=replace(plan.architecture, decoder_width=args.decoder_width,
                                                  decoder_blocks=args.decoder_blocks))
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True  # four picture shapes: each tuned once
    try:
        trainer = Trainer(plan, device)
        if args.continue_from:
            trainer.continue_from(args.continue_from)
    except ValueError as error:  # a plan the trainer cannot run, or a saved part that cannot grow into it
        parser.error(str(error))
    print(f"training on {_device_name(device)}: preset {args.preset}, seed {args.seed}", flush=True)
    trainer.train_vae()
    trainer.train_decoder()
    trainer.vae.save_pretrained(args.out / "vae")  # to look at while the rest trains; saved again at the end
    trainer.train_diffusion()
    trainer.save(args.out)
    print(f"saved the pipeline to {args.out}", flush=True)


if __name__ == "__main__":
    main()
