"""The job service: submits to the engine, records every job and its images in the store, and shows jobs
to their owners with live progress.

A recorder thread per job waits for the engine's result and writes the PNGs, so a job is kept even when no
client is waiting for it; request threads only read.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures import wait as wait_for_futures
from dataclasses import dataclass

from addin_server.errors import (
    BadRequest,
    ClientClosedRequest,
    Conflict,
    GatewayTimeout,
    NotFound,
    server_error_for,
)
from addin_server.images.store import ImageStore, JobRecord, NewImage
from addin_server.ops.metrics import Metrics
from engine.api import EngineClient, GenerationRequest, JobState, Progress
from engine.errors import EngineClosed, EngineError, InvalidRequest, UnknownJob
from engine.prompt_words import unknown_words

log = logging.getLogger(__name__)

SECONDS_PER_DAY = 86400.0
RETENTION_SWEEP_INTERVAL_S = 3600.0


@dataclass(frozen=True)
class JobView:
    """A job as the API shows it: the stored record, with state and progress from the engine while it runs."""

    record: JobRecord
    state: JobState
    progress: Progress
    #: The engine's version of this snapshot (-1 when it came from the store alone).
    version: int = -1

    @property
    def id(self) -> str:
        return self.record.id


class JobService:
    """Jobs for the HTTP API; every read and cancel takes the owner and answers 404 for anyone else's."""

    def __init__(
        self,
        engine: EngineClient,
        store: ImageStore,
        metrics: Metrics,
        retention_days: float,
        max_cost: int = 10 * 50 * 1024 * 1024,
    ) -> None:
        self.engine = engine
        #: Most images × steps × pixels one request may ask for.
        self.max_cost = max_cost
        #: model name -> the words it reads (empty: all); see `ignored_words`.
        self._known_words: dict[str, frozenset[str]] = {}
        self.store = store
        self.metrics = metrics
        self.retention_days = retention_days
        self._recordings: dict[str, Future[None]] = {}
        self._lock = threading.Lock()
        self._last_sweep = 0.0
        self.sweep_expired()

    # -- submitting and recording ------------------------------------------------------------------------

    def submit(self, request: GenerationRequest, owner: str, field_names: Mapping[str, str] | None = None) -> str:
        """Hand the request to the engine as `owner`'s, remember it, and start recording it; returns the job id.

        `field_names` says what the request's body calls the engine's fields, for errors (width -> size).
        """
        self._check_cost(request)
        try:
            handle = self.engine.submit(dataclasses.replace(request, owner=owner))
        except EngineError as error:
            self.metrics.count_error(error.kind)
            if isinstance(error, InvalidRequest):
                raise server_error_for(error, field_names) from None
            raise
        status = handle.status()
        if status.request.model is not None and status.request.model not in self._known_words:
            self._remember_known_words(status.request.model)  # loaded by now: the engine just took the job
        try:
            self.store.add_job(handle.job_id, owner, status.request, status.created_at)
        except Exception:
            handle.cancel()
            raise
        recording: Future[None] = Future()
        with self._lock:
            self._recordings[handle.job_id] = recording
        threading.Thread(target=self._record, args=(handle.job_id, recording), name="job-recorder", daemon=True).start()
        return handle.job_id

    def _check_cost(self, request: GenerationRequest) -> None:
        """Refuse, before the engine sees it, a request that asks for more work than one request may."""
        limits = self.engine.limits(request.model)
        width, height = request.width or limits.default_width, request.height or limits.default_height
        steps = request.steps or limits.default_steps
        cost = request.n * steps * width * height
        if cost > self.max_cost:
            raise BadRequest(
                f"this request asks for {request.n} images × {steps} steps × {width}×{height} pixels = {cost:,}; "
                f"this server allows {self.max_cost:,} per request (IMAGES_MAX_COST)",
                "over_budget",
                "n",
            )

    def _record(self, job_id: str, recording: Future[None]) -> None:
        """Wait for the job's end in the engine, then store its images or how it failed."""
        try:
            try:
                result = self.engine.result(job_id)
            except EngineClosed:  # this process stops; the job goes on in a worker, and a restart resumes it
                recording.set_result(None)
                return
            except UnknownJob:  # the engine's record is gone (Redis lost its data): the job cannot end well
                self.store.finish_job(
                    job_id, JobState.FAILED, error="the engine lost this job; try again", error_kind="lost"
                )
                state = JobState.FAILED
            except EngineError:
                status = self.engine.status(job_id)
                self.store.finish_job(job_id, status.state, error=status.error, error_kind=status.error_kind)
                state = status.state
            else:
                images = [
                    NewImage(image.to_png_bytes(result.request), image.seed, image.index) for image in result.images
                ]
                self.store.finish_job(job_id, JobState.SUCCEEDED, images)
                state = JobState.SUCCEEDED
            self.engine.forget(job_id)  # recorded: the engine need not keep its copy (scaled out: Redis, files)
            self.metrics.jobs.labels(state.value).inc()
            recording.set_result(None)
        except Exception as error:  # a full disk must not leave the job "running" forever
            log.exception("could not record job %s", job_id)
            self.metrics.count_error("store_error")
            try:
                self.store.finish_job(
                    job_id, JobState.FAILED, error="the images could not be saved", error_kind="store_error"
                )
            finally:
                recording.set_exception(error)
        finally:
            with self._lock:
                self._recordings.pop(job_id, None)
        self.sweep_expired()

    def resume_unfinished(self) -> int:
        """Record again the jobs a stopped web process left unfinished (scaled out, they went on in the workers);
        returns how many."""
        unfinished = self.store.unfinished_job_ids()
        for job_id in unfinished:
            recording: Future[None] = Future()
            with self._lock:
                self._recordings[job_id] = recording
            threading.Thread(target=self._record, args=(job_id, recording), name="job-recorder", daemon=True).start()
        return len(unfinished)

    def wait_recorded(self, job_id: str, timeout: float | None) -> bool:
        """Wait until the job's outcome is in the store; False on timeout."""
        with self._lock:
            recording = self._recordings.get(job_id)
        if recording is None:
            return True
        try:
            recording.exception(timeout=timeout)
        except FutureTimeout:
            return False
        return True

    # -- reading -------------------------------------------------------------------------------------------

    def view(self, job_id: str, owner: str) -> JobView:
        """The job as its owner sees it now; 404 for an unknown job or someone else's."""
        record = self.store.job(job_id, owner)
        if record is None:
            raise NotFound(f"no job {job_id!r}", "job_not_found")
        if record.state.is_final:
            return JobView(record, record.state, _final_progress(record))
        try:
            status = self.engine.status(job_id)
        except UnknownJob:  # held by another worker process: the store is all we know
            return JobView(record, record.state, Progress())
        with self._lock:
            recorded_here = job_id in self._recordings
        if status.state in (JobState.CANCELLED, JobState.FAILED) and not recorded_here:
            # Ended without images while another web process records it: say so now, as that one will.
            self.store.finish_job(job_id, status.state, error=status.error, error_kind=status.error_kind)
        if status.state.is_final:  # finished in the engine; its images are being saved
            self.wait_recorded(job_id, timeout=30)
            record = self.store.job(job_id, owner) or record
            if record.state.is_final:
                return JobView(record, record.state, _final_progress(record))
            return JobView(record, JobState.RUNNING, status.progress, status.version)
        return JobView(record, status.state, status.progress, status.version)

    def next_view(self, current: JobView, owner: str, timeout: float) -> JobView:
        """Wait up to `timeout` for the job to change (a step, a state, a queue move), then return it."""
        if current.state.is_final:
            return current
        try:
            self.engine.watch(current.id, current.version, timeout)
        except UnknownJob:
            time.sleep(min(timeout, 0.5))
        return self.view(current.id, owner)

    def history(self, owner: str, limit: int, before: float | None) -> list[JobView]:
        """The owner's recent jobs, newest first, with live state for those still running."""
        return [
            self.view(record.id, owner)
            if not record.state.is_final
            else JobView(record, record.state, _final_progress(record))
            for record in self.store.jobs(owner, limit, before)
        ]

    def ignored_words(self, record: JobRecord) -> list[str]:
        """The prompt's words the job's model does not know and so left out (empty for a model that reads all).

        A model's words are read when a job is submitted to it, or from the default model, which is loaded
        anyway: listing an old job must never load another model.
        """
        model = str(record.request.get("model") or "")
        if model not in self._known_words and model == self.engine.model_names()[0]:
            self._remember_known_words(model)
        return unknown_words(str(record.request.get("prompt") or ""), self._known_words.get(model, frozenset()))

    def _remember_known_words(self, model: str) -> None:
        try:
            self._known_words[model] = self.engine.limits(model).known_words
        except EngineError:  # a model no longer served
            self._known_words[model] = frozenset()

    # -- waiting and cancelling -------------------------------------------------------------------------------

    def wait(self, job_id: str, owner: str, timeout: float, client_gone: Callable[[], bool]) -> JobView:
        """Block until the job is recorded; cancel it if the client leaves (`ClientClosedRequest`) or time runs
        out (504)."""
        deadline = time.monotonic() + timeout
        while not self.wait_recorded(job_id, timeout=0.25):
            if client_gone():
                self.engine.cancel(job_id)
                raise ClientClosedRequest(f"the client of job {job_id} went away; the job was cancelled")
            if time.monotonic() > deadline:
                self.engine.cancel(job_id)
                raise GatewayTimeout(
                    f"the images were not ready within {timeout:g} s; the job was cancelled", "timeout"
                )
        return self.view(job_id, owner)

    def cancel(self, job_id: str, owner: str) -> JobView:
        """Cancel the owner's job: at once if queued, at the next step if running; a finished job is left as is."""
        view = self.view(job_id, owner)
        if view.state.is_final:
            return view
        try:
            self.engine.cancel(job_id)
        except UnknownJob:
            raise Conflict("this job runs in another server process; try again", "job_elsewhere") from None
        self.wait_recorded(job_id, timeout=2.0)
        return self.view(job_id, owner)

    # -- housekeeping ----------------------------------------------------------------------------------------

    def sweep_expired(self) -> None:
        """Delete jobs and images past the retention time, at most once an hour."""
        if self.retention_days <= 0 or time.time() - self._last_sweep < RETENTION_SWEEP_INTERVAL_S:
            return
        self._last_sweep = time.time()
        deleted = self.store.delete_older_than(time.time() - self.retention_days * SECONDS_PER_DAY)
        if deleted:
            log.info("deleted %d jobs older than %g days", deleted, self.retention_days)

    def close(self, timeout: float | None = None) -> None:
        """Wait for the recorders of jobs that have ended (call after the engine has stopped)."""
        with self._lock:
            pending = list(self._recordings.values())
        wait_for_futures(pending, timeout=timeout)


def _final_progress(record: JobRecord) -> Progress:
    steps = record.request.get("steps")
    steps = steps if isinstance(steps, int) else 0
    done = steps if record.state is JobState.SUCCEEDED else 0
    return Progress(step=done, total_steps=steps, queue_position=0)
