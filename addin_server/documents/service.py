"""Document jobs for the server: plan at once (bad input fails before any work), generate and assemble on a
thread, keep the result file for its owner. Progress counts images done.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from addin_server.database import transaction
from addin_server.documents.errors import DocumentError
from addin_server.documents.fill import CONTENT_TYPES, DocumentPlan
from addin_server.documents.images import MAX_PICTURE_PIXELS, Cancelled, ImageMaker
from addin_server.errors import NotFound, TooManyRequests
from engine.api import EngineClient, JobState
from engine.errors import EngineError

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, kind TEXT NOT NULL, state TEXT NOT NULL, filename TEXT NOT NULL,
    images_done INTEGER NOT NULL, images_total INTEGER NOT NULL, created_at REAL NOT NULL, finished_at REAL,
    error TEXT, error_code TEXT, notes TEXT
);
CREATE INDEX IF NOT EXISTS documents_by_owner ON documents (owner, created_at DESC);
"""


#: Documents opened and laid out at once; more wait their turn (planning a big file takes memory and CPU).
PLANNERS = 2


class TooManyDocuments(TooManyRequests):
    """The user already has the most documents in progress allowed."""

    code = "too_many_documents"


class DocumentNotFound(NotFound):
    """No document with that id belongs to the caller (it may be someone else's)."""

    code = "document_not_found"


@dataclass(frozen=True)
class DocumentJob:
    """A document being made, or made: `kind` is pptx or docx; `filename` is what the download is called."""

    id: str
    owner: str
    kind: str
    state: JobState
    filename: str
    images_done: int
    images_total: int
    created_at: float
    finished_at: float | None = None
    error: str | None = None
    error_code: str | None = None
    #: What the document left alone, and why (e.g. a linked picture that is never fetched).
    notes: tuple[str, ...] = ()

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.kind]


class DocumentService:
    """Runs document plans; one thread per document, at most `max_per_user` unfinished per user."""

    def __init__(
        self,
        engine: EngineClient,
        database: Path,
        folder: Path,
        max_per_user: int = 2,
        retention_days: float = 30.0,
        max_images: int = 100,
        max_picture_pixels: int = MAX_PICTURE_PIXELS,
    ) -> None:
        """Keep document jobs in `database` (the image store's, so one file holds every job) and the finished
        files under `folder`/documents."""
        self.engine = engine
        self.files = Path(folder) / "documents"
        self.files.mkdir(parents=True, exist_ok=True)
        self.database = Path(database)
        self.max_per_user = max_per_user
        self.retention_days = retention_days
        self._live: dict[str, DocumentJob] = {}
        self._cancel: set[str] = set()
        self._threads: dict[str, threading.Thread] = {}
        self.max_images = max_images
        self.max_picture_pixels = max_picture_pixels
        self._lock = threading.Lock()
        #: Slots taken by documents still being planned: job id -> owner.
        self._planning: dict[str, str] = {}
        self._planners = ThreadPoolExecutor(PLANNERS, thread_name_prefix="document-planner")
        with self._connect() as connection:
            connection.executescript(_SCHEMA)
            columns = {row["name"] for row in connection.execute("PRAGMA table_info(documents)")}
            if "notes" not in columns:  # a database from before documents had notes
                connection.execute("ALTER TABLE documents ADD COLUMN notes TEXT")
            connection.execute(
                "UPDATE documents SET state = ?, error = 'the server stopped before it finished',"
                " error_code = 'shutdown',"
                " finished_at = ? WHERE state IN ('queued', 'running')",
                (JobState.CANCELLED.value, time.time()),
            )
        self._delete_expired()

    def _connect(self):
        return transaction(self.database)

    # -- starting ------------------------------------------------------------------------------------------

    def maker(self, owner: str, model: str | None, seed: int | None, seed_policy: str) -> ImageMaker:
        """Makes the document's pictures as `owner`'s jobs, so the engine's fairness and caps apply to them."""
        return ImageMaker(
            self.engine,
            model=model,
            seed=seed,
            seed_policy=seed_policy,
            owner=owner,
            max_images=self.max_images,
            max_picture_pixels=self.max_picture_pixels,
        )

    def start(self, owner: str, filename: str, make_plan: Callable[[], DocumentPlan], maker: ImageMaker) -> DocumentJob:
        """Take one of the owner's slots at once, plan in the bounded planning pool (raising `DocumentError` for
        bad input, before any image), then generate and assemble on a thread."""
        # 1. The slot, taken atomically: parallel requests cannot all pass the count before any is planned.
        job_id = uuid.uuid4().hex
        with self._lock:
            unfinished = sum(1 for job in self._live.values() if job.owner == owner and not job.state.is_final)
            unfinished += sum(1 for holder in self._planning.values() if holder == owner)
            if unfinished >= self.max_per_user:
                raise TooManyDocuments(
                    f"you already have {unfinished} documents in progress (limit {self.max_per_user})"
                )
            self._planning[job_id] = owner
        # 2. The plan, off the request thread: at most PLANNERS documents are opened and laid out at once.
        try:
            plan = self._planners.submit(make_plan).result()
            maker.check_image_count(len(plan.orders))  # planners count before any work; this is the last word
        finally:
            with self._lock:
                del self._planning[job_id]
        # 3. The job, recorded, and its images made on a thread of its own.
        stem = Path(filename).stem or "document"
        job = DocumentJob(
            id=job_id,
            owner=owner,
            kind=plan.kind,
            state=JobState.QUEUED,
            filename=f"{stem}.{plan.kind}",
            images_done=0,
            images_total=len(plan.orders),
            created_at=time.time(),
            notes=tuple(plan.notes),
        )
        with self._connect() as connection:
            connection.execute(
                "INSERT INTO documents (id, owner, kind, state, filename, images_done, images_total, created_at,"
                " notes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job.id,
                    owner,
                    job.kind,
                    job.state.value,
                    job.filename,
                    0,
                    job.images_total,
                    job.created_at,
                    json.dumps(list(job.notes)),
                ),
            )
        with self._lock:
            self._live[job.id] = job
            thread = threading.Thread(target=self._run, args=(job.id, plan, maker), name="document", daemon=True)
            self._threads[job.id] = thread
        thread.start()
        return job

    def _run(self, job_id: str, plan: DocumentPlan, maker: ImageMaker) -> None:
        self._update(job_id, state=JobState.RUNNING)
        try:
            filled = plan.run(
                maker,
                on_progress=lambda done, total: self._update(job_id, images_done=done),
                cancelled=lambda: job_id in self._cancel,
            )
            (self.files / f"{job_id}.{filled.kind}").write_bytes(filled.data)
            self._finish(job_id, JobState.SUCCEEDED)
        except Cancelled:
            self._finish(job_id, JobState.CANCELLED, "cancelled", "cancelled")
        except (DocumentError, EngineError) as error:
            self._finish(
                job_id, JobState.FAILED, str(error), getattr(error, "code", None) or getattr(error, "kind", "failed")
            )
        except Exception:
            log.exception("document %s failed", job_id)
            self._finish(job_id, JobState.FAILED, "internal error while assembling the document", "internal_error")

    def _update(self, job_id: str, **changes) -> None:
        with self._lock:
            self._live[job_id] = replace(self._live[job_id], **changes)

    def _finish(self, job_id: str, state: JobState, error: str | None = None, code: str | None = None) -> None:
        self._update(job_id, state=state, error=error, error_code=code, finished_at=time.time())
        job = self._live[job_id]
        with self._connect() as connection:
            connection.execute(
                "UPDATE documents SET state = ?, images_done = ?, finished_at = ?, error = ?, error_code = ?"
                " WHERE id = ?",
                (state.value, job.images_done, job.finished_at, error, code, job_id),
            )

    # -- reading and cancelling ------------------------------------------------------------------------------

    def get(self, job_id: str, owner: str) -> DocumentJob:
        """The owner's document job; `DocumentNotFound` for an unknown id or someone else's."""
        job = self._find(job_id, owner)
        if job is None:
            raise DocumentNotFound(f"no document {job_id!r}")
        return job

    def _find(self, job_id: str, owner: str) -> DocumentJob | None:
        with self._lock:
            live = self._live.get(job_id)
        if live is not None:
            return live if live.owner == owner else None
        with self._connect() as connection:
            row = connection.execute("SELECT * FROM documents WHERE id = ? AND owner = ?", (job_id, owner)).fetchone()
        return _job(row) if row is not None else None

    def list(self, owner: str, limit: int = 20) -> list[DocumentJob]:
        """The owner's documents, newest first."""
        with self._connect() as connection:
            rows = connection.execute(
                "SELECT id FROM documents WHERE owner = ? ORDER BY created_at DESC LIMIT ?", (owner, limit)
            ).fetchall()
        return [job for job in (self._find(row["id"], owner) for row in rows) if job is not None]

    def file_path(self, job: DocumentJob) -> Path:
        return self.files / f"{job.id}.{job.kind}"

    def cancel(self, job_id: str, owner: str) -> DocumentJob:
        """Stop the owner's document at its next image; a finished one is left as it is."""
        job = self.get(job_id, owner)
        if not job.state.is_final:
            self._cancel.add(job_id)
            with self._lock:
                thread = self._threads.get(job_id)
            if thread is not None:
                thread.join(timeout=10)
            job = self.get(job_id, owner)
        return job

    def close(self, timeout: float | None = None) -> None:
        """Cancel documents in progress and wait for their threads (call before the engine closes)."""
        with self._lock:
            self._cancel.update(job_id for job_id, job in self._live.items() if not job.state.is_final)
            threads = list(self._threads.values())
        self._planners.shutdown(wait=False, cancel_futures=True)
        for thread in threads:
            thread.join(timeout)

    def _delete_expired(self) -> None:
        if self.retention_days <= 0:
            return
        cutoff = time.time() - self.retention_days * 86400
        with self._connect() as connection:
            for row in connection.execute("SELECT id, kind FROM documents WHERE created_at < ?", (cutoff,)).fetchall():
                (self.files / f"{row['id']}.{row['kind']}").unlink(missing_ok=True)
            connection.execute("DELETE FROM documents WHERE created_at < ?", (cutoff,))


def _job(row: sqlite3.Row) -> DocumentJob:
    return DocumentJob(
        id=row["id"],
        owner=row["owner"],
        kind=row["kind"],
        state=JobState(row["state"]),
        filename=row["filename"],
        images_done=row["images_done"],
        images_total=row["images_total"],
        created_at=row["created_at"],
        finished_at=row["finished_at"],
        error=row["error"],
        error_code=row["error_code"],
        notes=tuple(json.loads(row["notes"] or "[]")),
    )
