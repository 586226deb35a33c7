"""One pipeline call for a batch of compatible requests: one prompt and one seeded generator per image, so a
seed gives the same picture alone or in a batch. Only a model's owner thread calls it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from engine.api import GenerationRequest
from engine.errors import JobCancelled
from engine.models import LoadedModel

#: Called after each denoising step with the step's index and the total; it may raise `BatchCancelled`.
StepObserver = Callable[[int, int], None]


class BatchCancelled(JobCancelled):
    """Raised from the step callback when every job of a running batch was cancelled."""


def run_pipeline(loaded: LoadedModel, requests: Sequence[GenerationRequest], on_step: StepObserver) -> list[Any]:
    """The PIL images of every request's seeds, in order; the requests share size, steps and the rest."""
    first = requests[0]

    # 1. One prompt, negative prompt and generator per image (words the model does not know left out).
    prompts, negatives, generators = [], [], []
    for request in requests:
        prompt = loaded.pipeline_prompt(request.prompt)
        negative = loaded.pipeline_prompt(request.negative_prompt)
        for seed in request.image_seeds():
            prompts.append(prompt)
            negatives.append(negative)
            generators.append(torch.Generator("cpu").manual_seed(seed))

    # 2. Progress after every step.
    def on_step_end(pipeline: Any, step_index: int, timestep: Any, callback_kwargs: dict[str, Any]) -> dict[str, Any]:
        on_step(step_index, int(getattr(pipeline, "num_timesteps", 0) or first.steps or 0))
        return callback_kwargs

    # 3. The call.
    pipeline = loaded.pipeline
    pipeline.scheduler = loaded.schedulers.get(first.scheduler)
    arguments: dict[str, Any] = {
        "prompt": prompts,
        "height": first.height,
        "width": first.width,
        "num_inference_steps": first.steps,
        "guidance_scale": first.guidance_scale,
        "generator": generators,
        "output_type": "pil",
        "callback_on_step_end": on_step_end,
    }
    if first.negative_prompt and "negative_prompt" in loaded.call_parameters:
        arguments["negative_prompt"] = negatives
    with torch.inference_mode():
        return list(pipeline(**arguments).images)


def is_out_of_memory(error: BaseException) -> bool:
    """A CUDA out-of-memory error, or any error that says it ran out of memory."""
    return isinstance(error, torch.cuda.OutOfMemoryError) or "out of memory" in str(error).lower()


def free_accelerator_memory() -> None:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
