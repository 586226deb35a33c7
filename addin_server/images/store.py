"""The image store: PNG files plus job and image metadata in SQLite, under the instance folder.

Every row has an owner and every read takes one, so a user can only ever reach their own jobs and images.
A connection per call keeps it safe across request threads and across gunicorn worker processes.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from addin_server.database import transaction
from engine.api import PICTURE_FIELDS, GenerationRequest, JobState

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    state TEXT NOT NULL,
    request TEXT NOT NULL,
    created_at REAL NOT NULL,
    finished_at REAL,
    error TEXT,
    error_kind TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_owner ON jobs (owner, created_at DESC);
CREATE TABLE IF NOT EXISTS images (
    id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    owner TEXT NOT NULL,
    position INTEGER NOT NULL,
    seed INTEGER NOT NULL,
    model TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    prompt TEXT NOT NULL,
    created_at REAL NOT NULL,
    file TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS images_by_job ON images (job_id, position);
CREATE INDEX IF NOT EXISTS images_by_owner ON images (owner, created_at DESC);
"""


@dataclass(frozen=True)
class ImageRecord:
    """One stored PNG and what made it."""

    id: str
    job_id: str
    owner: str
    index: int
    seed: int
    model: str
    width: int
    height: int
    prompt: str
    created_at: float
    file: str


@dataclass(frozen=True)
class JobRecord:
    """A job as remembered after the engine has forgotten it: the request, how it ended, its images."""

    id: str
    owner: str
    state: JobState
    request: dict[str, object]
    created_at: float
    finished_at: float | None = None
    error: str | None = None
    error_kind: str | None = None
    images: list[ImageRecord] = field(default_factory=list)


@dataclass(frozen=True)
class NewImage:
    """An image to store: its PNG bytes (metadata already inside) and its seed and place in the job."""

    png: bytes
    seed: int
    index: int


class ImageStore:
    """Jobs and images on disk; `folder` holds `images.sqlite3` and `images/`."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.files = self.folder / "images"
        self.files.mkdir(parents=True, exist_ok=True)
        self.database = self.folder / "images.sqlite3"
        with self._connect() as connection:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.executescript(_SCHEMA)

    def _connect(self):
        # With WAL, synchronous=NORMAL never corrupts the database; a power cut may lose the last commits only.
        return transaction(self.database, ("foreign_keys=ON", "synchronous=NORMAL"))

    # -- writing ---------------------------------------------------------------------------------------

    def add_job(self, job_id: str, owner: str, request: GenerationRequest, created_at: float | None = None) -> None:
        """Remember a job the moment the engine accepted it."""
        stored = {
            key: value
            for key, value in asdict(request).items()
            if key != "owner" and key not in PICTURE_FIELDS  # the pictures an edit started from are not kept
        }
        if request.kind != "generate":
            stored["kind"] = request.kind
        with self._connect() as connection:
            connection.execute(
                "INSERT INTO jobs (id, owner, state, request, created_at) VALUES (?, ?, ?, ?, ?)",
                (job_id, owner, JobState.QUEUED.value, json.dumps(stored), created_at or time.time()),
            )

    def finish_job(
        self,
        job_id: str,
        state: JobState,
        images: list[NewImage] = (),  # type: ignore[assignment]
        error: str | None = None,
        error_kind: str | None = None,
    ) -> bool:
        """Write the job's PNG files, then record how it ended and its images in one transaction; False (and
        nothing written) when the job has already ended: another process of the web tier recorded it first."""
        now = time.time()
        with self._connect() as connection:
            connection.execute("BEGIN IMMEDIATE")  # one recorder at a time, across processes
            row = connection.execute("SELECT owner, request, state FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise KeyError(job_id)
            if JobState(row["state"]).is_final:
                return False
            request = json.loads(row["request"])
            for image in images:
                image_id = uuid.uuid4().hex
                relative = f"{image_id[:2]}/{image_id}.png"
                path = self.files / relative
                path.parent.mkdir(exist_ok=True)
                path.write_bytes(image.png)
                connection.execute(
                    "INSERT INTO images (id, job_id, owner, position, seed, model, width, height, prompt, created_at,"
                    " file)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        image_id,
                        job_id,
                        row["owner"],
                        image.index,
                        image.seed,
                        request.get("model") or "",
                        request["width"],
                        request["height"],
                        request["prompt"],
                        now,
                        relative,
                    ),
                )
            connection.execute(
                "UPDATE jobs SET state = ?, finished_at = ?, error = ?, error_kind = ? WHERE id = ?",
                (state.value, now, error, error_kind, job_id),
            )
        return True

    def cancel_unfinished(self, reason: str) -> int:
        """Mark jobs left queued or running by a stopped server as cancelled; returns how many."""
        with self._connect() as connection:
            cursor = connection.execute(
                "UPDATE jobs SET state = ?, finished_at = ?, error = ?, error_kind = 'shutdown' WHERE state IN (?, ?)",
                (JobState.CANCELLED.value, time.time(), reason, JobState.QUEUED.value, JobState.RUNNING.value),
            )
            return cursor.rowcount

    def unfinished_job_ids(self) -> list[str]:
        """Jobs still queued or running, oldest first."""
        with self._connect() as connection:
            rows = connection.execute(
                "SELECT id FROM jobs WHERE state IN (?, ?) ORDER BY created_at",
                (JobState.QUEUED.value, JobState.RUNNING.value),
            ).fetchall()
            return [row["id"] for row in rows]

    def delete_older_than(self, cutoff: float) -> int:
        """Delete finished jobs created before `cutoff` (unix seconds) with their image files; returns how many."""
        with self._connect() as connection:
            old = [
                row["id"]
                for row in connection.execute(
                    "SELECT id FROM jobs WHERE created_at < ? AND finished_at IS NOT NULL", (cutoff,)
                )
            ]
            for job_id in old:
                for image in connection.execute("SELECT file FROM images WHERE job_id = ?", (job_id,)):
                    (self.files / image["file"]).unlink(missing_ok=True)
                connection.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
            return len(old)

    # -- reading (always for one owner) ----------------------------------------------------------------

    def job(self, job_id: str, owner: str) -> JobRecord | None:
        with self._connect() as connection:
            row = connection.execute("SELECT * FROM jobs WHERE id = ? AND owner = ?", (job_id, owner)).fetchone()
            return self._job_record(connection, row) if row is not None else None

    def jobs(self, owner: str, limit: int = 20, before: float | None = None) -> list[JobRecord]:
        """The owner's most recent jobs, newest first; `before` pages back by creation time."""
        with self._connect() as connection:
            rows = connection.execute(
                "SELECT * FROM jobs WHERE owner = ? AND created_at < ? ORDER BY created_at DESC LIMIT ?",
                (owner, before if before is not None else float("inf"), limit),
            ).fetchall()
            return [self._job_record(connection, row) for row in rows]

    def image(self, image_id: str, owner: str) -> ImageRecord | None:
        with self._connect() as connection:
            row = connection.execute("SELECT * FROM images WHERE id = ? AND owner = ?", (image_id, owner)).fetchone()
            return _image_record(row) if row is not None else None

    def search_images(self, owner: str, text: str = "", skip: int = 0, count: int = 25) -> list[ImageRecord]:
        """The owner's images whose prompt contains `text` (any case; empty: all), newest first."""
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self._connect() as connection:
            rows = connection.execute(
                "SELECT * FROM images WHERE owner = ? AND prompt LIKE ? ESCAPE '\\'"
                " ORDER BY created_at DESC, position LIMIT ? OFFSET ?",
                (owner, pattern, count, skip),
            ).fetchall()
            return [_image_record(row) for row in rows]

    def image_for_link(self, image_id: str) -> ImageRecord | None:
        """Any owner's image: only for a public link, whose signature names the image (`public_links.py`)."""
        with self._connect() as connection:
            row = connection.execute("SELECT * FROM images WHERE id = ?", (image_id,)).fetchone()
            return _image_record(row) if row is not None else None

    def delete_image(self, image_id: str, owner: str) -> bool:
        """Delete the owner's image and its file; False when there is no such image of theirs."""
        with self._connect() as connection:
            row = connection.execute("SELECT file FROM images WHERE id = ? AND owner = ?", (image_id, owner)).fetchone()
            if row is None:
                return False
            connection.execute("DELETE FROM images WHERE id = ?", (image_id,))
        (self.files / row["file"]).unlink(missing_ok=True)
        return True

    def image_path(self, image: ImageRecord) -> Path:
        return self.files / image.file

    def _job_record(self, connection: sqlite3.Connection, row: sqlite3.Row) -> JobRecord:
        images = connection.execute("SELECT * FROM images WHERE job_id = ? ORDER BY position", (row["id"],))
        return JobRecord(
            id=row["id"],
            owner=row["owner"],
            state=JobState(row["state"]),
            request=json.loads(row["request"]),
            created_at=row["created_at"],
            finished_at=row["finished_at"],
            error=row["error"],
            error_kind=row["error_kind"],
            images=[_image_record(image) for image in images],
        )


def _image_record(row: sqlite3.Row) -> ImageRecord:
    return ImageRecord(
        id=row["id"],
        job_id=row["job_id"],
        owner=row["owner"],
        index=row["position"],
        seed=row["seed"],
        model=row["model"],
        width=row["width"],
        height=row["height"],
        prompt=row["prompt"],
        created_at=row["created_at"],
        file=row["file"],
    )
