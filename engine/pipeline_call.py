"""One pipeline call for a batch of compatible requests: one prompt and one seeded generator per image, so a
seed gives the same picture alone or in a batch. Only a model's owner thread calls it.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from typing import Any

import torch
from PIL import Image

from engine.api import GenerationRequest
from engine.errors import JobCancelled
from engine.latent_blend import LatentBlend
from engine.models import LoadedModel

#: Called after each denoising step with the step's index and the total; it may raise `BatchCancelled`.
StepObserver = Callable[[int, int], None]


class BatchCancelled(JobCancelled):
    """Raised from the step callback when every job of a running batch was cancelled."""


def run_pipeline(loaded: LoadedModel, requests: Sequence[GenerationRequest], on_step: StepObserver) -> list[Any]:
    """The PIL images of every request's seeds, in order; the requests share size, steps, kind and the rest."""
    first = requests[0]

    # 1. One prompt, negative prompt and generator per image (words the model does not know left out), and for
    #    an edit the picture (and mask) each image starts from.
    prompts, negatives, generators = [], [], []
    sources: list[Any] = []  # the PIL picture each image starts from (None for text to image)
    masks: list[Any] = []
    for request in requests:
        prompt = loaded.pipeline_prompt(request.prompt)
        negative = loaded.pipeline_prompt(request.negative_prompt)
        source = _picture(request.source_image, "RGB") if request.source_image else None
        mask = _picture(request.mask_image, "L") if request.mask_image else None
        for seed in request.image_seeds():
            prompts.append(prompt)
            negatives.append(negative)
            generators.append(torch.Generator("cpu").manual_seed(seed))
            sources.append(source)
            masks.append(mask)

    # 2. Progress after every step; a model that inpaints by blending keeps the latents outside the mask too.
    kind = first.kind
    blend = LatentBlend(masks) if kind == "inpaint" and loaded.inpaints_by_blending else None

    def on_step_end(pipeline: Any, step_index: int, timestep: Any, callback_kwargs: dict[str, Any]) -> dict[str, Any]:
        if blend is not None:
            callback_kwargs["latents"] = blend.blend(pipeline, step_index, callback_kwargs["latents"])
        on_step(step_index, int(getattr(pipeline, "num_timesteps", 0) or first.steps or 0))
        return callback_kwargs

    # 3. The call: text to image, image to image or inpainting, each with what it takes.
    if kind != "generate" and int((first.steps or 0) * (first.strength or 0.0)) < 1:
        return [source.copy() for source in sources]  # a strength this low runs no step: the picture as it was
    pipeline = loaded.pipeline_for(kind)
    pipeline.scheduler = loaded.schedulers.get(first.scheduler)
    arguments: dict[str, Any] = {
        "num_inference_steps": first.steps,
        "guidance_scale": first.guidance_scale,
        "generator": generators,
        "output_type": "pil",
        "callback_on_step_end": on_step_end,
    }
    if kind != "edit":  # image to image takes its size from the picture
        arguments.update(height=first.height, width=first.width)
    if kind != "generate":
        arguments.update(image=sources, strength=first.strength)
    if kind == "inpaint" and blend is None:
        arguments["mask_image"] = masks
    with_negatives = bool(first.negative_prompt) and "negative_prompt" in loaded.call_parameters
    with torch.inference_mode():
        if loaded.speed is not None and loaded.speed.distinct_prompts:
            arguments.update(
                _distinct_prompt_embeddings(
                    pipeline, prompts, negatives if with_negatives else None, float(first.guidance_scale or 0.0)
                )
            )
        else:
            arguments["prompt"] = prompts
            if with_negatives:
                arguments["negative_prompt"] = negatives
        with blend.recording(pipeline.scheduler) if blend is not None else nullcontext():
            images = list(pipeline(**arguments).images)

    # 4. Inpainting keeps every pixel outside the mask exactly as it was.
    if kind == "inpaint":
        images = [Image.composite(image, source, mask) for image, source, mask in zip(images, sources, masks)]
    return images


def run_warm_up(loaded: LoadedModel) -> None:
    """One throwaway single-step image at the model's default size, so a background compiler starts on the
    shapes of the commonest request (one picture) before the first one arrives."""
    warm_up = GenerationRequest(prompt="warm up", steps=1, seed=0).resolved(loaded.name, loaded.limits)
    run_pipeline(loaded, [warm_up], lambda step, total: None)


def _distinct_prompt_embeddings(
    pipeline: Any, prompts: list[str], negatives: list[str] | None, guidance_scale: float
) -> dict[str, Any]:
    """`prompt_embeds` (and `negative_prompt_embeds`) for every image, with the text encoder run once per distinct
    pair of prompt and negative prompt: eight variations of one prompt encode it once, not eight times."""
    pairs = list(zip(prompts, negatives or [""] * len(prompts)))
    distinct = list(dict.fromkeys(pairs))
    rows = torch.tensor([distinct.index(pair) for pair in pairs])
    denoiser_config = getattr(getattr(pipeline, "unet", None), "config", None)
    # As the pipeline decides: guidance above 1, unless the UNet is guidance-distilled (it then runs none).
    guided = guidance_scale > 1 and getattr(denoiser_config, "time_cond_proj_dim", None) is None
    embeddings, negative_embeddings = pipeline.encode_prompt(
        [prompt for prompt, _ in distinct],
        pipeline._execution_device,
        1,
        guided,
        negative_prompt=[negative for _, negative in distinct] if negatives is not None else None,
    )
    encoded = {"prompt_embeds": embeddings[rows]}
    if guided:
        encoded["negative_prompt_embeds"] = negative_embeddings[rows]
    return encoded


def _picture(data: bytes, mode: str) -> Image.Image:
    with Image.open(io.BytesIO(data)) as picture:
        return picture.convert(mode)


def is_out_of_memory(error: BaseException) -> bool:
    """A CUDA out-of-memory error, or any error that says it ran out of memory."""
    return isinstance(error, torch.cuda.OutOfMemoryError) or "out of memory" in str(error).lower()


def free_accelerator_memory() -> None:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
