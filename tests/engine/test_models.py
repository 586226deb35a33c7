"""Loading models offline: folders of three pipeline families, single files, and clear errors."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from safetensors.torch import save_file

from engine.api import GenerationRequest
from engine.errors import ModelNotFound
from engine.local import LocalEngine
from engine.model_sources import EMBEDDED_MODEL_NAME, ModelRegistry, ModelSource
from engine.models import load_model
from engine.settings import EngineSettings


@pytest.mark.parametrize(
    ("fixture", "pipeline_class", "denoiser"),
    [
        ("sd15_dir", "StableDiffusionPipeline", "unet"),
        ("sdxl_dir", "StableDiffusionXLPipeline", "unet"),
        ("sd3_dir", "StableDiffusion3Pipeline", "transformer"),
    ],
)
def test_each_pipeline_family_loads_by_path_and_generates(request, fixture, pipeline_class, denoiser):
    folder = request.getfixturevalue(fixture)
    loaded = load_model(ModelSource("tiny", str(folder)))
    assert type(loaded.pipeline).__name__ == pipeline_class
    assert getattr(loaded.pipeline, denoiser) is not None
    assert loaded.device.type == "cpu" and str(loaded.dtype) == "torch.float32"

    engine = LocalEngine(EngineSettings(default_model=str(folder)))
    try:
        result = engine.submit(GenerationRequest(prompt="a red circle", n=2, steps=2, seed=1)).result(timeout=60)
    finally:
        engine.close()
    assert [image.seed for image in result.images] == [1, 2]
    size = (loaded.limits.default_width, loaded.limits.default_height)
    assert all(image.image.size == size for image in result.images)
    first, second = (np.asarray(image.image) for image in result.images)
    assert not np.array_equal(first, second), "two seeds gave the same image"


def test_sd3_offers_only_flow_matching_schedulers(sd3_dir):
    loaded = load_model(ModelSource("sd3", str(sd3_dir)))
    assert loaded.limits.schedulers == ("flow_euler",)
    assert loaded.limits.default_scheduler == "flow_euler"


def test_single_safetensors_file_with_a_local_config(sd15_dir, tmp_path):
    original = load_model(ModelSource("tiny", str(sd15_dir))).pipeline
    weights = {name: tensor.clone() * 1.5 for name, tensor in original.unet.state_dict().items()}
    checkpoint = tmp_path / "finetuned-unet.safetensors"
    save_file(weights, str(checkpoint))

    loaded = load_model(ModelSource.parse("finetuned", f"{checkpoint}#config={sd15_dir}"))
    for name, tensor in loaded.pipeline.unet.state_dict().items():
        assert (tensor == weights[name]).all(), name


def test_single_file_without_config_says_what_it_needs(tmp_path):
    checkpoint = tmp_path / "model.safetensors"
    save_file({"x": __import__("torch").zeros(1)}, str(checkpoint))
    with pytest.raises(ModelNotFound, match="needs a local config folder"):
        load_model(ModelSource("lonely", str(checkpoint)))


def test_single_file_that_fits_nothing_is_a_clear_error(sd15_dir, tmp_path):
    checkpoint = tmp_path / "junk.safetensors"
    save_file({"not.a.real.key": __import__("torch").zeros(3)}, str(checkpoint))
    with pytest.raises(ModelNotFound) as raised:
        load_model(ModelSource.parse("junk", f"{checkpoint}#config={sd15_dir}"))
    assert str(checkpoint) in str(raised.value) and ".safetensors checkpoint" in str(raised.value)


def test_missing_folder_names_the_path_and_what_was_expected(tmp_path):
    with pytest.raises(ModelNotFound) as raised:
        load_model(ModelSource("gone", str(tmp_path / "nowhere")))
    message = str(raised.value)
    assert str(tmp_path / "nowhere") in message and "diffusers pipeline folder" in message


def test_folder_without_model_index_is_refused(sd15_dir, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(sd15_dir, broken)
    (broken / "model_index.json").unlink()
    with pytest.raises(ModelNotFound, match="no model_index.json"):
        load_model(ModelSource("broken", str(broken)))


@pytest.fixture
def hf_cache(tmp_path, monkeypatch):
    """An empty local Hugging Face cache that the loader reads instead of the user's."""
    cache = tmp_path / "hf" / "hub"
    cache.mkdir(parents=True)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(cache))
    monkeypatch.setattr("diffusers.utils.constants.HF_HUB_CACHE", str(cache), raising=False)
    return cache


def test_repo_id_not_in_the_cache_is_never_downloaded(hf_cache):
    with pytest.raises(ModelNotFound) as raised:
        load_model(ModelSource("turbo", "stabilityai/sd-turbo"))
    assert "local Hugging Face cache" in str(raised.value) and "never downloads" in str(raised.value)


def test_registry_reads_names_sources_and_the_default(sd15_dir, sdxl_dir):
    registry = ModelRegistry.from_settings(f"small={sd15_dir}, xl={sdxl_dir}", "xl")
    assert registry.names()[:2] == ["xl", "small"] and EMBEDDED_MODEL_NAME in registry.names()
    assert registry.get(None).location == str(sdxl_dir)
    assert ModelRegistry.from_settings("", "").default == EMBEDDED_MODEL_NAME
    assert ModelRegistry.from_settings("", "org/some-model").get(None).kind == "hf_cache"
    with pytest.raises(ModelNotFound, match="unknown model 'nope'"):
        registry.get("nope")
    with pytest.raises(ModelNotFound, match="NAME=SOURCE"):
        ModelRegistry.from_settings("justapath", "")


def test_a_repo_id_already_in_the_local_cache_loads_offline(sd15_dir, hf_cache):
    # The Hugging Face cache layout: hub/models--ORG--NAME/{refs/main, snapshots/REVISION/...}.
    revision = "0" * 40
    repo = hf_cache / "models--acme--tiny-sd"
    shutil.copytree(sd15_dir, repo / "snapshots" / revision)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)

    source = ModelRegistry.from_settings("", "acme/tiny-sd").get(None)
    assert source.kind == "hf_cache"
    loaded = load_model(source)
    assert type(loaded.pipeline).__name__ == "StableDiffusionPipeline"
