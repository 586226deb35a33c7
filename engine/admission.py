"""Admission: whether the engine takes one more job now. Decided before any work, under the engine's lock.

It refuses only when the whole queue is full, or when one owner's waiting images pass their cap; the order
batches are filled in (round-robin across owners, `batching.py`) keeps everyone else served meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.errors import QueueFull, TooManyQueuedImages


@dataclass(frozen=True)
class Admission:
    """The queue's bound and the per-owner cap, with how long a refused client should wait."""

    max_queue: int
    #: Most images one owner may have waiting (0: no cap).
    max_queued_images_per_owner: int
    retry_after_s: float

    def check(self, waiting_jobs: int, owner: str | None, queued_images_of_owner: int, images: int) -> None:
        """Raise `QueueFull` when the queue is full, `TooManyQueuedImages` when `owner` would pass the cap."""
        if waiting_jobs >= self.max_queue:
            raise QueueFull(f"the queue is full ({waiting_jobs} jobs waiting)", self.retry_after_s)
        cap = self.max_queued_images_per_owner
        if cap and owner is not None and queued_images_of_owner + images > cap:
            raise TooManyQueuedImages(
                f"you already have {queued_images_of_owner} images waiting; {images} more would pass the limit of "
                f"{cap}",
                self.retry_after_s,
            )
