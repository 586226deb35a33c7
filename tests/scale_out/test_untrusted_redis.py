"""The job board does not trust Redis more than it must: no path from Redis leaves the shared folder, polls move
a few bytes however large an edit's picture, finished jobs expire and are forgotten once recorded, and a job
that keeps killing its worker fails instead of running ahead of everyone forever."""

from __future__ import annotations

import io
import json
import time
from dataclasses import asdict

import pytest
from PIL import Image

from addin_server.config import Config, ConfigError
from engine.api import GenerationRequest, JobState, ModelLimits
from engine.errors import JobFailed, UnknownJob
from engine.job_board import MAX_LOST, JobBoard
from engine.shared_folder import SharedFolder, UnsafePath
from tests.scale_out.conftest import LOST_S


def png(size: tuple[int, int] = (64, 64), colour=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def publish_model(board: JobBoard, name: str) -> None:
    """What a worker publishes when it loads a model (no worker runs in these tests)."""
    limits = ModelLimits(default_width=64, default_height=64, min_size=16, max_size=512, size_multiple=8)
    data = {**asdict(limits), "schedulers": list(limits.schedulers), "known_words": []}
    board.publish_models({name: data})


def finished_job(board: JobBoard, job_id: str, owner: str, images: list[dict]) -> None:
    """A job record as a worker leaves it, with `images` as given (an attacker with Redis access writes these)."""
    request = GenerationRequest(prompt="x", owner=owner, model="tiny", width=64, height=64, steps=2, seed=1)
    board.redis.hset(
        board.job_key(job_id),
        mapping={
            "id": job_id,
            "owner": owner,
            "model": "tiny",
            "request": json.dumps(request.as_json()),
            "state": JobState.SUCCEEDED.value,
            "version": 3,
            "created_at": time.time(),
            "images": json.dumps(images),
        },
    )


def test_picture_paths_from_redis_never_leave_the_jobs_folder(remote, shared_dir, queue_url):
    engine = remote()
    board = JobBoard(queue_url)
    bob_id, alice_id = "b" * 32, "a" * 32
    (shared_dir / bob_id).mkdir()
    (shared_dir / bob_id / "1-0.png").write_bytes(png(colour=(0, 0, 255)))
    (shared_dir.parent / "secret.png").write_bytes(png())
    finished_job(board, bob_id, "bob", [{"file": f"{bob_id}/1-0.png", "seed": 1, "index": 0}])
    assert engine.result(bob_id).images[0].image.getpixel((0, 0)) == (0, 0, 255)  # Bob's own: fine
    for planted in (f"../{bob_id}/1-0.png", f"{alice_id}/../{bob_id}/1-0.png", str(shared_dir / bob_id / "1-0.png")):
        finished_job(board, alice_id, "alice", [{"file": planted, "seed": 1, "index": 0}])
        with pytest.raises(JobFailed, match="could not be read"):
            engine.result(alice_id)
    finished_job(board, alice_id, "alice", [{"file": "../secret.png", "seed": 1, "index": 0}])
    with pytest.raises(JobFailed):
        engine.result(alice_id)
    with pytest.raises(UnknownJob):
        engine.status("../" + alice_id)  # a malformed id reads nothing


def test_only_png_pictures_under_the_pixel_cap_are_opened(tmp_path):
    shared = SharedFolder(tmp_path)
    job_id = "c" * 32
    (tmp_path / job_id).mkdir()
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="GIF")
    (tmp_path / job_id / "0-0.png").write_bytes(buffer.getvalue())  # a GIF under a PNG name
    with pytest.raises(Exception, match="cannot identify"):
        shared.read_picture(job_id, f"{job_id}/0-0.png")
    with pytest.raises(UnsafePath):
        shared.read_picture(job_id, f"{job_id}/0-0.gif")
    with pytest.raises(UnsafePath):
        shared.job_folder("../../planted")


def test_a_planted_job_id_makes_no_worker_write_outside_the_shared_folder(start_worker, queue_url, shared_dir):
    worker = start_worker("w1", concurrency=1)
    board = JobBoard(queue_url)
    planted = "../../planted"
    request = GenerationRequest(prompt="x", owner="mallory", model="tiny", width=64, height=64, steps=2, seed=1)
    board.redis.hset(
        board.job_key(planted),
        mapping={"id": planted, "owner": "mallory", "model": "tiny", "request": json.dumps(request.as_json()),
                 "n": 1, "state": "queued", "version": 1, "attempt": 0, "created_at": time.time()},
    )  # fmt: skip
    model = next(iter(board.model_limits()))  # the one the worker loaded
    board.redis.rpush(board.line_prefix(model) + "mallory", planted)
    board.redis.rpush(board.ring_key(model), "mallory")
    from engine.celery_app import RUN_NEXT, create_celery, queue_name

    create_celery(worker_queue_settings(queue_url, shared_dir)).send_task(
        RUN_NEXT, args=[model], queue=queue_name(model)
    )
    deadline = time.monotonic() + 30
    while board.redis.hget(board.job_key(planted), "state") != "failed":
        assert time.monotonic() < deadline, worker.log()
        time.sleep(0.1)
    assert not (shared_dir.parent.parent / "planted").exists()
    assert list(shared_dir.iterdir()) == []
    assert "malformed id" in worker.log()


def worker_queue_settings(queue_url, shared_dir):
    from engine.settings import QueueSettings

    return QueueSettings(url=queue_url, shared_dir=shared_dir, worker_lost_s=LOST_S)


def test_an_edits_picture_sits_apart_and_polls_read_only_small_fields(remote, queue_url):
    engine = remote()
    board = JobBoard(queue_url)
    publish_model(board, engine.registry.default)
    picture = png((512, 512)) + b"\0" * 1_000_000  # a 1 MB upload, as the review's case
    handle = engine.submit(GenerationRequest(prompt="x", owner="alice", source_image=picture, strength=0.5))
    record_bytes = sum(len(str(key)) + len(str(value)) for key, value in (board.job(handle.job_id) or {}).items())
    assert record_bytes < 4000  # the job's hash holds no picture
    assert len(board.redis.get(board.job_key(handle.job_id) + ":pictures") or "") > 1_000_000
    assert handle.status().request.kind == "edit"  # the web tier still knows what the job is
    before = int(board.redis.info("stats")["total_net_output_bytes"])
    with pytest.raises(TimeoutError):
        engine.result(handle.job_id, timeout=1.0)  # about ten polls of a queued job
    engine.watch(handle.job_id, after_version=5, timeout=1.0)  # and about twenty more
    sent = int(board.redis.info("stats")["total_net_output_bytes"]) - before
    assert sent < 50_000, f"Redis sent {sent} bytes for two seconds of polls"


def test_finished_jobs_expire_and_are_forgotten_once_recorded(remote, start_worker, queue_url, shared_dir):
    start_worker("w1", concurrency=1)
    engine = remote()
    board = JobBoard(queue_url)
    handle = engine.submit(GenerationRequest(prompt="x", owner="alice", source_image=png(), strength=0.5))
    result = handle.result(timeout=120)
    assert len(result.images) == 1
    assert 0 < board.redis.ttl(board.job_key(handle.job_id)) <= engine.settings.result_ttl_s
    assert not board.redis.exists(board.job_key(handle.job_id) + ":pictures")  # read once, gone at the end
    assert list((shared_dir / handle.job_id).glob("*.png"))
    engine.forget(handle.job_id)  # what the web tier does once it has recorded the images
    assert not board.redis.exists(board.job_key(handle.job_id))
    assert not (shared_dir / handle.job_id).exists()


def test_a_job_that_keeps_losing_its_worker_fails_and_others_go_first(queue_url):
    board = JobBoard(queue_url)
    deadly = GenerationRequest(prompt="x", owner="alice", model="tiny", width=64, height=64, steps=2, seed=1)
    assert board.submit("d" * 32, deadly, max_queue=10, owner_cap=0) == "ok"
    for death in range(1, MAX_LOST + 1):
        taken = board.take("tiny", "doomed", alive_s=1)
        assert taken is not None and taken[0] == "d" * 32
        if death == 1:  # Bob's job arrives while Alice's runs the first time
            bob = GenerationRequest(prompt="y", owner="bob", model="tiny", width=64, height=64, steps=2, seed=2)
            assert board.submit("e" * 32, bob, max_queue=10, owner_cap=0) == "ok"
        board.redis.delete(board.job_key("d" * 32) + ":alive")  # the worker died: its heartbeat is gone
        assert board.lost_jobs() == ["d" * 32]
        outcome = board.requeue("d" * 32)
        if death < MAX_LOST:
            assert outcome == 1
            if death == 1:  # Alice goes to the end of the round: Bob's job is taken next
                assert board.take("tiny", "healthy", alive_s=60) == ("e" * 32, "1")
    assert outcome == 2
    record = board.job("d" * 32) or {}
    assert record["state"] == "failed" and record["error_kind"] == "lost" and record["lost"] == str(MAX_LOST)
    assert board.take("tiny", "healthy", alive_s=60) is None  # nothing left to run it again
    assert board.redis.ttl(board.job_key("d" * 32)) > 0


def test_a_queue_url_of_another_scheme_is_refused_at_start(monkeypatch):
    monkeypatch.setenv("ENGINE_QUEUE_URL", "unix:///run/redis.sock")
    with pytest.raises(ConfigError, match="ENGINE_QUEUE_URL must be redis://"):
        Config.from_env().validate()


def test_a_model_that_cannot_change_pictures_is_refused_before_any_job_exists(remote, queue_url):
    """The web tier has no torch: it knows from what the worker published that this model cannot repaint."""
    from engine.errors import InvalidRequest

    engine = remote()
    board = JobBoard(queue_url)
    limits = ModelLimits(default_width=64, default_height=64, min_size=16, max_size=512, changes_pictures=("edit",))
    data = {**asdict(limits), "schedulers": [], "known_words": [], "changes_pictures": ["edit"]}
    board.publish_models({engine.registry.default: data})
    with pytest.raises(InvalidRequest) as refused:
        engine.submit(GenerationRequest(prompt="x", owner="alice", source_image=png(), mask_image=png()))
    assert refused.value.field == "mask" and "cannot repaint" in refused.value.message
    assert list(board.redis.scan_iter("addin:job:*")) == []  # nothing was queued
    assert engine.submit(GenerationRequest(prompt="x", owner="alice", source_image=png(), strength=0.5)).job_id
