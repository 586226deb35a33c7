"""LocalEngine: batching keeps seeds exact, cancel, back-pressure, failures and shutdown."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from engine.api import GenerationRequest, JobState
from engine.errors import EngineClosed, JobCancelled, JobFailed, QueueFull, TooManyQueuedImages, UnknownJob
from engine.local import LocalEngine
from engine.settings import EngineSettings
from tests.fault_injection import ExplodingPipeline

# Batched and solo runs of the same seed agree to this (max abs difference on 0-255 pixel values): batching
# changes only float summation order on CPU, so at most a rounding step in one channel.
PIXEL_TOLERANCE = 1


def make_engine(folder, **settings) -> LocalEngine:
    return LocalEngine(EngineSettings(default_model=str(folder), **settings))


def pixels(image) -> np.ndarray:
    return np.asarray(image.image, dtype=np.int16)


def wait_until(condition, timeout: float = 30.0) -> None:
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.005)


@pytest.fixture
def engine(sd15_dir):
    engine = make_engine(sd15_dir, max_wait_ms=300)
    yield engine
    engine.close()


@pytest.mark.parametrize("fixture", ["sd15_dir", "sdxl_dir", "sd3_dir"])
def test_a_seed_gives_the_same_image_alone_or_in_a_batch(request, fixture):
    engine = make_engine(request.getfixturevalue(fixture), max_wait_ms=500)
    try:
        prompts = [("a red circle", 11, ""), ("a blue square", 22, ""), ("green star", 33, "")]
        handles = [engine.submit(GenerationRequest(prompt=p, seed=s, steps=3)) for p, s, _ in prompts]
        batched = [handle.result(timeout=60) for handle in handles]
        assert all(result.batch_size == 3 for result in batched), "the three requests did not share a batch"
        for (prompt, seed, _), together in zip(prompts, batched):
            alone = engine.submit(GenerationRequest(prompt=prompt, seed=seed, steps=3)).result(timeout=60)
            assert alone.batch_size == 1
            difference = np.abs(pixels(alone.images[0]) - pixels(together.images[0])).max()
            assert difference <= PIXEL_TOLERANCE, f"{prompt}: batched image differs by {difference}"
    finally:
        engine.close()


def test_requests_that_differ_in_size_or_steps_do_not_share_a_batch(engine):
    a = engine.submit(GenerationRequest(prompt="a", seed=1, steps=2))
    b = engine.submit(GenerationRequest(prompt="b", seed=1, steps=3))
    c = engine.submit(GenerationRequest(prompt="c", seed=1, steps=2, width=32, height=32))
    assert [h.result(timeout=60).batch_size for h in (a, b, c)] == [1, 1, 1]


def test_progress_counts_steps_and_queue_positions(engine):
    first = engine.submit(GenerationRequest(prompt="slow", seed=1, steps=60))
    wait_until(lambda: first.status().state is JobState.RUNNING)
    second = engine.submit(GenerationRequest(prompt="other size", seed=1, steps=2, width=32, height=32))
    third = engine.submit(GenerationRequest(prompt="other size", seed=1, steps=3, width=32, height=32))
    assert (second.status().progress.queue_position, third.status().progress.queue_position) == (1, 2)
    seen_steps, status = [], first.status()
    while not status.state.is_final:
        status = engine.watch(first.job_id, status.version, timeout=5)
        seen_steps.append(status.progress.step)
    assert status.state is JobState.SUCCEEDED and status.progress.total_steps == 60
    assert seen_steps == sorted(seen_steps) and seen_steps[-1] == 60 and len(set(seen_steps)) > 10
    result = first.result()
    assert result.timings.run_s > 0 and result.timings.queue_wait_s >= 0


def test_cancel_a_queued_job_removes_it_from_the_queue(engine):
    running = engine.submit(GenerationRequest(prompt="slow", seed=1, steps=80))
    wait_until(lambda: running.status().state is JobState.RUNNING)
    queued = engine.submit(GenerationRequest(prompt="other", seed=1, steps=2, width=32, height=32))
    assert queued.cancel() is True
    assert queued.status().state is JobState.CANCELLED and engine.queue_depth() == 0
    with pytest.raises(JobCancelled):
        queued.result(timeout=1)
    assert running.result(timeout=60).images
    assert queued.cancel() is False  # already final


def test_cancel_one_job_of_a_running_batch_keeps_the_others(engine):
    doomed = engine.submit(GenerationRequest(prompt="cancel me", seed=5, steps=120))
    kept = engine.submit(GenerationRequest(prompt="keep me", seed=6, steps=120))
    wait_until(lambda: doomed.status().progress.step >= 2)
    assert kept.status().state is JobState.RUNNING, "the two jobs should run as one batch"
    doomed.cancel()
    wait_until(lambda: doomed.status().state is JobState.CANCELLED, timeout=5)
    stopped_at = doomed.status().progress.step
    result = kept.result(timeout=60)
    assert result.batch_size == 2 and len(result.images) == 1
    assert stopped_at < 120
    with pytest.raises(JobCancelled):
        doomed.result(timeout=1)
    alone = engine.submit(GenerationRequest(prompt="keep me", seed=6, steps=120)).result(timeout=60)
    assert np.abs(pixels(alone.images[0]) - pixels(result.images[0])).max() <= PIXEL_TOLERANCE


def test_cancelling_every_job_of_a_batch_stops_it_at_the_next_step(engine):
    job = engine.submit(GenerationRequest(prompt="stop", seed=1, steps=150))
    wait_until(lambda: job.status().progress.step >= 1)
    job.cancel()
    wait_until(lambda: job.status().state is JobState.CANCELLED, timeout=5)
    assert job.status().progress.step < 150
    after = engine.submit(GenerationRequest(prompt="still serving", seed=2, steps=2))
    assert after.result(timeout=60).images


def test_a_full_queue_refuses_at_once(sd15_dir):
    engine = make_engine(sd15_dir, max_queue=2, max_wait_ms=0)
    try:
        running = engine.submit(GenerationRequest(prompt="slow", seed=1, steps=100))
        wait_until(lambda: running.status().state is JobState.RUNNING)
        engine.submit(GenerationRequest(prompt="x", seed=1, steps=2, width=32, height=32))
        engine.submit(GenerationRequest(prompt="y", seed=1, steps=3, width=32, height=32))
        started = time.perf_counter()
        with pytest.raises(QueueFull) as raised:
            engine.submit(GenerationRequest(prompt="z", seed=1, steps=2))
        assert time.perf_counter() - started < 0.5 and raised.value.retry_after_s >= 1
    finally:
        engine.close()


def test_one_owner_cannot_queue_more_than_their_cap_of_images(sd15_dir):
    engine = make_engine(sd15_dir, max_queued_images_per_owner=3, max_batch=1, max_wait_ms=0)
    try:
        running = engine.submit(GenerationRequest(prompt="mine", steps=150, owner="alice"))
        wait_until(lambda: running.status().state is JobState.RUNNING)
        engine.submit(GenerationRequest(prompt="mine", n=3, steps=2, owner="alice"))  # 3 waiting: at the cap
        with pytest.raises(TooManyQueuedImages, match="limit of 3"):
            engine.submit(GenerationRequest(prompt="mine", steps=2, owner="alice"))
        assert engine.submit(GenerationRequest(prompt="hers", steps=2, owner="bob")).result(timeout=60).images
    finally:
        engine.close()


def test_batches_take_owners_round_robin(sd15_dir):
    """One owner's twenty queued jobs do not keep another owner's single job waiting past the next batch."""
    engine = make_engine(sd15_dir, max_batch=4, max_wait_ms=0)
    try:
        blocker = engine.submit(GenerationRequest(prompt="first", steps=40, owner="alice"))
        wait_until(lambda: blocker.status().state is JobState.RUNNING)
        alices = [engine.submit(GenerationRequest(prompt=f"a{i}", steps=2, owner="alice")) for i in range(20)]
        bob = engine.submit(GenerationRequest(prompt="b", steps=2, owner="bob"))
        bob.result(timeout=60)
        for handle in alices:
            handle.result(timeout=120)
        bob_done = bob.status().finished_at
        assert bob_done is not None
        before_bob = [handle for handle in alices if (handle.status().finished_at or 0) < bob_done + 0.01]
        assert len(before_bob) <= 3  # Bob's image rode in the batch after the running one, beside three of hers
    finally:
        engine.close()


def test_a_failing_batch_fails_only_its_jobs_and_the_engine_goes_on(engine, caplog):
    loaded = engine.model(None)
    loaded.pipeline = ExplodingPipeline(loaded.pipeline)
    bad = engine.submit(GenerationRequest(prompt="explode", seed=1, steps=2))
    with pytest.raises(JobFailed) as raised:
        bad.result(timeout=60)
    # The user sees a short message and a code; the exception's text goes to the log only.
    assert str(raised.value) == "the engine could not make these pictures"
    assert raised.value.reason_kind == "pipeline_error"
    assert bad.status().state is JobState.FAILED and "broke" not in (bad.status().error or "")
    assert "the pipeline broke" in caplog.text and bad.job_id in caplog.text
    good = engine.submit(GenerationRequest(prompt="fine", seed=1, steps=2))
    assert good.result(timeout=60).images


def test_out_of_memory_retries_the_batch_split_in_two(engine):
    loaded = engine.model(None)
    loaded.pipeline = ExplodingPipeline(loaded.pipeline, oom=True)
    handles = [engine.submit(GenerationRequest(prompt=f"p{i}", seed=i, steps=2)) for i in range(2)]
    assert all(handle.result(timeout=60).images for handle in handles)
    assert loaded.pipeline.batch_sizes == [2, 1, 1]
    alone = engine.submit(GenerationRequest(prompt="too big", n=2, seed=1, steps=2))
    with pytest.raises(JobFailed) as raised:
        alone.result(timeout=60)
    assert raised.value.reason_kind == "out_of_memory"


def test_finished_jobs_are_dropped_after_their_retention_time(sd15_dir):
    engine = make_engine(sd15_dir, result_ttl_s=0.2, max_wait_ms=0)
    try:
        handle = engine.submit(GenerationRequest(prompt="brief", seed=1, steps=2))
        handle.result(timeout=60)
        time.sleep(1.3)
        with pytest.raises(UnknownJob):
            engine.status(handle.job_id)
    finally:
        engine.close()


def test_close_cancels_queued_jobs_lets_the_running_one_finish_and_refuses_new_work(sd15_dir):
    engine = make_engine(sd15_dir, max_wait_ms=0)
    running = engine.submit(GenerationRequest(prompt="finishing", seed=1, steps=60))
    wait_until(lambda: running.status().state is JobState.RUNNING)
    queued = engine.submit(GenerationRequest(prompt="never", seed=1, steps=2, width=32, height=32))
    closer = threading.Thread(target=engine.close)
    closer.start()
    closer.join(timeout=60)
    assert running.status().state is JobState.SUCCEEDED
    assert queued.status().state is JobState.CANCELLED and "shut down" in queued.status().error
    with pytest.raises(EngineClosed):
        engine.submit(GenerationRequest(prompt="late"))
    assert not engine.is_ready()


def test_unknown_job_ids_are_reported(engine):
    with pytest.raises(UnknownJob):
        engine.status("nope")
    with pytest.raises(UnknownJob):
        engine.cancel("nope")


def test_progress_counts_the_schedulers_real_steps(engine):
    # Heun evaluates twice per step: the pipeline runs 2 * steps - 1 timesteps, and progress says so.
    handle = engine.submit(GenerationRequest(prompt="heun", seed=1, steps=4, scheduler="heun"))
    handle.result(timeout=60)
    progress = handle.status().progress
    assert progress.step == progress.total_steps == 7
