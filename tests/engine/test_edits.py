"""Changing a picture in the engine: image to image and inpainting share the loaded weights, batch like
text-to-image jobs, keep seeds exact, respect the mask and the strength, and mark the result as AI-modified."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from engine.api import GenerationRequest
from engine.errors import InvalidRequest
from engine.local import LocalEngine
from engine.metadata import COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA
from engine.settings import EngineSettings

SIZE = 64


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def source_picture() -> bytes:
    """Left half red, right half blue."""
    picture = Image.new("RGB", (SIZE, SIZE), (220, 30, 30))
    picture.paste((30, 30, 220), (SIZE // 2, 0, SIZE, SIZE))
    return png(picture)


def right_half_mask() -> bytes:
    mask = Image.new("L", (SIZE, SIZE), 0)
    mask.paste(255, (SIZE // 2, 0, SIZE, SIZE))
    return png(mask)


def array(image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.int16)


@pytest.fixture
def engine(sd15_dir):
    engine = LocalEngine(EngineSettings(default_model=str(sd15_dir), max_wait_ms=300))
    yield engine
    engine.close()


def edit(**fields) -> GenerationRequest:
    values = {
        "prompt": "a green star",
        "width": SIZE,
        "height": SIZE,
        "steps": 10,
        "seed": 5,
        "source_image": source_picture(),
    }
    return GenerationRequest(**{**values, **fields})


def test_edit_pipelines_share_the_loaded_weights(engine):
    loaded = engine.model(None)
    editing, inpainting = loaded.pipeline_for("edit"), loaded.pipeline_for("inpaint")
    assert editing.unet is loaded.pipeline.unet and inpainting.vae is loaded.pipeline.vae
    assert type(editing).__name__ == "StableDiffusionImg2ImgPipeline"
    # A UNet that is not an inpainting one (9 channels) repaints through image to image, blending latents.
    assert loaded.inpaints_by_blending and inpainting is editing


def assert_repainted_inside_the_mask_only(engine: LocalEngine, size: int) -> None:
    """Half a two-colour picture repainted: outside the mask within 2 levels, inside clearly changed."""
    picture = Image.new("RGB", (size, size), (220, 30, 30))
    picture.paste((30, 30, 220), (size // 2, 0, size, size))
    mask = Image.new("L", (size, size), 0)
    mask.paste(255, (size // 2, 0, size, size))
    request = edit(width=size, height=size, source_image=png(picture), mask_image=png(mask), strength=1.0, n=2)
    result = engine.submit(request).result(timeout=300)
    original = array(picture)
    for image in result.images:
        painted = array(image.image)
        assert painted.shape == original.shape
        assert np.abs(painted[:, : size // 2] - original[:, : size // 2]).max() <= 2  # outside: as it was
        assert np.abs(painted[:, size // 2 :] - original[:, size // 2 :]).mean() > 10  # inside: repainted


def test_inpainting_changes_inside_the_mask_only(engine):
    assert_repainted_inside_the_mask_only(engine, SIZE)


def test_inpainting_on_sdxl(sdxl_dir):
    engine = LocalEngine(EngineSettings(default_model=str(sdxl_dir)))
    try:
        assert_repainted_inside_the_mask_only(engine, SIZE)
    finally:
        engine.close()


def test_inpainting_on_the_embedded_model_whose_unet_has_eight_channels():
    engine = LocalEngine(EngineSettings())
    try:
        assert engine.model(None).pipeline.unet.config.in_channels == 8
        assert engine.limits().changes_pictures == ("edit", "inpaint")  # known at load, published by workers
        assert_repainted_inside_the_mask_only(engine, engine.limits().default_width)
    finally:
        engine.close()


def test_blending_keeps_the_original_latents_outside_the_mask(engine):
    """The pipeline's own last latents (before any pixel composite) equal the picture's outside the mask, and
    differ inside it: the repaint is steered by what surrounds it, not pasted over a redrawn picture."""
    from engine.latent_blend import LatentBlend

    loaded = engine.model(None)
    pipeline = loaded.pipeline_for("inpaint")
    mask = Image.open(io.BytesIO(right_half_mask()))
    blend = LatentBlend([mask])

    def on_step_end(pipe, step_index, timestep, callback_kwargs):
        return {"latents": blend.blend(pipe, step_index, callback_kwargs["latents"])}

    with blend.recording(pipeline.scheduler):
        latents = pipeline(
            prompt="a green star",
            image=Image.open(io.BytesIO(source_picture())),
            strength=0.9,
            num_inference_steps=10,
            generator=[torch.Generator().manual_seed(1)],
            output_type="latent",
            callback_on_step_end=on_step_end,
        ).images
    assert "add_noise" not in vars(pipeline.scheduler)  # the scheduler is left as it was
    half = latents.shape[-1] // 2
    assert blend.original is not None
    assert (latents[..., :half] - blend.original[..., :half]).abs().max() == 0
    assert (latents[..., half:] - blend.original[..., half:]).abs().mean() > 0.05


def test_strength_near_zero_keeps_the_picture_and_one_ignores_it(engine):
    original = array(Image.open(io.BytesIO(source_picture())))
    kept = array(engine.submit(edit(strength=0.05)).result(timeout=60).images[0].image)
    assert np.abs(kept - original).max() <= 2
    redrawn = array(engine.submit(edit(strength=1.0)).result(timeout=60).images[0].image)
    from_other = array(
        engine.submit(edit(strength=1.0, source_image=png(Image.new("RGB", (SIZE, SIZE), (0, 200, 0)))))
        .result(timeout=60)
        .images[0]
        .image
    )
    assert np.abs(redrawn - original).mean() > 10
    assert np.abs(redrawn - from_other).max() <= 40  # at strength 1 the picture barely matters


def test_batched_edits_equal_solo_edits(engine):
    requests = [edit(seed=seed, strength=0.7) for seed in (1, 2, 3)]
    solo = [engine.submit(request).result(timeout=60).images[0].image for request in requests]
    handles = [engine.submit(request) for request in requests]
    batched = [handle.result(timeout=60) for handle in handles]
    assert {result.batch_size for result in batched} == {3}
    for alone, together in zip(solo, batched):
        assert np.abs(array(alone) - array(together.images[0].image)).max() <= 1


def test_edits_batch_apart_from_text_to_image_and_other_strengths(engine):
    handles = [
        engine.submit(edit(strength=0.5)),
        engine.submit(edit(strength=0.8)),
        engine.submit(GenerationRequest(prompt="a green star", width=SIZE, height=SIZE, steps=10, seed=5)),
    ]
    assert [handle.result(timeout=60).batch_size for handle in handles] == [1, 1, 1]


def test_an_edited_picture_is_marked_as_ai_modified(engine):
    result = engine.submit(edit(strength=0.5)).result(timeout=60)
    png_bytes = result.images[0].to_png_bytes(result.request)
    text = Image.open(io.BytesIO(png_bytes)).text
    assert COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA in text["XML:com.adobe.xmp"]
    assert text["strength"] == "0.5" and text["seed"] == "5" and text["prompt"] == "a green star"


def test_bad_edit_fields_are_refused(engine):
    with pytest.raises(InvalidRequest, match="strength"):
        engine.submit(edit(strength=1.5))
    with pytest.raises(InvalidRequest, match="mask"):
        engine.submit(GenerationRequest(prompt="x", mask_image=right_half_mask()))


def test_a_model_family_without_edit_pipelines_is_named_in_the_refusal(engine):
    from tests.fault_injection import ExplodingPipeline

    loaded = engine.model(None)
    loaded.pipeline, real = ExplodingPipeline(loaded.pipeline), loaded.pipeline
    loaded.derived_pipelines.clear()
    try:
        with pytest.raises(InvalidRequest, match=f"the model '{loaded.name}' \\(ExplodingPipeline\\) cannot change"):
            engine.submit(edit())
    finally:
        loaded.pipeline = real


def test_a_model_that_cannot_repaint_is_refused_naming_the_mask(engine):
    from tests.fault_injection import ExplodingPipeline

    loaded = engine.model(None)
    loaded.pipeline, real = ExplodingPipeline(loaded.pipeline), loaded.pipeline
    loaded.derived_pipelines.clear()
    try:
        with pytest.raises(InvalidRequest, match="repaint a masked area") as refused:
            engine.submit(edit(mask_image=right_half_mask()))
        assert refused.value.field == "mask"
    finally:
        loaded.pipeline = real
        loaded.derived_pipelines.clear()


def test_edits_on_the_embedded_model():
    engine = LocalEngine(EngineSettings())
    try:
        limits = engine.limits()
        picture = Image.new("RGB", (limits.default_width, limits.default_height), (220, 30, 30))
        request = GenerationRequest(prompt="a blue square", seed=1, source_image=png(picture), strength=0.5, n=2)
        result = engine.submit(request).result(timeout=120)
        assert [image.image.size for image in result.images] == [picture.size] * 2
    finally:
        engine.close()
