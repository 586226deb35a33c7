"""`addin-server worker`: one Celery worker process that owns one device and runs the in-process engine.

Its threads (as many as a batch holds) each take one task; a task takes the next job off the job board,
round-robin across users, and hands it to the `LocalEngine`, whose owner thread batches the jobs the threads
brought in, across users, as it does in one server. While a job runs, its thread copies progress to the board,
keeps the job's heartbeat alive and passes on a cancel; at the end it writes the pictures to the shared folder
and records them, only if its attempt is still the current one (so a job that ran twice yields one set).

A heartbeat thread keeps the worker's own key alive and puts back jobs whose worker was lost.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import asdict
from pathlib import Path

from engine.api import BatchReport, JobState
from engine.celery_app import RUN_NEXT, create_celery, queue_name
from engine.errors import EngineError
from engine.job_board import MAX_LOST, JobBoard
from engine.local import LocalEngine
from engine.model_sources import ModelRegistry
from engine.settings import EngineSettings
from engine.shared_folder import SharedFolder

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class WorkerOptions:
    """What `addin-server worker` was asked for."""

    models: tuple[str, ...] = ()
    device: str | None = None
    #: Tasks taken at once; default: the engine's batch size.
    concurrency: int | None = None
    name: str = ""


class EngineWorker:
    """The engine behind one worker process."""

    def __init__(self, settings: EngineSettings, options: WorkerOptions) -> None:
        load = dataclasses.replace(settings.load, device=options.device or settings.load.device)
        # The web tier already applied the queue's limits; here every taken job is let in.
        self.settings = dataclasses.replace(
            settings, load=load, preload=False, max_queue=10_000, max_queued_images_per_owner=0
        )
        self.queue = settings.queue
        self.name = options.name or f"worker-{socket.gethostname()}-{os.getpid()}"
        self.registry = ModelRegistry.from_settings(settings.models, settings.default_model)
        self.models = list(options.models) or [self.registry.default]
        for model in self.models:
            self.registry.get(model)  # an unknown name stops the worker before it takes anything
        self.concurrency = options.concurrency or settings.max_batch
        self.board = JobBoard(self.queue.url, settings.result_ttl_s)
        self.shared = SharedFolder(self.queue.shared_dir)
        self.engine = LocalEngine(self.settings, registry=self.registry, on_batch=self._report_batch)
        #: model -> why it could not be loaded; its jobs fail with that, and are not taken again.
        self.load_errors: dict[str, str] = {}
        self.published: dict[str, dict] = {}
        self._stop = threading.Event()

    # -- starting --------------------------------------------------------------------------------------------

    def load_models(self) -> None:
        """Load every model now, and publish what each accepts; a model that fails is remembered, not fatal."""
        published: dict[str, dict] = {}
        for model in self.models:
            try:
                limits = self.engine.limits(model)
            except Exception as error:  # a broken folder, out of memory: this worker fails that model's jobs
                self.load_errors[model] = f"the worker {self.name} could not load the model {model!r}"
                log.error("%s: %s", self.load_errors[model], error)  # the detail for the log, not for users
                continue
            data = asdict(limits)
            data["schedulers"] = list(limits.schedulers)
            data["known_words"] = sorted(limits.known_words)
            published[model] = data
        self.published = published
        self.board.publish_models(published)

    def run(self) -> None:
        """Serve until stopped (SIGTERM: the running tasks finish; the rest stay queued for other workers)."""
        self.load_models()
        threading.Thread(target=self._heartbeat, name="worker-heartbeat", daemon=True).start()
        celery = create_celery(self.queue)
        celery.task(name=RUN_NEXT, bind=False, acks_late=True, reject_on_worker_lost=True)(self.run_next)
        try:
            celery.worker_main(
                [
                    "worker",
                    "--pool=threads",
                    f"--concurrency={self.concurrency}",
                    f"--hostname={self.name}@%h",
                    "--queues=" + ",".join(queue_name(model) for model in self.models),
                    "--loglevel=INFO",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ]
            )
        finally:
            self._stop.set()
            self.engine.close(wait=True, timeout=self.settings.max_wait_ms)

    # -- one task: take the next job and run it -----------------------------------------------------------------

    def run_next(self, model: str) -> None:
        taken = self.board.take(model, self.name, self.queue.worker_lost_s)
        if taken is None:
            return  # someone else took it, or it was cancelled
        job_id, attempt = taken
        record = self.board.job(job_id)
        if record is None:  # not a job id the web tier makes: someone wrote to Redis who should not
            log.error("took a job with a malformed id %r; it is failed, not run", job_id)
            self._finish(job_id, attempt, JobState.FAILED, error="not a valid job", error_kind="invalid_job")
            return
        if model in self.load_errors:
            self._finish(job_id, attempt, JobState.FAILED, error=self.load_errors[model], error_kind="model_error")
            return
        try:
            handle = self.engine.submit(self.board.request(record, with_pictures=True))
        except EngineError as error:
            self._finish(job_id, attempt, JobState.FAILED, error=str(error), error_kind=error.kind)
            return
        self._follow(job_id, attempt, handle.job_id)

    def _follow(self, job_id: str, attempt: str, local_id: str) -> None:
        """Mirror the local job onto the board until it ends, then record how it ended."""
        version, cancelled = -1, False
        beat = min(1.0, self.queue.worker_lost_s / 4)
        while True:
            status = self.engine.watch(local_id, version, timeout=beat)
            self.board.keep_alive(job_id, attempt, self.queue.worker_lost_s)
            if not cancelled and self.board.job_fields(job_id, "cancel")["cancel"] == "1":
                cancelled = self.engine.cancel(local_id) or True
            if status.state.is_final:
                break
            if status.version != version:
                self.board.update(
                    job_id,
                    attempt,
                    state=status.state.value,
                    step=status.progress.step,
                    total=status.progress.total_steps,
                )
            version = status.version
        if status.state is not JobState.SUCCEEDED:
            self._finish(job_id, attempt, status.state, error=status.error, error_kind=status.error_kind)
            return
        result = self.engine.result(local_id)
        self.engine.forget(local_id)  # the board holds it from here
        folder = self.shared.job_folder(job_id)
        folder.mkdir(parents=True, exist_ok=True)
        images: list[dict[str, object]] = []
        for image in result.images:
            path = folder / f"{attempt}-{image.index}.png"
            _write_atomically(path, image.to_png_bytes(result.request))
            images.append({"file": f"{job_id}/{path.name}", "seed": image.seed, "index": image.index})
        recorded = self._finish(
            job_id,
            attempt,
            JobState.SUCCEEDED,
            images=json.dumps(images),
            step=result.request.steps or 0,
            queue_wait_s=result.timings.queue_wait_s,
            run_s=result.timings.run_s,
            batch_size=result.batch_size,
        )
        if not recorded:  # another attempt owns the job now: its pictures count, not these
            for item in images:
                self.shared.picture_path(job_id, str(item["file"])).unlink(missing_ok=True)

    def _finish(self, job_id: str, attempt: str, state: JobState, **fields: object) -> bool:
        values = {key: value for key, value in fields.items() if value is not None}
        return self.board.update(job_id, attempt, state=state.value, finished_at=time.time(), **values)

    # -- the worker's own heartbeat, lost jobs, batch reports -----------------------------------------------------

    def _heartbeat(self) -> None:
        celery = create_celery(self.queue)
        interval = max(0.5, self.queue.worker_lost_s / 4)
        next_sweep = time.monotonic()
        while not self._stop.is_set():
            try:
                self.board.register_worker(self.name, list(self.published), self.concurrency, self.queue.worker_lost_s)
                self.board.publish_models(self.published)  # again: a restarted Redis has forgotten them
                for job_id in self.board.lost_jobs():
                    outcome = self.board.requeue(job_id)
                    if outcome == 1:
                        model = (self.board.job(job_id) or {}).get("model", self.registry.default)
                        log.warning("job %s lost its worker; it runs again", job_id)
                        celery.send_task(RUN_NEXT, args=[model], queue=queue_name(model))
                    elif outcome == 2:
                        log.error("job %s lost its worker %d times; it failed", job_id, MAX_LOST)
                if time.monotonic() >= next_sweep:  # pictures whose web process never collected them
                    self.shared.sweep(older_than_s=self.settings.result_ttl_s * 4)
                    next_sweep = time.monotonic() + 600
            except Exception as error:  # Redis restarting: try again at the next beat
                log.warning("heartbeat: %s", error)
            self._stop.wait(interval)

    def _report_batch(self, report: BatchReport) -> None:
        try:
            data = asdict(dataclasses.replace(report, worker=self.name))
            self.board.publish_batch({**data, "job_ids": list(report.job_ids)})
        except Exception as error:
            log.warning("could not report a batch: %s", error)


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    temporary.write_bytes(data)
    os.replace(temporary, path)
