"""Inpainting on any UNet, through the image-to-image pipeline, by blending latents.

diffusers' inpainting pipelines take only a 4-channel UNet (which they blend) or a 9-channel inpainting UNet;
the embedded model's UNet has 8 latent channels. Blending works whatever the channel count: after every step,
the latents outside the mask are put back to the original picture's latents, noised to the step's level, so only
the masked area is repainted and it grows into what surrounds it (as diffusers' 4-channel path does).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image


def blends_to_inpaint(pipeline: Any) -> bool:
    """Whether a model inpaints by blending: any UNet model but one with a real inpainting UNet (9 channels:
    latents, mask and masked picture). Transformer families keep their own inpainting pipelines."""
    unet = getattr(pipeline, "unet", None)
    return unet is not None and int(getattr(unet.config, "in_channels", 0)) != 9


@dataclass
class LatentBlend:
    """The step callback's half of blending: which latents to keep (the mask, one per image) and the picture's
    own latents and noise, taken from the pipeline's first `add_noise` call (so SDXL's latent scaling and each
    image's seeded noise are the pipeline's own)."""

    masks: Sequence[Image.Image]
    original: torch.Tensor | None = None
    noise: torch.Tensor | None = None
    _latent_masks: torch.Tensor | None = field(default=None, repr=False)

    @contextmanager
    def recording(self, scheduler: Any) -> Iterator[None]:
        """While the pipeline runs, note the clean latents and noise its image-to-image start noises."""
        add_noise = scheduler.add_noise

        def record_then_add_noise(original: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor) -> Any:
            if self.original is None:
                self.original, self.noise = original.detach().clone(), noise.detach().clone()
            return add_noise(original, noise, timesteps)

        scheduler.add_noise = record_then_add_noise
        try:
            yield
        finally:
            del scheduler.add_noise  # the class's own method again

    def blend(self, pipeline: Any, step_index: int, latents: torch.Tensor) -> torch.Tensor:
        """`latents` after step `step_index`: repainted inside the mask, the original (noised to the next step's
        level, or clean after the last) outside it."""
        if self.original is None or self.noise is None:
            return latents
        scheduler = pipeline.scheduler
        remaining = scheduler.timesteps[-int(pipeline.num_timesteps) :]
        kept = self.original
        if step_index + 1 < len(remaining):
            kept = scheduler.add_noise(self.original, self.noise, remaining[step_index + 1 : step_index + 2])
        repaint = self._masks_like(latents)
        return repaint * latents + (1 - repaint) * kept.to(latents.dtype)

    def _masks_like(self, latents: torch.Tensor) -> torch.Tensor:
        """Each mask at the latents' size: a latent cell is repainted if any pixel it covers is masked, so the
        repainted area covers the whole mask and the pixel composite afterwards restores the rest exactly."""
        if self._latent_masks is None or self._latent_masks.shape[-2:] != latents.shape[-2:]:
            pixels = torch.stack([torch.from_numpy(np.asarray(mask, dtype=np.float32) / 255.0) for mask in self.masks])
            cells = F.adaptive_max_pool2d(pixels[:, None], tuple(latents.shape[-2:]))
            self._latent_masks = (cells > 0).to(latents.dtype)
        return self._latent_masks.to(latents.device, latents.dtype)
