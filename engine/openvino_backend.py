"""The denoiser and the VAE decoder run by OpenVINO's CPU runtime instead of PyTorch's eager kernels, the lever
FastSD CPU chose. On the embedded model on 2 cores a picture took 0.46-0.52 s against 0.78-1.15 s in PyTorch, with
the pictures within 1 of 255 at fp32.

At load, one short generation records the modules' inputs; OpenVINO traces each module from them into a graph
with dynamic batch and picture size and compiles it for the CPU, its compiled kernels kept in the cache folder.
The modules' `forward` is then replaced by one that runs the compiled graph, and falls back to PyTorch for any
call the graph was not traced for (ControlNet residuals, added conditions, another dtype).
"""

from __future__ import annotations

import importlib.util
import logging
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.module_calls import first_calls

log = logging.getLogger(__name__)


def openvino_installed() -> bool:
    return importlib.util.find_spec("openvino") is not None


def why_not_openvino(pipeline: Any) -> str:
    """Why this pipeline's denoiser cannot run on OpenVINO here; "" when it can."""
    unet = getattr(pipeline, "unet", None)
    if unet is None or type(unet).__name__ != "UNet2DConditionModel":
        return "only Stable Diffusion 1.x/2.x UNets are traced"
    config = unet.config
    if config.addition_embed_type not in (None, "text") or config.class_embed_type is not None:
        return "this UNet takes added conditions"
    if getattr(config, "time_cond_proj_dim", None) is not None:
        return "this UNet takes a guidance embedding"
    if getattr(getattr(pipeline, "vae", None), "decoder", None) is None:
        return "the VAE has no decoder module"
    return ""


def run_on_openvino(pipeline: Any, size: int, precision: str, threads: int, cache_dir: Path | None) -> float:
    """Trace and compile the UNet and the VAE decoder, and route their calls there; the seconds it took.

    `precision` is OpenVINO's inference precision, `f32` or `bf16`."""
    import openvino

    started = time.perf_counter()
    unet, decoder = pipeline.unet, pipeline.vae.decoder
    recorded = dict(first_calls(pipeline, [unet, decoder], size))
    unet_args, unet_kwargs = recorded[unet]
    (latents,), _ = recorded[decoder]
    sample, hidden_states = unet_args[0], unet_kwargs["encoder_hidden_states"]
    core = openvino.Core()
    config = {"INFERENCE_PRECISION_HINT": precision, "PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": threads}
    if cache_dir is not None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        config["CACHE_DIR"] = str(cache_dir / "openvino")
    f32 = openvino.Type.f32
    # Tracing notes each shape test in diffusers' code it fixes as a constant (layout choices only): not news.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        unet_graph = openvino.convert_model(
            _UNetCall(unet),
            example_input=(sample, torch.tensor(999.0), hidden_states),
            input=[([-1, sample.shape[1], -1, -1], f32), ([], f32), ([-1, -1, hidden_states.shape[2]], f32)],
        )
        decoder_graph = openvino.convert_model(
            decoder, example_input=latents, input=[([-1, latents.shape[1], -1, -1], f32)]
        )
    unet.forward = OpenVinoUNetForward(core.compile_model(unet_graph, "CPU", config), unet.forward)
    decoder.forward = OpenVinoDecoderForward(core.compile_model(decoder_graph, "CPU", config), decoder.forward)
    return time.perf_counter() - started


class _UNetCall(torch.nn.Module):
    """The UNet with the three inputs a text-to-image step gives it, returning the noise prediction."""

    def __init__(self, unet: torch.nn.Module) -> None:
        super().__init__()
        self.unet = unet

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor, encoder_hidden_states: torch.Tensor) -> Any:
        return self.unet(sample, timestep, encoder_hidden_states=encoder_hidden_states, return_dict=False)[0]


class OpenVinoUNetForward:
    """`unet.forward` through the compiled graph; PyTorch's own forward for calls outside what was traced."""

    def __init__(self, compiled: Any, torch_forward: Any) -> None:
        self.compiled = compiled
        self.torch_forward = torch_forward

    def __call__(self, sample: torch.Tensor, timestep: Any, encoder_hidden_states: Any = None, *args, **kwargs):
        return_dict = kwargs.pop("return_dict", True)
        timestep_value = _one_timestep(timestep)
        traced = (
            not args
            and all(value is None for value in kwargs.values())
            and timestep_value is not None
            and sample.dtype == torch.float32
            and isinstance(encoder_hidden_states, torch.Tensor)
            and encoder_hidden_states.dtype == torch.float32
        )
        if not traced:
            return self.torch_forward(sample, timestep, encoder_hidden_states, *args, return_dict=return_dict, **kwargs)
        from diffusers.models.unets.unet_2d_condition import UNet2DConditionOutput

        timestep_array = np.array(timestep_value, dtype=np.float32)
        inputs = [sample.contiguous().numpy(), timestep_array, encoder_hidden_states.contiguous().numpy()]
        prediction = torch.from_numpy(self.compiled(inputs)[0])
        return UNet2DConditionOutput(sample=prediction) if return_dict else (prediction,)


class OpenVinoDecoderForward:
    """`vae.decoder.forward` through the compiled graph, for fp32 latents."""

    def __init__(self, compiled: Any, torch_forward: Any) -> None:
        self.compiled = compiled
        self.torch_forward = torch_forward

    def __call__(self, latents: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        if args or any(value is not None for value in kwargs.values()) or latents.dtype != torch.float32:
            return self.torch_forward(latents, *args, **kwargs)
        return torch.from_numpy(self.compiled([latents.contiguous().numpy()])[0])


def _one_timestep(timestep: Any) -> float | None:
    """The step's timestep as one number, or None when the batch's rows are at different timesteps."""
    if isinstance(timestep, torch.Tensor):
        if timestep.numel() == 1:
            return float(timestep.reshape(()))
        first = timestep.reshape(-1)[0]
        return float(first) if bool((timestep == first).all()) else None
    return float(timestep)
