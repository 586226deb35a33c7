"""The arguments a pipeline's modules are called with, recorded during one short generation: the inputs that the
bf16 trial times and that OpenVINO traces its graphs from."""

from __future__ import annotations

from typing import Any

import torch


def first_calls(pipeline: Any, modules: list[Any], size: int) -> list[tuple[Any, tuple[tuple, dict]]]:
    """Each module's first call's arguments during one short generation."""
    recorded: dict[int, tuple[tuple, dict]] = {}

    def recorder(index: int):
        def record(module: Any, args: tuple, kwargs: dict) -> None:
            recorded.setdefault(index, (args, kwargs))

        return record

    hooks = [module.register_forward_pre_hook(recorder(i), with_kwargs=True) for i, module in enumerate(modules)]
    try:
        with torch.inference_mode():
            pipeline(prompt="a", num_inference_steps=2, height=size, width=size, output_type="np")
    finally:
        for hook in hooks:
            hook.remove()
    return [(module, recorded[index]) for index, module in enumerate(modules) if index in recorded]
