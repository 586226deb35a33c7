"""Admission: whether the engine takes one more job now. Decided before any work, under the engine's lock."""

from __future__ import annotations

from dataclasses import dataclass

from engine.errors import QueueFull, TooManyJobs


@dataclass(frozen=True)
class Admission:
    """The queue's bound and the per-user limit, with how long a refused client should wait."""

    max_queue: int
    #: 0: no per-user limit.
    max_jobs_per_owner: int
    retry_after_s: float

    def check(self, waiting: int, owner: str | None, unfinished_of_owner: int) -> None:
        """Raise `QueueFull` when `waiting` jobs fill the queue, `TooManyJobs` when `owner` has too many."""
        if waiting >= self.max_queue:
            raise QueueFull(f"the queue is full ({waiting} jobs waiting)", self.retry_after_s)
        if self.max_jobs_per_owner and owner is not None and unfinished_of_owner >= self.max_jobs_per_owner:
            raise TooManyJobs(
                f"you already have {unfinished_of_owner} unfinished jobs (limit {self.max_jobs_per_owner})",
                self.retry_after_s,
            )
