"""Averaging pipelines that share a VAE: the mean weights, a pipeline the engine loads, clear refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from safetensors.torch import load_file

from engine.api import GenerationRequest
from engine.local import LocalEngine
from engine.settings import EngineSettings
from training.average import main as average_main
from training.train import main as train_main


def weights(pipeline: Path, part: str, name: str = "diffusion_pytorch_model.safetensors") -> dict:
    return load_file(str(pipeline / part / name))


@pytest.fixture(scope="module")
def two_runs_on_one_vae(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("runs")
    train_main(["--preset", "tiny", "--out", str(folder / "first")])
    train_main(
        ["--preset", "tiny", "--seed", "1", "--continue-from", str(folder / "first"), "--out", str(folder / "second")]
    )
    return folder / "first", folder / "second"


def test_the_average_holds_the_mean_unet_and_text_encoder_and_the_shared_vae(two_runs_on_one_vae, tmp_path):
    first, second = two_runs_on_one_vae
    average_main([str(first), str(second), "--out", str(tmp_path / "mean")])
    mean = tmp_path / "mean"
    for part, name in (("unet", "diffusion_pytorch_model.safetensors"), ("text_encoder", "model.safetensors")):
        a, b, m = (weights(folder, part, name) for folder in (first, second, mean))
        assert set(m) == set(a)
        assert all(((a[key].float() + b[key].float()) / 2 - m[key].float()).abs().max() < 1e-2 for key in a)
        assert any((m[key] != a[key]).any() for key in a)  # the runs differ, so the mean is neither
    assert (mean / "vae" / "diffusion_pytorch_model.safetensors").read_bytes() == (
        first / "vae" / "diffusion_pytorch_model.safetensors"
    ).read_bytes()
    assert json.loads((mean / "training.json").read_text())["averaged_from"] == [str(first), str(second)]
    engine = LocalEngine(EngineSettings(default_model=str(mean)))
    try:
        result = engine.submit(GenerationRequest(prompt="a red circle", seed=1, steps=2)).result(timeout=60)
    finally:
        engine.close()
    assert result.images[0].image.size == (64, 64)


def test_pipelines_on_different_vaes_are_refused(two_runs_on_one_vae, tmp_path, capsys):
    first, _ = two_runs_on_one_vae
    train_main(["--preset", "tiny", "--seed", "5", "--out", str(tmp_path / "other")])
    with pytest.raises(SystemExit) as exit_info:
        average_main([str(first), str(tmp_path / "other"), "--out", str(tmp_path / "mean")])
    assert exit_info.value.code == 2
    assert "VAE differs" in capsys.readouterr().err and not (tmp_path / "mean").exists()


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["{first}", "--out", "{tmp}/mean"], "two or more pipelines"),
        (["{first}", "{tmp}/nothing", "--out", "{tmp}/mean"], "not a pipeline folder"),
        (["{first}", "{second}", "--out", "{first}"], "already exists"),
    ],
)
def test_the_average_command_explains_what_it_cannot_do(two_runs_on_one_vae, tmp_path, capsys, arguments, message):
    first, second = two_runs_on_one_vae
    with pytest.raises(SystemExit) as exit_info:
        average_main([argument.format(first=first, second=second, tmp=tmp_path) for argument in arguments])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err
