"""Jobs and the per-model queue they wait in, the rule for which jobs may share one pipeline call, and the
order batches are filled in: round-robin across owners, so one user's hundred images never starve another's one.

Nothing here locks: `LocalEngine` holds one condition variable around every use.
"""

from __future__ import annotations

import time
from collections import deque
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
    #: Text to image, image to image or inpainting: each is its own pipeline; edits also share a strength.
    kind: str = "generate"
    strength: float = 0.0

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
            kind=request.kind,
            strength=float(request.strength or 0.0),
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

    @property
    def owner(self) -> str:
        """Who asked ("" for the engine's own callers: the CLI, the evaluator)."""
        return self.request.owner or ""

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
    """The jobs waiting for one model, oldest first, and when each owner was last served."""

    def __init__(self) -> None:
        self._jobs: list[Job] = []
        #: owner -> the number of the batch that last took one of its jobs.
        self._served: dict[str, int] = {}
        self._batches = 0

    def __len__(self) -> int:
        return len(self._jobs)

    def __contains__(self, job: Job) -> bool:
        return job in self._jobs

    def append(self, job: Job) -> None:
        self._jobs.append(job)

    def remove(self, job: Job) -> bool:
        if job in self._jobs:
            self._jobs.remove(job)
            return True
        return False

    def position(self, job: Job) -> int:
        """1 for the oldest waiting job; 0 if the job is not waiting."""
        return self._jobs.index(job) + 1 if job in self._jobs else 0

    def lead(self) -> Job | None:
        """The job the next batch is built around: the oldest job of the owner served longest ago."""
        oldest_of_owner: dict[str, Job] = {}
        for job in self._jobs:
            oldest_of_owner.setdefault(job.owner, job)
        if not oldest_of_owner:
            return None
        return min(oldest_of_owner.values(), key=lambda job: self._served.get(job.owner, -1))

    def batch_led_by(self, lead: Job, max_images: int) -> list[Job]:
        """`lead`, then jobs with its key taken one owner at a time (each owner's oldest first, the owner served
        longest ago first, `lead`'s own last) while their images fit in `max_images`.

        `lead` always comes, even when it alone asks for more than `max_images`.
        """
        waiting: dict[str, deque[Job]] = {}
        for job in self._jobs:
            if job is not lead and job.key == lead.key:
                waiting.setdefault(job.owner, deque()).append(job)
        owners = sorted(waiting, key=lambda owner: (owner == lead.owner, self._served.get(owner, -1)))
        batch, images = [lead], lead.request.n
        while owners and images < max_images:
            for owner in list(owners):
                jobs = waiting[owner]
                if images + jobs[0].request.n > max_images:
                    owners.remove(owner)  # its next job does not fit; another owner's may
                    continue
                job = jobs.popleft()
                batch.append(job)
                images += job.request.n
                if not jobs:
                    owners.remove(owner)
        return batch

    def take(self, batch: list[Job]) -> None:
        """Remove `batch` from the queue and remember that its owners were served now.

        Only owners with jobs still waiting are remembered (one who comes back later counts as never served),
        so the record stays as small as the queue.
        """
        self._batches += 1
        for job in batch:
            self.remove(job)
            self._served[job.owner] = self._batches
        waiting = {job.owner for job in self._jobs}
        self._served = {owner: turn for owner, turn in self._served.items() if owner in waiting}

    def drain(self) -> list[Job]:
        jobs, self._jobs = self._jobs, []
        return jobs


def batch_images(jobs: list[Job]) -> int:
    return sum(job.request.n for job in jobs)
