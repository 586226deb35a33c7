"""One error root for the server, and one place that turns errors (ours and the engine's) into HTTP bodies."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import pytest

import addin_server
from addin_server.errors import ServerError, server_error_for
from engine.errors import (
    EngineClosed,
    InvalidRequest,
    JobCancelled,
    JobFailed,
    ModelNotFound,
    QueueFull,
    TooManyQueuedImages,
    UnknownJob,
)


def _server_modules():
    for module in pkgutil.walk_packages(addin_server.__path__, "addin_server."):
        if module.name not in ("addin_server.templates", "addin_server.manifest_templates"):
            yield importlib.import_module(module.name)


def test_every_error_the_server_defines_has_the_one_root():
    defined = [
        cls
        for module in _server_modules()
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, Exception) and cls.__module__ == module.__name__
    ]
    assert len(defined) > 10
    assert [cls.__qualname__ for cls in defined if not issubclass(cls, ServerError)] == []


def test_only_the_http_errors_module_writes_error_bodies():
    body = re.compile(r'\{\s*"error":\s*\{\s*"message":')
    writers = [module.__name__ for module in _server_modules() if body.search(inspect.getsource(module))]
    assert writers == ["addin_server.http_errors"]


@pytest.mark.parametrize(
    ("error", "status", "code", "param"),
    [
        (InvalidRequest("width", "must be a multiple of 64"), 400, "invalid_value", "width"),
        (ModelNotFound("no such model"), 400, "model_not_found", "model"),
        (QueueFull("the queue is full", retry_after_s=2.5), 429, "queue_full", None),
        (TooManyQueuedImages("you have 128 images waiting", retry_after_s=1), 429, "too_many_queued_images", None),
        (UnknownJob("no job 'x'"), 404, "job_not_found", None),
        (EngineClosed("shutting down"), 503, "shutting_down", None),
        (JobCancelled("cancelled"), 409, "cancelled", None),
        (JobFailed("CUDA out of memory", "out_of_memory"), 500, "out_of_memory", None),
    ],
)
def test_engine_errors_map_to_statuses_and_codes(error, status, code, param):
    server_error = server_error_for(error)
    assert (server_error.status, server_error.code, server_error.param) == (status, code, param)
    if status == 429:
        assert int(server_error.headers["Retry-After"]) >= 1
    if status == 500:
        assert server_error.headers["x-should-retry"] == "false"


def test_a_renamed_field_is_named_as_the_client_sent_it():
    server_error = server_error_for(
        InvalidRequest("width", "must be between 128 and 512, got 64"), {"width": "size", "height": "size"}
    )
    assert server_error.param == "size" and server_error.message.startswith("size: ")
