"""`RemoteEngine`: the web tier's `EngineClient` when the engine is scaled out (ENGINE_QUEUE_URL).

Jobs go onto the job board in Redis and a Celery task tells a worker to take the next one; status, progress,
cancel and results are read back from the board, and the pictures from the shared folder
(ENGINE_SHARED_DIR). No torch: this process loads no model, the workers publish what their models accept.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from engine.api import (
    BatchReport,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    JobHandle,
    JobState,
    JobStatus,
    ModelLimits,
    Progress,
    Timings,
)
from engine.celery_app import RUN_NEXT, create_celery, queue_name
from engine.errors import EngineClosed, JobCancelled, JobFailed, NoWorker, QueueFull, TooManyQueuedImages, UnknownJob
from engine.job_board import JobBoard
from engine.model_sources import ModelRegistry
from engine.settings import EngineSettings
from engine.shared_folder import SharedFolder, UnsafePath, is_job_id

log = logging.getLogger(__name__)

POLL_S = 0.05


def limits_from_json(data: dict[str, Any]) -> ModelLimits:
    """A worker's published `ModelLimits` (known words as a list, schedulers as a list)."""
    return ModelLimits(
        **{
            **data,
            "schedulers": tuple(data.get("schedulers", ())),
            "known_words": frozenset(data.get("known_words", ())),
            "changes_pictures": tuple(data.get("changes_pictures", ("edit", "inpaint"))),
        }
    )


class RemoteEngine:
    """Implements `engine.api.EngineClient` over the job board and Celery."""

    def __init__(self, settings: EngineSettings) -> None:
        self.settings = settings
        self.shared = SharedFolder(settings.queue.shared_dir)
        self.board = JobBoard(settings.queue.url, settings.result_ttl_s)
        self.celery = create_celery(settings.queue)
        self.registry = ModelRegistry.from_settings(settings.models, settings.default_model)
        self._observers: list[Callable[[BatchReport], None]] = []
        self._closing = threading.Event()
        self._listener: threading.Thread | None = None

    # -- models ------------------------------------------------------------------------------------------------

    def model_names(self) -> list[str]:
        return self.registry.names()

    def limits(self, model: str | None = None) -> ModelLimits:
        name = self.registry.get(model).name
        published = self.board.model_limits().get(name)
        if published is None:
            raise NoWorker(f"no worker has loaded the model {name!r} yet; start `addin-server worker`")
        return limits_from_json(published)

    def is_ready(self) -> bool:
        """Redis answers and a live worker serves the default model."""
        if self._closing.is_set() or not self.board.ping():
            return False
        default = self.registry.default
        return any(default in worker.get("models", ()) for worker in self.board.workers())

    def workers_alive(self) -> int:
        try:
            return len(self.board.workers())
        except Exception:  # Redis away: none that we know of
            return 0

    # -- the EngineClient protocol ---------------------------------------------------------------------------

    def submit(self, request: GenerationRequest) -> JobHandle:
        request.validate()
        if self._closing.is_set():
            raise EngineClosed("the engine is shutting down")
        name = self.registry.get(request.model).name
        resolved = request.resolved(name, self.limits(name))
        job_id = uuid.uuid4().hex
        retry_after = max(1.0, self.settings.max_wait_ms / 1000.0 * 2)
        outcome = self.board.submit(
            job_id, resolved, self.settings.max_queue, self.settings.max_queued_images_per_owner
        )
        if outcome == "queue_full":
            raise QueueFull(f"the queue is full ({self.settings.max_queue} jobs waiting)", retry_after)
        if outcome == "owner_full":
            raise TooManyQueuedImages(
                f"you already have images waiting; {resolved.n} more would pass the limit of "
                f"{self.settings.max_queued_images_per_owner}",
                retry_after,
            )
        self.celery.send_task(RUN_NEXT, args=[name], queue=queue_name(name))
        return JobHandle(job_id, self)

    def status(self, job_id: str) -> JobStatus:
        return self._status(self._record(job_id))

    def watch(self, job_id: str, after_version: int, timeout: float) -> JobStatus:
        """Polls the job's version alone (a few bytes) until it moves, then reads the whole record once."""
        deadline = time.monotonic() + timeout
        while int(self._poll(job_id, "version")) <= after_version and time.monotonic() < deadline:
            time.sleep(POLL_S)
        return self._status(self._record(job_id))

    def result(self, job_id: str, timeout: float | None = None) -> GenerationResult:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not JobState(self._poll(job_id, "state")).is_final:
            if self._closing.is_set():
                raise EngineClosed("this web process is stopping; the job goes on in its worker")
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} did not finish within {timeout} s")
            time.sleep(POLL_S * 2)
        record = self._record(job_id)
        state = JobState(record["state"])
        if state is JobState.CANCELLED:
            raise JobCancelled(record.get("error") or "the job was cancelled")
        if state is JobState.FAILED:
            raise JobFailed(record.get("error") or "the job failed", record.get("error_kind") or "pipeline_error")
        request = self._status(record).request
        try:
            images = [
                GeneratedImage(
                    self.shared.read_picture(job_id, str(item["file"])), int(item["seed"]), int(item["index"])
                )
                for item in json.loads(record.get("images") or "[]")
            ]
        except (UnsafePath, OSError, ValueError, KeyError, TypeError, Warning) as error:
            log.error("job %s names pictures that cannot be read safely: %s", job_id, error)
            raise JobFailed("the pictures of this job could not be read", "lost") from None
        timings = Timings(float(record.get("queue_wait_s", 0)), float(record.get("run_s", 0)))
        return GenerationResult(job_id, request, images, timings, int(record.get("batch_size", 1)))

    def forget(self, job_id: str) -> None:
        """Drops the job's record and its shared pictures, once it has ended."""
        if not is_job_id(job_id):
            return
        if JobState(self.board.job_fields(job_id, "state")["state"] or JobState.FAILED.value).is_final:
            self.board.forget(job_id)
            self.shared.remove_job(job_id)

    def cancel(self, job_id: str) -> bool:
        self._record(job_id)
        return self.board.cancel(job_id) > 0

    def queue_depth(self) -> int:
        try:
            return self.board.queue_depth()
        except Exception:  # Redis away: the metric reads 0 rather than failing the scrape
            return 0

    def observe_batches(self, observer: Callable[[BatchReport], None]) -> None:
        """Workers publish each batch; one listener thread per process hands them to the observers."""
        self._observers.append(observer)
        if self._listener is None:
            self._listener = threading.Thread(target=self._listen, name="engine-batches", daemon=True)
            self._listener.start()

    def close(self, wait: bool = True, timeout: float | None = None) -> None:
        """Stop this process's side; the jobs go on in the workers (a restarted web tier reads them back)."""
        self._closing.set()
        if wait and self._listener is not None:
            self._listener.join(timeout if timeout is not None else 2.0)

    # -- reading the board -------------------------------------------------------------------------------

    def _poll(self, job_id: str, field: str) -> str:
        """One small field of the job, as a poll reads it; `UnknownJob` when there is no such job (any more)."""
        value = self.board.job_fields(job_id, field)[field]
        if value is None:
            raise UnknownJob(f"no job {job_id!r}")
        return value

    def _record(self, job_id: str) -> dict[str, Any]:
        record = self.board.job(job_id)
        if record is None:
            raise UnknownJob(f"no job {job_id!r}")
        return record

    def _status(self, record: dict[str, Any]) -> JobStatus:
        state = JobState(record["state"])
        position = self.board.queued_before(record["id"]) if state is JobState.QUEUED else 0
        return JobStatus(
            job_id=record["id"],
            state=state,
            progress=Progress(int(record.get("step", 0)), int(record.get("total", 0)), position),
            request=self.board.request(record, with_pictures=False),
            created_at=float(record["created_at"]),
            version=int(record.get("version", 0)),
            error=record.get("error") or None,
            error_kind=record.get("error_kind") or None,
            finished_at=float(record["finished_at"]) if record.get("finished_at") else None,
        )

    def _listen(self) -> None:
        while not self._closing.is_set():
            try:
                pubsub = self.board.redis.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(JobBoard.BATCHES)
                while not self._closing.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    data = json.loads(message["data"])
                    report = BatchReport(**{**data, "job_ids": tuple(data.get("job_ids", ()))})
                    for observer in self._observers:
                        observer(report)
            except Exception as error:  # Redis restarting: listen again shortly
                log.debug("batch listener: %s", error)
                self._closing.wait(1.0)
