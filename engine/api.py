"""The engine's light API: requests, results, progress, and the `EngineClient` protocol.

This module imports neither torch nor Flask, so the web tier (and a scaled-out web tier with no GPU)
can build requests and read results without loading a model.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from engine.errors import InvalidRequest

if TYPE_CHECKING:
    from PIL import Image

MAX_PROMPT_CHARS = 2000
MAX_IMAGES_PER_REQUEST = 10
MAX_STEPS = 150
MAX_GUIDANCE = 30.0
MAX_SEED = 2**32 - 1
SIZE_MULTIPLE = 8
#: Widest or tallest image any request may name (a model's own limit is usually far smaller).
MAX_SIDE = 8192
#: How far an edit moves from its picture unless told (0: keep it, 1: ignore it); repainting a mask redraws it.
DEFAULT_EDIT_STRENGTH = 0.6
DEFAULT_INPAINT_STRENGTH = 1.0
#: The request fields that hold pictures (PNG bytes); JSON carries them as base64.
PICTURE_FIELDS = ("source_image", "mask_image")
#: Each way of changing a picture: the request field a refusal names, and what the model could not do.
PICTURE_CHANGES = {"edit": ("image", "change pictures (image to image)"), "inpaint": ("mask", "repaint a masked area")}


@dataclass(frozen=True)
class ModelLimits:
    """What one model accepts and what it uses when a request leaves a field out."""

    default_width: int = 512
    default_height: int = 512
    min_size: int = 64
    max_size: int = 2048
    #: Width and height must be multiples of this (the VAE's downscale times the denoiser's).
    size_multiple: int = 8
    default_steps: int = 25
    default_guidance_scale: float = 7.5
    default_scheduler: str | None = None
    #: Scheduler names this model can run (empty: only its own default).
    schedulers: tuple[str, ...] = ()
    #: The only words this model reads (empty: all); a prompt's other words are left out (`prompt_words.py`).
    known_words: frozenset[str] = frozenset()
    #: The ways this model changes a picture: "edit" (image to image), "inpaint" (repaint a mask).
    changes_pictures: tuple[str, ...] = tuple(PICTURE_CHANGES)


@dataclass(frozen=True)
class GenerationRequest:
    """One text-to-image request; fields left as None take the model's defaults."""

    prompt: str
    negative_prompt: str = ""
    n: int = 1
    width: int | None = None
    height: int | None = None
    steps: int | None = None
    guidance_scale: float | None = None
    seed: int | None = None
    model: str | None = None
    scheduler: str | None = None
    #: Who asked: used for per-user limits and ownership; the engine does not interpret it.
    owner: str | None = None
    #: Changing a picture: the picture (PNG bytes, already at the request's size), an optional mask (PNG, white
    #: where to repaint) and how far to move from the picture (0: keep it, 1: ignore it).
    source_image: bytes | None = field(default=None, repr=False)
    mask_image: bytes | None = field(default=None, repr=False)
    strength: float | None = None

    @property
    def kind(self) -> str:
        """ "generate" (text to image), "edit" (image to image) or "inpaint" (repaint a mask)."""
        if self.mask_image is not None:
            return "inpaint"
        return "edit" if self.source_image is not None else "generate"

    def validate(self) -> None:
        """Check every field against the engine-wide limits; raise `InvalidRequest` naming the first bad one."""
        _check_text("prompt", self.prompt, allow_empty=False)
        _check_text("negative_prompt", self.negative_prompt, allow_empty=True)
        _check_int("n", self.n, 1, MAX_IMAGES_PER_REQUEST)
        for name in ("width", "height"):
            value = getattr(self, name)
            if value is not None:
                _check_int(name, value, SIZE_MULTIPLE, MAX_SIDE)
                if value % SIZE_MULTIPLE:
                    raise InvalidRequest(name, f"must be a multiple of {SIZE_MULTIPLE}, got {value}")
        if self.steps is not None:
            _check_int("steps", self.steps, 1, MAX_STEPS)
        if self.guidance_scale is not None:
            _check_number("guidance_scale", self.guidance_scale, 0.0, MAX_GUIDANCE)
        if self.seed is not None:
            _check_int("seed", self.seed, 0, MAX_SEED)
        for name in ("model", "scheduler", "owner"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise InvalidRequest(name, f"must be a string, got {type(value).__name__}")
        if self.strength is not None:
            _check_number("strength", self.strength, 0.0, 1.0)
        if self.mask_image is not None and self.source_image is None:
            raise InvalidRequest("mask", "a mask needs the picture it belongs to (image)")

    def resolved(self, model_name: str, limits: ModelLimits) -> GenerationRequest:
        """A copy with every default filled in from the model, a random seed if none, checked against its limits."""
        self.validate()
        request = dataclasses.replace(
            self,
            model=model_name,
            width=self.width if self.width is not None else limits.default_width,
            height=self.height if self.height is not None else limits.default_height,
            steps=self.steps if self.steps is not None else limits.default_steps,
            guidance_scale=(
                float(self.guidance_scale) if self.guidance_scale is not None else limits.default_guidance_scale
            ),
            seed=self.seed if self.seed is not None else secrets.randbelow(MAX_SEED + 1),
            scheduler=(self.scheduler or limits.default_scheduler),
            strength=self._resolved_strength(),
        )
        for name in ("width", "height"):
            value = getattr(request, name)
            if not limits.min_size <= value <= limits.max_size:
                raise InvalidRequest(
                    name,
                    f"must be between {limits.min_size} and {limits.max_size} for model {model_name!r}, got {value}",
                )
            if value % limits.size_multiple:
                raise InvalidRequest(
                    name, f"must be a multiple of {limits.size_multiple} for model {model_name!r}, got {value}"
                )
        if request.kind != "generate" and request.kind not in limits.changes_pictures:
            field, what = PICTURE_CHANGES[request.kind]
            raise InvalidRequest(field, f"the model {model_name!r} cannot {what}")
        if self.scheduler and limits.schedulers and self.scheduler not in limits.schedulers:
            raise InvalidRequest(
                "scheduler",
                f"{self.scheduler!r} does not fit model {model_name!r}; choose one of {', '.join(limits.schedulers)}",
            )
        return request

    def _resolved_strength(self) -> float | None:
        if self.kind == "generate":
            return None
        if self.strength is not None:
            return float(self.strength)
        return DEFAULT_INPAINT_STRENGTH if self.kind == "inpaint" else DEFAULT_EDIT_STRENGTH

    def as_json(self) -> dict[str, object]:
        """Every field as JSON values (pictures as base64), for a queue between processes."""
        data: dict[str, object] = dataclasses.asdict(self)
        for name in PICTURE_FIELDS:
            value = getattr(self, name)
            data[name] = base64.b64encode(value).decode("ascii") if value is not None else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, object]) -> GenerationRequest:
        values = dict(data)
        for name in PICTURE_FIELDS:
            value = values.get(name)
            values[name] = base64.b64decode(str(value)) if value else None
        return cls(**values)  # type: ignore[arg-type]

    def image_seeds(self) -> list[int]:
        """The seed of each image: the request's seed, then the next ones (wrapping at 2**32)."""
        if self.seed is None:
            raise ValueError("resolve the request before asking for its seeds")
        return [(self.seed + index) % (MAX_SEED + 1) for index in range(self.n)]


def is_valid_seed(value: object) -> bool:
    """A whole number from 0 to `MAX_SEED` (a JSON true is not one)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_SEED


def _check_text(name: str, value: object, allow_empty: bool) -> None:
    if not isinstance(value, str):
        raise InvalidRequest(name, f"must be a string, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise InvalidRequest(name, "must not be empty")
    if len(value) > MAX_PROMPT_CHARS:
        raise InvalidRequest(name, f"must be at most {MAX_PROMPT_CHARS} characters, got {len(value)}")


def _check_int(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequest(name, f"must be an integer, got {type(value).__name__}")
    if not low <= value <= high:
        raise InvalidRequest(name, f"must be between {low} and {high}, got {value}")


def _check_number(name: str, value: object, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidRequest(name, f"must be a number, got {type(value).__name__}")
    if not low <= value <= high:
        raise InvalidRequest(name, f"must be between {low:g} and {high:g}, got {value}")


class JobState(str, enum.Enum):
    """Where a job is in its life; the last three are final."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


@dataclass(frozen=True)
class Progress:
    """How far a job is: denoising step out of total, and its place in the queue (0 once running)."""

    step: int = 0
    total_steps: int = 0
    queue_position: int = 0


@dataclass(frozen=True)
class Timings:
    """Seconds spent waiting in the queue and running the pipeline."""

    queue_wait_s: float
    run_s: float


@dataclass(frozen=True)
class GeneratedImage:
    """One image with the seed that reproduces it."""

    image: Image.Image
    seed: int
    index: int

    def to_png_bytes(self, request: GenerationRequest) -> bytes:
        """PNG bytes carrying the prompt, seed and model and marked as AI-generated."""
        from engine.metadata import png_bytes_with_metadata

        return png_bytes_with_metadata(self.image, request, self.seed)


@dataclass(frozen=True)
class GenerationResult:
    """What a succeeded job produced: its images (each with its own seed), the resolved request, timings."""

    job_id: str
    request: GenerationRequest
    images: list[GeneratedImage]
    timings: Timings
    batch_size: int = 1

    @property
    def model(self) -> str:
        return self.request.model or ""


@dataclass(frozen=True)
class JobStatus:
    """A snapshot of a job; `version` grows on every change so watchers can wait for the next one."""

    job_id: str
    state: JobState
    progress: Progress
    request: GenerationRequest
    created_at: float
    version: int = 0
    error: str | None = None
    error_kind: str | None = None
    finished_at: float | None = None


@dataclass(frozen=True)
class BatchReport:
    """What an engine tells observers after each pipeline call (for metrics)."""

    model: str
    jobs: int
    images: int
    seconds: float
    outcome: str  # "succeeded", "cancelled", or an error kind such as "out_of_memory"
    #: The jobs the call ran, in their order in the batch.
    job_ids: tuple[str, ...] = ()
    #: The worker that ran it, when the engine is scaled out ("" in-process).
    worker: str = ""


@dataclass
class JobHandle:
    """What `submit` returns: the job id, plus conveniences bound to the engine that holds it."""

    job_id: str
    engine: EngineClient = field(repr=False)

    def status(self) -> JobStatus:
        return self.engine.status(self.job_id)

    def result(self, timeout: float | None = None) -> GenerationResult:
        return self.engine.result(self.job_id, timeout=timeout)

    def cancel(self) -> bool:
        return self.engine.cancel(self.job_id)


class EngineClient(Protocol):
    """What the server needs from an engine, in-process (`LocalEngine`) or over a queue."""

    def submit(self, request: GenerationRequest) -> JobHandle:
        """Validate and enqueue; raises `InvalidRequest`, `ModelNotFound`, `QueueFull` or `EngineClosed` at once."""
        ...

    def status(self, job_id: str) -> JobStatus:
        """The job's current snapshot; raises `UnknownJob`."""
        ...

    def watch(self, job_id: str, after_version: int, timeout: float) -> JobStatus:
        """Block until the job's version passes `after_version` (or `timeout`), then return its snapshot."""
        ...

    def result(self, job_id: str, timeout: float | None = None) -> GenerationResult:
        """Wait for the job; return its result or raise `JobFailed`, `JobCancelled`, `TimeoutError`."""
        ...

    def cancel(self, job_id: str) -> bool:
        """Cancel a queued or running job; False if it had already finished."""
        ...

    def forget(self, job_id: str) -> None:
        """The caller has recorded a finished job's images: drop what the engine keeps of it (memory, Redis,
        shared files) now rather than when it expires. Unknown or unfinished jobs are left alone."""
        ...

    def model_names(self) -> list[str]:
        """The names of the models this engine can serve, the default first."""
        ...

    def is_ready(self) -> bool:
        """True once the default model is loaded and the engine takes work."""
        ...

    def queue_depth(self) -> int:
        """How many jobs are waiting (not yet running), across all models."""
        ...

    def limits(self, model: str | None = None) -> ModelLimits:
        """What `model` (None: the default) accepts: sizes, steps and defaults; raises `ModelNotFound`."""
        ...

    def observe_batches(self, observer: Callable[[BatchReport], None]) -> None:
        """Call `observer` after every pipeline call (for metrics)."""
        ...

    def close(self, wait: bool = True, timeout: float | None = None) -> None:
        """Stop taking work, cancel what is queued, let the running batch finish (waiting up to `timeout`)."""
        ...
