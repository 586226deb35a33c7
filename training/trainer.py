"""The `Trainer`: runs a `TrainingPlan` on one device, stage by stage, and writes a diffusers pipeline folder.

1. the VAE on rendered scenes (or, going on from a saved pipeline, its decoder alone)
2. the text encoder and UNet together on the VAE's latents (`LatentPool`)
3. the pipeline, its engine defaults (`engine_defaults.json`) and training.json
"""

from __future__ import annotations

import json
import math
import platform
import random
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from diffusers import StableDiffusionPipeline
from diffusers.training_utils import EMAModel

from engine.model_defaults import ModelDefaults
from training.components import (
    MAX_TOKENS,
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
from training.latent_pool import LatentPool, object_weights, outline_weights
from training.plan import LOW_NOISE_TIMESTEPS, StagePlan, TrainingPlan
from training.renderer import render
from training.scenes import (
    LONG_LEAD_INS,
    TWO_OBJECT_SHARE,
    Scene,
    describe,
    made_small,
    random_scene,
    with_a_star,
)
from training.vocabulary import known_words

#: Where `Trainer.redraw` may start among the default steps (12: timesteps 999, 916, ..., 82): no earlier than
#: the fourth (t 749, a third of the scene's signal left, so its layout survives and the picture still fits
#: the latents), no later than the tenth (t 249), so the UNet draws the outlines itself.
REDRAW_FIRST_STEPS = range(3, 10)


class Trainer:
    """Runs a `TrainingPlan` on one device and writes a diffusers pipeline folder."""

    def __init__(self, plan: TrainingPlan, device: torch.device, log=print) -> None:
        if plan.decoder_redrawn_share and plan.vae_crop:
            raise ValueError(
                "--decoder-redrawn-share needs whole pictures (a preset without crops): the prompts "
                "that redraw them describe whole scenes"
            )
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

    def random_scenes(
        self, count: int, two_object_share: float, small_object_share: float = 0.0, star_share: float = 0.0
    ) -> list[Scene]:
        """`count` random scenes, `two_object_share` of them with two objects, `small_object_share` with every
        object small (`made_small`) and `star_share` with one object a star (`with_a_star`)."""
        scenes = [random_scene(self.rng, two_object_share) for _ in range(count)]
        # No draws at a share of 0, so the commands from before each share still reproduce from their seeds.
        if small_object_share:
            scenes = [made_small(scene) if self.rng.random() < small_object_share else scene for scene in scenes]
        if star_share:
            scenes = [with_a_star(scene, self.rng) if self.rng.random() < star_share else scene for scene in scenes]
        return scenes

    def vae_crops(
        self, count: int, weigh, two_object_share: float, small_object_share: float = 0.0, star_share: float = 0.0
    ) -> tuple[torch.Tensor, torch.Tensor, list[Scene]]:
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
        self.report["vae"] = self._train_autoencoder("vae", self.plan.vae, self.vae, object_weights, TWO_OBJECT_SHARE)
        self.vae.register_to_config(scaling_factor=self._latent_scaling_factor())

    def train_decoder(self) -> None:
        """Train the saved VAE's decoder further with its encoder frozen: sharper shapes from the very
        latents the UNet already learned to draw."""
        stage = self.plan.decoder
        if stage is None:
            return
        plan = self.plan
        self.report["decoder"] = self._train_autoencoder(
            "decoder",
            stage,
            self.vae.decoder,
            outline_weights,
            plan.decoder_two_object_share,
            plan.decoder_redrawn_share,
            plan.decoder_small_object_share,
            plan.decoder_star_share,
        )

    def _train_autoencoder(
        self,
        name: str,
        stage: StagePlan,
        trained: torch.nn.Module,
        weigh,
        two_object_share: float,
        redrawn_share: float = 0.0,
        small_object_share: float = 0.0,
        star_share: float = 0.0,
    ) -> dict[str, float]:
        """Train `trained` (the whole VAE, or its decoder alone) to give back rendered scenes drawn with the
        shares given (`random_scenes`), each pixel's error weighed by `weigh`, from latents the UNet redraws for
        `redrawn_share` of them; the VAE is left frozen for encoding."""
        self.vae.requires_grad_(False)
        trained.requires_grad_(True).train()
        parameters = list(trained.parameters())
        optimiser = torch.optim.Adam(parameters, lr=stage.learning_rate)
        redrawn = round(redrawn_share * stage.batch)

        def step(index: int, progress: float) -> float:
            crops, weights, scenes = self.vae_crops(
                stage.batch, weigh, two_object_share, small_object_share, star_share
            )
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
        timesteps = scheduler.timesteps[self.rng.choice(REDRAW_FIRST_STEPS) :]
        prompts = [describe(scene, self.rng, self.plan.free_order_prompts) for scene in scenes]
        token_ids = self.tokenizer(
            prompts + [""] * len(prompts),
            padding="max_length",
            max_length=MAX_TOKENS,
            truncation=True,
            return_tensors="pt",
        ).input_ids.to(self.device)
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
            timesteps = torch.randint(
                0, self.noise_schedule.config.num_train_timesteps, (len(scenes),), device=self.device
            )
            low = round(self.plan.diffusion_low_noise_share * len(scenes))
            timesteps[:low] = torch.randint(0, LOW_NOISE_TIMESTEPS, (low,), device=self.device)
            noisy = self.noise_schedule.add_noise(latents, noise, timesteps)
            target = self.noise_schedule.get_velocity(latents, noise, timesteps)
            token_ids = self.tokenizer(
                prompts, padding="max_length", max_length=MAX_TOKENS, truncation=True, return_tensors="pt"
            ).input_ids.to(self.device)
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
            vae=self.vae,
            text_encoder=self.text_encoder,
            tokenizer=self.tokenizer,
            unet=self.unet,
            scheduler=inference_scheduler(),
            safety_checker=None,
            feature_extractor=None,
            requires_safety_checker=False,
        )
        pipeline.save_pretrained(out, safe_serialization=True)
        scale = self.plan.image_scale
        size_multiple = max(16, int(64 * scale))
        ModelDefaults(
            default_width=int(256 * scale),
            default_height=int(256 * scale),
            min_size=size_multiple * 2,
            max_size=int(512 * scale) if scale < 1 else 512,
            size_multiple=size_multiple,
            default_steps=self.plan.default_steps,
            default_guidance_scale=self.plan.default_guidance_scale,
            default_scheduler="ddim",
            known_words=tuple(known_words()),
        ).write(out)
        self.report.update(
            {
                "plan": asdict(self.plan),
                "device": device_name(self.device),
                "parameters": {
                    "text_encoder": parameter_count(self.text_encoder),
                    "vae": parameter_count(self.vae),
                    "unet": parameter_count(self.unet),
                },
                "torch": torch.__version__,
            }
        )
        (out / "training.json").write_text(json.dumps(self.report, indent=2) + "\n")
        return out


def _set_learning_rate(optimiser: torch.optim.Optimizer, peak: float, index: int, progress: float, warmup: int) -> None:
    """Linear warm-up, then a linear decay to a tenth of the peak by the end of the stage's budget."""
    for group in optimiser.param_groups:
        group["lr"] = peak * min(1.0, (index + 1) / warmup) * (1.0 - 0.9 * min(1.0, progress))


def device_name(device: torch.device) -> str:
    """The card's name, or the CPU and its thread count: recorded in training.json."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} threads"
