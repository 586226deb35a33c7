"""`LocalEngine`: the in-process engine. One owner thread per loaded pipeline; callers only enqueue.

A diffusers pipeline is not thread-safe (stateful schedulers, shared fast tokenizers), so each model's owner
thread is the only code that ever calls it. Compatible requests waiting for the same model run as one
pipeline call, with one prompt and one seeded generator per image.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future

from engine.admission import Admission
from engine.api import (
    BatchReport,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    JobHandle,
    JobState,
    JobStatus,
    ModelLimits,
    Timings,
)
from engine.batching import Job, JobQueue, batch_images
from engine.errors import (
    EngineClosed,
    JobCancelled,
    JobFailed,
    UnknownJob,
)
from engine.model_sources import ModelRegistry, ModelSource
from engine.models import LoadedModel, load_model
from engine.pipeline_call import (
    BatchCancelled,
    free_accelerator_memory,
    is_out_of_memory,
    run_pipeline,
    run_warm_up,
)
from engine.settings import EngineSettings

log = logging.getLogger(__name__)

#: A batch keeps waiting while compatible jobs keep arriving, up to this many `max_wait_ms` in all.
MAX_WAIT_STRETCH = 5


class LocalEngine:
    """The engine in this process; implements `engine.api.EngineClient`."""

    def __init__(
        self,
        settings: EngineSettings | None = None,
        registry: ModelRegistry | None = None,
        on_batch: Callable[[BatchReport], None] | None = None,
    ) -> None:
        self.settings = settings or EngineSettings()
        self.registry = registry or ModelRegistry.from_settings(self.settings.models, self.settings.default_model)
        self._batch_observers: list[Callable[[BatchReport], None]] = [on_batch] if on_batch else []
        self._lock = threading.Condition()
        self._jobs: dict[str, Job] = {}
        self._queues: dict[str, JobQueue] = {}
        self._models: dict[str, LoadedModel] = {}
        self._owners: dict[str, threading.Thread] = {}
        self._load_locks: dict[str, threading.Lock] = {}
        self._closing = False
        self._admission = Admission(
            self.settings.max_queue,
            self.settings.max_queued_images_per_owner,
            retry_after_s=max(1.0, self.settings.max_wait_ms / 1000.0 * 2),
        )
        self._last_sweep = 0.0
        if self.settings.preload:
            self.model(None)

    # -- models -------------------------------------------------------------------------------------

    def model(self, name: str | None) -> LoadedModel:
        """The loaded model for `name` (None: the default), loading it on first use.

        The model's owner thread loads it and is then the only thread that runs it: with the loading on another
        thread, two OpenMP thread teams share the cores and a 2-core CPU ran each picture about 1.6x slower."""
        source = self.registry.get(name)
        with self._lock:
            if source.name in self._models:
                return self._models[source.name]
            load_lock = self._load_locks.setdefault(source.name, threading.Lock())
        with load_lock:
            with self._lock:
                if source.name in self._models:
                    return self._models[source.name]
            log.info("loading model %s from %s", source.name, source.location)
            loading: Future[LoadedModel] = Future()
            owner = threading.Thread(target=self._owner_loop, args=(source, loading), name=f"engine-{source.name}")
            owner.daemon = True
            owner.start()
            return loading.result()

    def model_names(self) -> list[str]:
        return self.registry.names()

    def limits(self, model: str | None = None) -> ModelLimits:
        return self.model(model).limits

    def is_ready(self) -> bool:
        with self._lock:
            return not self._closing and self.registry.default in self._models

    # -- the EngineClient protocol --------------------------------------------------------------------

    def submit(self, request: GenerationRequest) -> JobHandle:
        request.validate()
        if self._closing:
            raise EngineClosed("the engine is shutting down")
        loaded = self.model(request.model)
        resolved = request.resolved(loaded.name, loaded.limits)
        loaded.pipeline_for(resolved.kind)  # a model that cannot edit pictures says so now, not in its batch
        job = Job(id=uuid.uuid4().hex, request=resolved)
        with self._lock:
            self._sweep_finished()
            if self._closing:
                raise EngineClosed("the engine is shutting down")
            waiting = sum(len(queue) for queue in self._queues.values())
            queued_images = sum(
                other.request.n
                for other in self._jobs.values()
                if other.request.owner == request.owner and other.state is JobState.QUEUED
            )
            self._admission.check(waiting, request.owner, queued_images, resolved.n)
            self._jobs[job.id] = job
            self._queues[loaded.name].append(job)
            self._lock.notify_all()
        return JobHandle(job.id, self)

    def status(self, job_id: str) -> JobStatus:
        with self._lock:
            job = self._job(job_id)
            return job.snapshot(self._queue_position(job))

    def watch(self, job_id: str, after_version: int, timeout: float) -> JobStatus:
        with self._lock:
            job = self._job(job_id)
            self._lock.wait_for(lambda: job.version > after_version, timeout=timeout)
            return job.snapshot(self._queue_position(job))

    def result(self, job_id: str, timeout: float | None = None) -> GenerationResult:
        with self._lock:
            job = self._job(job_id)
            if not self._lock.wait_for(lambda: job.state.is_final, timeout=timeout):
                raise TimeoutError(f"job {job_id} did not finish within {timeout} s")
        if job.state is JobState.CANCELLED:
            raise JobCancelled(job.error or "the job was cancelled")
        if job.state is JobState.FAILED:
            raise JobFailed(job.error or "the job failed", job.error_kind or "pipeline_error")
        assert job.result is not None
        return job.result

    def cancel(self, job_id: str) -> bool:
        with self._lock:
            job = self._job(job_id)
            if job.state.is_final:
                return False
            if job.state is JobState.QUEUED:
                self._queues[job.request.model or ""].remove(job)
                job.finish(JobState.CANCELLED, "cancelled before it started", "cancelled")
            else:
                job.cancel_requested = True  # the owner stops it at the next step
                job.touch()
            self._lock.notify_all()
            return True

    def forget(self, job_id: str) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None and job.state.is_final:
                del self._jobs[job_id]

    def observe_batches(self, observer: Callable[[BatchReport], None]) -> None:
        self._batch_observers.append(observer)

    def close(self, wait: bool = True, timeout: float | None = None) -> None:
        with self._lock:
            self._closing = True
            for queue in self._queues.values():
                for job in queue.drain():
                    job.finish(JobState.CANCELLED, "the server shut down before the job started", "shutdown")
            self._lock.notify_all()
            owners = list(self._owners.values())
            compilers = [loaded.compiler for loaded in self._models.values() if loaded.compiler is not None]
        for compiler in compilers:
            compiler.stop()
        if wait:
            for owner in owners:
                owner.join(timeout)

    # -- queue bookkeeping (lock held) ----------------------------------------------------------------

    def queue_depth(self) -> int:
        with self._lock:
            return sum(len(queue) for queue in self._queues.values())

    def _job(self, job_id: str) -> Job:
        self._sweep_finished()
        job = self._jobs.get(job_id)
        if job is None:
            raise UnknownJob(f"no job {job_id!r}")
        return job

    def _queue_position(self, job: Job) -> int:
        queue = self._queues.get(job.request.model or "")
        return queue.position(job) if queue is not None else 0

    def _sweep_finished(self) -> None:
        now = time.time()
        if now - self._last_sweep < 1.0:
            return
        self._last_sweep = now
        expired = [
            job_id
            for job_id, job in self._jobs.items()
            if job.finished_at is not None and now - job.finished_at > self.settings.result_ttl_s
        ]
        for job_id in expired:
            del self._jobs[job_id]

    # -- the owner thread ------------------------------------------------------------------------------

    def _owner_loop(self, source: ModelSource, loading: Future[LoadedModel]) -> None:
        try:
            loaded = load_model(source, self.settings.load)
            if loaded.compiler is not None:
                run_warm_up(loaded)
        except BaseException as error:
            loading.set_exception(error)
            return
        # A pipeline is ~500k Python objects that live as long as the process; a full collection walking them
        # takes ~250 ms on a small CPU and stalls every thread. Freeze them out of the collector.
        gc.collect()
        gc.freeze()
        with self._lock:
            self._models[source.name] = loaded
            self._queues[source.name] = JobQueue()
            self._owners[source.name] = threading.current_thread()
        loading.set_result(loaded)
        while True:
            batch = self._next_batch(source.name)
            if batch is None:
                return
            try:
                self._run_batch(loaded, batch)
            except Exception:  # never let one batch end the owner thread
                log.exception("unexpected error running a batch of %s", source.name)
                self._fail(batch, "internal error in the engine", "internal_error")

    def _next_batch(self, model_name: str) -> list[Job] | None:
        """Wait for work, then gather compatible jobs until the batch is full or its wait is over; the queue
        decides whose jobs go first (`JobQueue.lead`, round-robin across owners)."""
        queue = self._queues[model_name]
        max_wait_s = self.settings.max_wait_ms / 1000.0
        with self._lock:
            while True:
                while not len(queue):
                    if self._closing:
                        return None
                    self._lock.wait()
                first = queue.lead()
                assert first is not None
                batch = queue.batch_led_by(first, self.settings.max_batch)
                while (
                    first in queue
                    and batch_images(batch) < self.settings.max_batch
                    and time.time() < _batch_deadline(first, batch, max_wait_s)
                    and not self._closing
                ):
                    self._lock.wait(max(0.0, _batch_deadline(first, batch, max_wait_s) - time.time()))
                    batch = queue.batch_led_by(first, self.settings.max_batch)
                if first not in queue:
                    continue  # the first job was cancelled while we waited: start over
                queue.take(batch)
                now = time.time()
                for job in batch:
                    job.state = JobState.RUNNING
                    job.started_at = now
                    job.touch()
                self._lock.notify_all()
                return batch

    def _run_batch(self, loaded: LoadedModel, jobs: list[Job]) -> None:
        started = time.perf_counter()
        outcome = "succeeded"
        try:
            images = self._call_pipeline(loaded, jobs)
        except BatchCancelled:
            outcome = "cancelled"
            self._mark_cancelled(jobs)
        except Exception as error:
            if is_out_of_memory(error) and len(jobs) > 1:
                log.warning("out of memory on a batch of %d jobs; retrying in two halves", len(jobs))
                free_accelerator_memory()
                half = len(jobs) // 2
                self._run_batch(loaded, jobs[:half])
                self._run_batch(loaded, jobs[half:])
                return
            # The user gets a short message and its code; the detail (which may name files or internals) is logged.
            outcome = "out_of_memory" if is_out_of_memory(error) else "pipeline_error"
            if outcome == "out_of_memory":
                free_accelerator_memory()
                log.warning("job %s ran out of memory on model %s", ", ".join(job.id for job in jobs), loaded.name)
                message = "the engine ran out of memory for these pictures; ask for fewer or smaller ones"
            else:
                log.exception("jobs %s failed on model %s", ", ".join(job.id for job in jobs), loaded.name)
                message = "the engine could not make these pictures"
            self._fail(jobs, message, outcome)
        else:
            self._deliver(jobs, images, len(images))
        report = BatchReport(
            loaded.name,
            len(jobs),
            batch_images(jobs),
            time.perf_counter() - started,
            outcome,
            tuple(job.id for job in jobs),
        )
        for observer in self._batch_observers:
            observer(report)

    def _call_pipeline(self, loaded: LoadedModel, jobs: list[Job]) -> list:
        """One pipeline call for all images of `jobs`, publishing each step; returns the images in job order."""

        def on_step(step_index: int, total: int) -> None:
            with self._lock:
                for job in jobs:
                    if job.cancel_requested and job.state is JobState.RUNNING:
                        job.finish(JobState.CANCELLED, "cancelled while running", "cancelled")
                    elif job.state is JobState.RUNNING:
                        job.total_steps = max(total, step_index + 1)
                        job.step = step_index + 1
                        job.touch()
                self._lock.notify_all()
                if all(job.state is JobState.CANCELLED for job in jobs):
                    raise BatchCancelled()

        return run_pipeline(loaded, [job.request for job in jobs], on_step)

    def _deliver(self, jobs: list[Job], images: list, batch_size: int) -> None:
        now = time.time()
        offset = 0
        with self._lock:
            for job in jobs:
                own = images[offset : offset + job.request.n]
                offset += job.request.n
                if job.cancel_requested or job.state is JobState.CANCELLED:
                    if job.state is not JobState.CANCELLED:
                        job.finish(JobState.CANCELLED, "cancelled while running", "cancelled")
                    continue
                job.step = job.total_steps = max(job.total_steps, job.step) or int(job.request.steps or 0)
                job.result = GenerationResult(
                    job_id=job.id,
                    request=job.request,
                    images=[
                        GeneratedImage(image=image, seed=seed, index=index)
                        for index, (image, seed) in enumerate(zip(own, job.request.image_seeds()))
                    ],
                    timings=Timings(
                        queue_wait_s=(job.started_at or now) - job.created_at,
                        run_s=now - (job.started_at or now),
                    ),
                    batch_size=batch_size,
                )
                job.finish(JobState.SUCCEEDED)
            self._lock.notify_all()

    def _mark_cancelled(self, jobs: list[Job]) -> None:
        with self._lock:
            for job in jobs:
                if not job.state.is_final:
                    job.finish(JobState.CANCELLED, "cancelled while running", "cancelled")
            self._lock.notify_all()

    def _fail(self, jobs: list[Job], message: str, kind: str) -> None:
        with self._lock:
            for job in jobs:
                if not job.state.is_final:
                    job.finish(JobState.FAILED, message, kind)
            self._lock.notify_all()


def _batch_deadline(first: Job, batch: list[Job], max_wait_s: float) -> float:
    """When a batch stops waiting: `max_wait_s` after its newest job, so requests arriving in a stream (clients
    resubmitting as the last batch's answers reach them) ride together; never more than
    `MAX_WAIT_STRETCH` waits after its first job."""
    newest = max(job.created_at for job in batch)
    return min(newest + max_wait_s, first.created_at + MAX_WAIT_STRETCH * max_wait_s)
