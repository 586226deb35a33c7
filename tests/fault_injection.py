"""Faults that cannot happen on purpose here (a broken pipeline, a GPU out of memory), injected into a real one."""

from __future__ import annotations

import torch


class ExplodingPipeline:
    """Wraps a real pipeline; raises for prompts containing 'explode' (or, with oom, for any batch > 1)."""

    def __init__(self, pipeline, oom: bool = False) -> None:
        self.pipeline, self.oom = pipeline, oom
        self.batch_sizes: list[int] = []
        self.encoded: list[str] = []  # the prompts the engine encoded itself (once per distinct prompt)

    def __getattr__(self, name):
        return getattr(self.pipeline, name)

    def __setattr__(self, name, value):
        if name in ("pipeline", "oom", "batch_sizes", "encoded"):
            object.__setattr__(self, name, value)
        else:
            setattr(self.pipeline, name, value)

    def encode_prompt(self, prompt, *args, **kwargs):
        self.encoded = list(prompt)
        return self.pipeline.encode_prompt(prompt, *args, **kwargs)

    def __call__(self, **arguments):
        prompts = arguments.get("prompt") or self.encoded
        size = len(arguments["prompt"]) if "prompt" in arguments else len(arguments["prompt_embeds"])
        self.batch_sizes.append(size)
        if self.oom and size > 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        if any("explode" in prompt for prompt in prompts):
            raise RuntimeError("the pipeline broke")
        return self.pipeline(**arguments)
