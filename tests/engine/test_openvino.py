"""The OpenVINO lever: chosen on a CPU for the UNets it can trace, same pictures at f32, PyTorch for the rest."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from diffusers import DiffusionPipeline

from engine.openvino_backend import OpenVinoUNetForward
from engine.settings import LoadOptions
from engine.speed_plan import choose_speed_plan
from tests.engine.test_speed import AVX2_CPU, GPU, PIXEL_TOLERANCE, engine_on, four_images

pytestmark = pytest.mark.openvino


def test_auto_chooses_openvino_on_a_cpu_for_unets_it_can_trace(sd15_dir, sdxl_dir):
    sd15 = DiffusionPipeline.from_pretrained(str(sd15_dir), local_files_only=True)
    cpu = choose_speed_plan(LoadOptions(), AVX2_CPU, sd15)
    assert cpu.openvino and not cpu.compile and "OpenVINO runs the denoiser" in cpu.describe()
    assert not choose_speed_plan(LoadOptions(openvino="off"), AVX2_CPU, sd15).openvino
    assert not choose_speed_plan(LoadOptions(), GPU, sd15).openvino

    sdxl = DiffusionPipeline.from_pretrained(str(sdxl_dir), local_files_only=True)
    plan = choose_speed_plan(LoadOptions(), AVX2_CPU, sdxl)
    assert not plan.openvino and "added conditions" in plan.describe()


def test_openvino_at_f32_keeps_the_pictures_at_another_batch_size_than_traced(sd15_dir, tmp_path):
    reference_engine = engine_on(sd15_dir, openvino="off")
    reference = four_images(reference_engine)
    reference_engine.close()

    engine = engine_on(sd15_dir, openvino="on", dtype="float32", compile_cache_dir=tmp_path / "cache")
    loaded = engine.model(None)
    assert loaded.runtime == "OpenVINO f32"
    assert isinstance(loaded.pipeline.unet.forward, OpenVinoUNetForward)
    calls = CountingCompiled(loaded.pipeline.unet.forward)
    pictures = four_images(engine)
    assert calls.count > 0, "the UNet did not run on OpenVINO"
    for ours, theirs in zip(pictures, reference):
        assert np.abs(ours - theirs).max() <= PIXEL_TOLERANCE
    engine.close()
    assert any((tmp_path / "cache" / "openvino").iterdir()), "OpenVINO's compiled kernels were not kept"


class CountingCompiled:
    """Wraps an OpenVINO forward's compiled graph, counting its runs."""

    def __init__(self, forward: OpenVinoUNetForward) -> None:
        self.count = 0
        self._compiled = forward.compiled
        forward.compiled = self

    def __call__(self, inputs):
        self.count += 1
        return self._compiled(inputs)


def test_calls_outside_the_traced_graph_run_on_pytorch():
    torch_calls = []

    def torch_forward(*args, **kwargs):
        torch_calls.append(kwargs)
        return ("pytorch",)

    def compiled(inputs):
        return [np.zeros_like(inputs[0])]

    forward = OpenVinoUNetForward(compiled, torch_forward)
    sample, hidden = torch.zeros(2, 4, 8, 8), torch.zeros(2, 77, 32)
    assert forward(sample, torch.tensor(10), hidden, return_dict=False)[0].shape == sample.shape
    assert not torch_calls
    assert forward(sample, torch.tensor(10), hidden, timestep_cond=torch.zeros(2, 4), return_dict=False) == ("pytorch",)
    assert forward(sample, torch.tensor([10, 20]), hidden, return_dict=False) == ("pytorch",)
    assert forward(sample.to(torch.bfloat16), 10, hidden, return_dict=False) == ("pytorch",)
    assert len(torch_calls) == 3
