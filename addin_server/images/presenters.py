"""How jobs and images look in JSON: one function per object, used by every route and the event stream."""

from __future__ import annotations

from typing import Any

from flask import url_for

from addin_server.images.jobs import JobView
from addin_server.images.store import ImageRecord
from addin_server.public_urls import external_url
from addin_server.services import services
from engine.api import JobState


def image_json(image: ImageRecord) -> dict[str, Any]:
    return {
        "id": image.id,
        "url": image_url(image.id),
        "seed": image.seed,
        "index": image.index,
        "width": image.width,
        "height": image.height,
    }


def image_url(image_id: str) -> str:
    return external_url("image_files.image_file", image_id=image_id)


def job_json(view: JobView) -> dict[str, Any]:
    """A job for its owner: request, state, progress, images (once succeeded) and error (once failed)."""
    record = view.record
    error = None
    if view.state in (JobState.FAILED, JobState.CANCELLED):
        error = {"message": record.error or view.state.value, "code": record.error_kind or view.state.value}
    return {
        "id": record.id,
        "object": "job",
        "status": view.state.value,
        "created_at": record.created_at,
        "finished_at": record.finished_at if view.state.is_final else None,
        "request": record.request,
        #: Words of the prompt this model does not know, and so left out.
        "ignored_words": services().jobs.ignored_words(record),
        "progress": {
            "step": view.progress.step,
            "total_steps": view.progress.total_steps,
            "queue_position": view.progress.queue_position,
        },
        "images": [image_json(image) for image in record.images] if view.state is JobState.SUCCEEDED else [],
        "error": error,
        "links": {
            "self": url_for("jobs.get_job", job_id=record.id),
            "events": url_for("jobs.job_events", job_id=record.id),
        },
    }
