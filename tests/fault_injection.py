"""Faults that cannot happen on purpose here (a broken pipeline, a GPU out of memory), injected into a real one."""

from __future__ import annotations

import torch


class ExplodingPipeline:
    """Wraps a real pipeline; raises for prompts containing 'explode' (or, with oom, for any batch > 1)."""

    def __init__(self, pipeline, oom: bool = False) -> None:
        self.pipeline, self.oom = pipeline, oom
        self.batch_sizes: list[int] = []

    def __getattr__(self, name):
        return getattr(self.pipeline, name)

    def __setattr__(self, name, value):
        if name in ("pipeline", "oom", "batch_sizes"):
            object.__setattr__(self, name, value)
        else:
            setattr(self.pipeline, name, value)

    def __call__(self, **arguments):
        self.batch_sizes.append(len(arguments["prompt"]))
        if self.oom and len(arguments["prompt"]) > 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        if any("explode" in prompt for prompt in arguments["prompt"]):
            raise RuntimeError("the pipeline broke")
        return self.pipeline(**arguments)
