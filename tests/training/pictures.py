"""What the engine draws with a trained model: the tests' way to see that weights still work."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from engine.api import GenerationRequest
from engine.local import LocalEngine
from engine.settings import EngineSettings


def drawn_by(model: Path) -> Image.Image:
    """The picture the engine draws of a red circle with the model in folder `model`, in two steps."""
    engine = LocalEngine(EngineSettings(default_model=str(model)))
    try:
        result = engine.submit(GenerationRequest(prompt="a red circle", seed=1, steps=2)).result(timeout=60)
    finally:
        engine.close()
    return result.images[0].image
