"""The image store: files and rows per owner, retention, and jobs a stopped server left behind."""

from __future__ import annotations

import time

from addin_server.images.jobs import JobService
from addin_server.images.store import ImageStore, NewImage
from addin_server.ops.metrics import Metrics
from engine.api import GenerationRequest, JobState

REQUEST = GenerationRequest(
    prompt="a heart", n=1, width=64, height=64, steps=2, guidance_scale=5.0, seed=3, model="tiny"
)


def test_a_finished_job_keeps_its_images_for_its_owner_only(tmp_path):
    store = ImageStore(tmp_path)
    store.add_job("job1", "alice", REQUEST)
    store.finish_job("job1", JobState.SUCCEEDED, [NewImage(b"\x89PNG fake", seed=3, index=0)])
    record = ImageStore(tmp_path).job("job1", "alice")  # a second store on the same folder: a restart
    assert record is not None and record.state is JobState.SUCCEEDED
    assert record.request["prompt"] == "a heart" and "owner" not in record.request
    image = record.images[0]
    assert (image.seed, image.model, image.width, image.prompt) == (3, "tiny", 64, "a heart")
    assert store.image_path(image).read_bytes() == b"\x89PNG fake"
    assert store.job("job1", "bob") is None and store.image(image.id, "bob") is None
    assert store.jobs("bob") == []


def test_retention_deletes_old_jobs_and_their_files(tmp_path):
    store = ImageStore(tmp_path)
    store.add_job("old", "alice", REQUEST, created_at=time.time() - 40 * 86400)
    store.finish_job("old", JobState.SUCCEEDED, [NewImage(b"old", seed=3, index=0)])
    store.add_job("new", "alice", REQUEST)
    store.finish_job("new", JobState.SUCCEEDED, [NewImage(b"new", seed=3, index=0)])
    old_file = store.image_path(store.job("old", "alice").images[0])

    JobService(engine=None, store=store, metrics=Metrics(), retention_days=30)  # sweeps when it starts

    assert store.job("old", "alice") is None and not old_file.exists()
    assert store.job("new", "alice") is not None
    assert [job.id for job in store.jobs("alice")] == ["new"]


def test_retention_zero_keeps_everything(tmp_path):
    store = ImageStore(tmp_path)
    store.add_job("ancient", "alice", REQUEST, created_at=1.0)
    store.finish_job("ancient", JobState.FAILED, error="boom", error_kind="pipeline_error")
    JobService(engine=None, store=store, metrics=Metrics(), retention_days=0)
    assert store.job("ancient", "alice").error == "boom"


def test_jobs_left_unfinished_are_marked_cancelled(tmp_path):
    store = ImageStore(tmp_path)
    store.add_job("queued", "alice", REQUEST)
    store.add_job("done", "alice", REQUEST)
    store.finish_job("done", JobState.SUCCEEDED)
    assert store.cancel_unfinished("the server stopped") == 1
    job = store.job("queued", "alice")
    assert job.state is JobState.CANCELLED and job.error == "the server stopped" and job.error_kind == "shutdown"
    assert store.job("done", "alice").state is JobState.SUCCEEDED
