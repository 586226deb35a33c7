"""The shipped model: served when ENGINE_MODEL is unset, at its native and slide/page shapes."""

from __future__ import annotations

import numpy as np

from addin_server.config import Config
from engine.api import GenerationRequest
from engine.local import LocalEngine
from engine.model_sources import EMBEDDED_MODEL_DIR


def test_the_embedded_model_is_the_default_and_draws_every_shape_of_picture():
    settings = Config.from_env({}).engine
    engine = LocalEngine(settings)
    try:
        loaded = engine.model(None)
        assert loaded.name == "embedded" and type(loaded.pipeline).__name__ == "StableDiffusionPipeline"
        handles = {
            (width, height): engine.submit(
                GenerationRequest(prompt="a red circle on a blue background", width=width, height=height, seed=3)
            )
            for width, height in ((256, 256), (448, 256), (256, 448), (320, 256))
        }
        for size, handle in handles.items():
            image = handle.result(timeout=120).images[0].image
            assert image.size == size
            corners = np.asarray(image, dtype=np.float32)[[2, -3]][:, [2, -3]].reshape(-1, 3)
            # The background is blue (40, 90, 220) at every shape.
            assert np.abs(corners.mean(axis=0) - (40, 90, 220)).max() < 40, corners
    finally:
        engine.close()


def test_the_weights_stay_within_the_size_limit():
    total = sum(path.stat().st_size for path in EMBEDDED_MODEL_DIR.rglob("*.safetensors"))
    assert total <= 40 * 2**20


def test_words_the_embedded_model_does_not_know_change_nothing():
    """'coloured' falls apart into pieces that spell 'red'; left out, it cannot turn a black star red."""
    engine = LocalEngine(Config.from_env({}).engine)
    try:
        pictures = [
            engine.submit(GenerationRequest(prompt=prompt, seed=5)).result(timeout=120).images[0].image
            for prompt in ("one star black, green background", "one star coloured black, green background")
        ]
    finally:
        engine.close()
    assert np.array_equal(np.asarray(pictures[0]), np.asarray(pictures[1]))
