"""Jobs and the per-model queue they wait in, and the rule for which jobs may share one pipeline call.

Nothing here locks: `LocalEngine` holds one condition variable around every use.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from engine.api import (
    GenerationRequest,
    GenerationResult,
    JobState,
    JobStatus,
    Progress,
)


@dataclass(frozen=True)
class BatchKey:
    """What must match for requests to run as one pipeline call; prompts and seeds may differ."""

    model: str
    width: int
    height: int
    steps: int
    guidance_scale: float
    scheduler: str | None
    # A pipeline may treat "no negative prompt" differently from "" (SDXL zeroes it), so the two never mix.
    has_negative_prompt: bool

    @classmethod
    def of(cls, request: GenerationRequest) -> BatchKey:
        return cls(
            model=request.model or "",
            width=int(request.width or 0),
            height=int(request.height or 0),
            steps=int(request.steps or 0),
            guidance_scale=float(request.guidance_scale or 0.0),
            scheduler=request.scheduler,
            has_negative_prompt=bool(request.negative_prompt),
        )


@dataclass
class Job:
    """One request's life in the engine; `version` grows on every change."""

    id: str
    request: GenerationRequest
    created_at: float = field(default_factory=time.time)
    state: JobState = JobState.QUEUED
    step: int = 0
    #: Denoising steps the pipeline really runs (some schedulers run more than `request.steps`); 0 until known.
    total_steps: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    error: str | None = None
    error_kind: str | None = None
    result: GenerationResult | None = None
    cancel_requested: bool = False
    version: int = 0

    @property
    def key(self) -> BatchKey:
        return BatchKey.of(self.request)

    def touch(self) -> None:
        self.version += 1

    def finish(self, state: JobState, error: str | None = None, error_kind: str | None = None) -> None:
        self.state = state
        self.error = error
        self.error_kind = error_kind
        self.finished_at = time.time()
        self.touch()

    def snapshot(self, queue_position: int) -> JobStatus:
        return JobStatus(
            job_id=self.id,
            state=self.state,
            progress=Progress(
                step=self.step,
                total_steps=self.total_steps or int(self.request.steps or 0),
                queue_position=queue_position,
            ),
            request=self.request,
            created_at=self.created_at,
            version=self.version,
            error=self.error,
            error_kind=self.error_kind,
            finished_at=self.finished_at,
        )


class JobQueue:
    """The jobs waiting for one model, oldest first."""

    def __init__(self) -> None:
        self._jobs: list[Job] = []

    def __len__(self) -> int:
        return len(self._jobs)

    def append(self, job: Job) -> None:
        self._jobs.append(job)

    def remove(self, job: Job) -> bool:
        if job in self._jobs:
            self._jobs.remove(job)
            return True
        return False

    def position(self, job: Job) -> int:
        """1 for the next job to run; 0 if the job is not waiting."""
        return self._jobs.index(job) + 1 if job in self._jobs else 0

    def oldest(self) -> Job | None:
        return self._jobs[0] if self._jobs else None

    def compatible_with_oldest(self, max_images: int) -> list[Job]:
        """The oldest job plus, in order, later jobs with the same key while the images fit in `max_images`.

        The oldest job always comes, even when it alone asks for more than `max_images`.
        """
        if not self._jobs:
            return []
        first = self._jobs[0]
        batch, images = [first], first.request.n
        for job in self._jobs[1:]:
            if images >= max_images:
                break
            if job.key == first.key and images + job.request.n <= max_images:
                batch.append(job)
                images += job.request.n
        return batch

    def drain(self) -> list[Job]:
        jobs, self._jobs = self._jobs, []
        return jobs


def batch_images(jobs: list[Job]) -> int:
    return sum(job.request.n for job in jobs)
