"""Generating every image of one document: all orders go to the engine together so they batch, and
progress counts the images done.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from addin_server.documents.errors import DocumentError
from addin_server.errors import Conflict
from engine.api import MAX_SEED, EngineClient, GenerationRequest, JobHandle, ModelLimits
from engine.errors import QueueFull

SEED_POLICIES = ("same", "increment")


@dataclass(frozen=True)
class ImageOrder:
    """One picture a document needs: what to draw and at which generation size."""

    prompt: str
    width: int
    height: int
    seed: int | None = None
    negative_prompt: str = ""
    #: Redrawing a picture the file has: its PNG (at `width`×`height`) and how far to move from it.
    source_image: bytes | None = None
    strength: float | None = None


@dataclass(frozen=True)
class Picture:
    """A generated picture: PNG bytes (with the AI-generated mark inside) and its seed."""

    png: bytes
    seed: int
    width: int
    height: int


#: The most pixels a picture already in a file may have to be redrawn, unless a server sets its own cap.
MAX_PICTURE_PIXELS = 8192 * 8192
#: One batch's worth: enough to keep the engine busy, few enough that other users' images go between.
IMAGES_IN_FLIGHT = 8


class Cancelled(Conflict):
    """The document job was cancelled while its images were being generated."""

    code = "cancelled"


@dataclass
class ImageMaker:
    """Turns a document's image orders into pictures through one engine."""

    engine: EngineClient
    model: str | None = None
    #: The document's seed: with policy "same" every image without its own seed uses it (a matching set);
    #: with "increment" image i uses seed + i. None: random seeds.
    seed: int | None = None
    seed_policy: str = "same"
    #: Whose document it is: its images are that user's jobs (None: the CLI's own).
    owner: str | None = None
    #: Images submitted and not yet done, at most; the rest wait here, not in the engine's queue.
    in_flight: int = IMAGES_IN_FLIGHT
    #: The most images one document may ask for (None: no cap, the CLI's own): planners count first and
    #: refuse past it before they decode or size anything.
    max_images: int | None = None
    #: The most pixels a picture already in the file may have to be redrawn (larger ones are left alone).
    max_picture_pixels: int = MAX_PICTURE_PIXELS

    def limits(self) -> ModelLimits:
        return self.engine.limits(self.model)

    def check_image_count(self, count: int) -> None:
        """Raise `DocumentError` (too_many_images) when a document asks for more images than it may."""
        if self.max_images is not None and count > self.max_images:
            raise DocumentError(
                f"the document asks for {count} images; at most {self.max_images} are allowed",
                code="too_many_images",
            )

    def seed_for(self, index: int, own_seed: int | None) -> int | None:
        if own_seed is not None or self.seed is None:
            return own_seed
        return self.seed if self.seed_policy == "same" else (self.seed + index) % (MAX_SEED + 1)

    def generate(
        self,
        orders: list[ImageOrder],
        on_progress: Callable[[int, int], None] = lambda done, total: None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> list[Picture]:
        """Submit every order (waiting only when the engine's queue is full), then collect them in order."""
        handles: list[JobHandle | None] = [None] * len(orders)
        pictures: list[Picture | None] = [None] * len(orders)
        done = 0
        on_progress(0, len(orders))
        try:
            while done < len(orders):
                if cancelled():
                    raise Cancelled("the document was cancelled")
                self._submit_what_fits(orders, handles, pictures)
                for index, handle in enumerate(handles):
                    if handle is not None and pictures[index] is None and handle.status().state.is_final:
                        result = handle.result()
                        self.engine.forget(handle.job_id)
                        image = result.images[0]
                        pictures[index] = Picture(
                            image.to_png_bytes(result.request), image.seed, image.image.width, image.image.height
                        )
                        done += 1
                        on_progress(done, len(orders))
                if done < len(orders):
                    self._wait_for_any(handles, pictures)
        except BaseException:
            for handle, picture in zip(handles, pictures):
                if handle is not None and picture is None:
                    handle.cancel()
            raise
        return [picture for picture in pictures if picture is not None]

    def _submit_what_fits(self, orders, handles, pictures) -> None:
        pending = sum(1 for handle, picture in zip(handles, pictures) if handle is not None and picture is None)
        for index, order in enumerate(orders):
            if handles[index] is not None:
                continue
            if pending >= self.in_flight:
                return
            request = GenerationRequest(
                prompt=order.prompt,
                negative_prompt=order.negative_prompt,
                width=order.width,
                height=order.height,
                seed=order.seed,
                model=self.model,
                owner=self.owner,
                source_image=order.source_image,
                strength=order.strength,
            )
            try:
                handles[index] = self.engine.submit(request)
                pending += 1
            except QueueFull:
                if not any(h is not None and p is None for h, p in zip(handles, pictures)):
                    time.sleep(0.5)  # someone else's jobs fill the queue: wait for room
                return

    def _wait_for_any(self, handles, pictures) -> None:
        pending = [h for h, p in zip(handles, pictures) if h is not None and p is None]
        if pending:
            status = pending[0].status()
            self.engine.watch(pending[0].job_id, status.version, timeout=0.5)
