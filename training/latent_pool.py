"""The diffusion stage's training data: scenes with their VAE latents and loss weights, kept in a pool.

Encoding every picture of every batch anew would cost more than the UNet's step, so a few scenes are
replaced each step and the rest are drawn again (their prompts are rephrased each time anyway).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from training.renderer import render
from training.scenes import Scene
from training.vocabulary import ASPECT_BUCKETS

if TYPE_CHECKING:
    from training.trainer import Trainer

#: How often each aspect bucket is drawn: the square native size most, the slide and page shapes too.
BUCKET_WEIGHTS = (0.4, 0.25, 0.15, 0.2)


class LatentPool:
    """Scenes with their VAE latents and loss weights, per aspect bucket, a few replaced each step: encoding
    every picture of every batch anew would cost more than the UNet's step, and the prompts are rephrased
    each time anyway."""

    def __init__(self, trainer: Trainer, capacity: int, least: int) -> None:
        self.trainer = trainer
        self.capacity = {
            bucket: max(least, round(capacity * weight)) for bucket, weight in zip(ASPECT_BUCKETS, BUCKET_WEIGHTS)
        }
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
        scenes = trainer.random_scenes(
            count, plan.diffusion_two_object_share, plan.diffusion_small_object_share, plan.diffusion_star_share
        )
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
