"""Request validation: every bad field is named with its limit; defaults come from the model."""

from __future__ import annotations

import pytest

from engine.api import GenerationRequest, ModelLimits
from engine.errors import InvalidRequest

LIMITS = ModelLimits(
    default_width=256,
    default_height=256,
    min_size=64,
    max_size=512,
    size_multiple=16,
    default_steps=10,
    default_guidance_scale=4.0,
    default_scheduler="ddim",
    schedulers=("ddim", "euler"),
)


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"prompt": ""}, "prompt", "must not be empty"),
        ({"prompt": "x" * 2001}, "prompt", "at most 2000 characters"),
        ({"prompt": 42}, "prompt", "must be a string"),
        ({"negative_prompt": "x" * 2001}, "negative_prompt", "at most 2000"),
        ({"n": 0}, "n", "between 1 and 10"),
        ({"n": 11}, "n", "between 1 and 10"),
        ({"n": "2"}, "n", "must be an integer"),
        ({"n": True}, "n", "must be an integer"),
        ({"width": 100}, "width", "multiple of 8"),
        ({"height": 0}, "height", "between"),
        ({"steps": 0}, "steps", "between 1 and 150"),
        ({"steps": 151}, "steps", "between 1 and 150"),
        ({"guidance_scale": -0.5}, "guidance_scale", "between 0 and 30"),
        ({"guidance_scale": 30.5}, "guidance_scale", "between 0 and 30"),
        ({"seed": -1}, "seed", "between 0 and 4294967295"),
        ({"seed": 2**32}, "seed", "between 0 and 4294967295"),
        ({"model": 3}, "model", "must be a string"),
    ],
)
def test_each_invalid_field_is_named_with_its_limit(changes, field, words):
    request = GenerationRequest(**{"prompt": "a red circle", **changes})
    with pytest.raises(InvalidRequest) as raised:
        request.validate()
    assert raised.value.field == field
    assert words in str(raised.value)


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"width": 1024}, "width", "between 64 and 512 for model 'tiny'"),
        ({"height": 32}, "height", "between 64 and 512"),
        ({"width": 264}, "width", "multiple of 16 for model 'tiny'"),
        ({"scheduler": "flow_euler"}, "scheduler", "choose one of ddim, euler"),
    ],
)
def test_model_limits_are_checked_when_resolved(changes, field, words):
    with pytest.raises(InvalidRequest) as raised:
        GenerationRequest(prompt="a star", **changes).resolved("tiny", LIMITS)
    assert raised.value.field == field
    assert words in str(raised.value)


def test_resolved_request_takes_model_defaults_and_reports_a_random_seed():
    resolved = GenerationRequest(prompt="a star", n=3).resolved("tiny", LIMITS)
    assert (resolved.width, resolved.height, resolved.steps) == (256, 256, 10)
    assert resolved.guidance_scale == 4.0 and resolved.scheduler == "ddim" and resolved.model == "tiny"
    assert resolved.seed is not None and 0 <= resolved.seed < 2**32
    assert resolved.image_seeds() == [resolved.seed + i for i in range(3)] or resolved.seed > 2**32 - 3
    other = GenerationRequest(prompt="a star", n=3).resolved("tiny", LIMITS)
    assert other.seed != resolved.seed  # 1 in 4 billion to fail


def test_image_seeds_wrap_at_two_to_the_32():
    resolved = GenerationRequest(prompt="a", n=3, seed=2**32 - 2).resolved("tiny", LIMITS)
    assert resolved.image_seeds() == [2**32 - 2, 2**32 - 1, 0]
