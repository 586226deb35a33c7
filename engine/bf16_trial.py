"""Whether bf16 runs a model faster than fp32 on this CPU, measured at load rather than assumed.

A CPU with native bf16 (AVX-512 BF16 or AMX) ran the embedded model 1.5-1.9x faster in bf16, but a tiny 64-px
random-weight SD pipeline 1.9x slower: its calls are too small for bf16's kernels to pay for their conversions.
So on such a CPU the engine runs one short generation in fp32, records the denoiser's and the VAE decoder's first
calls, and times both again with their weights in bf16; the model is loaded in bf16 only where that is clearly
faster. The weights are swapped back afterwards, so the fp32 pipeline is left exactly as it was.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch

from engine.module_calls import first_calls

#: bf16 must take at most this share of fp32's time: the trial is short, and pictures move a little in bf16.
CLEARLY_FASTER = 0.85

#: Timed rounds of each dtype, fewer once the trial has taken this long (a large model on a small CPU).
ROUNDS = 3
TRIAL_BUDGET_S = 20.0


@dataclass(frozen=True)
class Bf16Trial:
    """Seconds one denoiser call plus one VAE decode took in fp32 and in bf16."""

    fp32_s: float
    bf16_s: float

    @property
    def bf16_is_faster(self) -> bool:
        return self.bf16_s <= self.fp32_s * CLEARLY_FASTER

    def describe(self) -> str:
        verdict = "bf16" if self.bf16_is_faster else "fp32"
        return f"{verdict} (measured {self.bf16_s * 1000:.0f} ms in bf16 against {self.fp32_s * 1000:.0f} ms in fp32)"


def time_bf16_against_fp32(pipeline: Any, size: int, denoiser: Any) -> Bf16Trial | None:
    """Time `pipeline`'s denoiser and VAE decoder in fp32 and bf16 on the inputs of a 2-step `size`-px generation.
    None when the pipeline has no denoiser to time."""
    if denoiser is None:
        return None
    decoder = getattr(getattr(pipeline, "vae", None), "decoder", None)
    started = time.perf_counter()
    calls = first_calls(pipeline, [module for module in (denoiser, decoder) if module is not None], size)
    fastest_fp32 = fastest_bf16 = float("inf")
    # Alternating rounds after one of each to warm the kernels up, so a busy moment on a shared machine does
    # not decide it; the fastest round of each counts.
    for round_index in range(ROUNDS + 1):
        fp32_s = sum(_seconds(module, args, kwargs) for module, (args, kwargs) in calls)
        bf16_s = 0.0
        for module, (args, kwargs) in calls:
            with _weights_in_bf16(module):
                bf16_s += _seconds(module, _in_bf16(args), _in_bf16(kwargs))
        if round_index:
            fastest_fp32, fastest_bf16 = min(fastest_fp32, fp32_s), min(fastest_bf16, bf16_s)
            if time.perf_counter() - started > TRIAL_BUDGET_S:
                break
    return Bf16Trial(fp32_s=fastest_fp32, bf16_s=fastest_bf16)


def _seconds(module: Any, args: tuple, kwargs: dict) -> float:
    started = time.perf_counter()
    with torch.inference_mode():
        module(*args, **kwargs)
    return time.perf_counter() - started


def _in_bf16(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.to(torch.bfloat16) if value.is_floating_point() else value
    if isinstance(value, dict):
        return {key: _in_bf16(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_in_bf16(item) for item in value)
    return value


class _weights_in_bf16:  # noqa: N801 - used as a context manager, like torch.inference_mode
    """The module's floating-point weights in bf16 for the block; the fp32 tensors themselves come back after."""

    def __init__(self, module: Any) -> None:
        self._tensors = [t for t in (*module.parameters(), *module.buffers()) if t.is_floating_point()]
        self._originals: list[torch.Tensor] = []

    def __enter__(self) -> None:
        self._originals = [tensor.data for tensor in self._tensors]
        for tensor in self._tensors:
            tensor.data = tensor.data.to(torch.bfloat16)

    def __exit__(self, *exc_info: object) -> None:
        for tensor, original in zip(self._tensors, self._originals):
            tensor.data = original
