"""The folder every web and worker process mounts (ENGINE_SHARED_DIR): workers write a job's pictures there, the
web tier reads them once and deletes them.

Nothing read from Redis is trusted as a path: job ids must be 32 hex digits, every file must resolve inside the
folder, and only PNG files of at most `MAX_SIDE`² pixels are opened.
"""

from __future__ import annotations

import re
import shutil
import time
import warnings
from pathlib import Path

from PIL import Image

from engine.api import MAX_SIDE

_JOB_ID = re.compile(r"[0-9a-f]{32}")
#: A generated picture is never larger than the largest side squared.
MAX_PICTURE_PIXELS = MAX_SIDE * MAX_SIDE


class UnsafePath(ValueError):
    """A job id or file name (read from Redis) that would lead outside the shared folder, or not to a PNG."""


def is_job_id(value: object) -> bool:
    """A job id as the engine makes them: 32 lowercase hex digits (`uuid4().hex`)."""
    return isinstance(value, str) and _JOB_ID.fullmatch(value) is not None


class SharedFolder:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def job_folder(self, job_id: str) -> Path:
        if not is_job_id(job_id):
            raise UnsafePath(f"not a job id: {job_id!r}")
        return self.root / job_id

    def picture_path(self, job_id: str, name: str) -> Path:
        """The path of a picture file of `job_id` named `<job id>/<file>.png`, checked to stay in its folder."""
        folder = self.job_folder(job_id)
        path = (self.root / name).resolve()
        if path.parent != folder or path.suffix != ".png":
            raise UnsafePath(f"job {job_id}'s picture {name!r} is not a PNG file in its own folder")
        return path

    def read_picture(self, job_id: str, name: str) -> Image.Image:
        """A job's picture, opened as PNG only and refused past `MAX_PICTURE_PIXELS` before it is decoded."""
        path = self.picture_path(job_id, name)
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=["PNG"]) as picture:
                if picture.width * picture.height > MAX_PICTURE_PIXELS:
                    raise UnsafePath(f"job {job_id}'s picture {name!r} is {picture.width}×{picture.height} pixels")
                return picture.copy()

    def remove_job(self, job_id: str) -> None:
        """Delete a job's pictures (once they are recorded, or when the job is forgotten)."""
        shutil.rmtree(self.job_folder(job_id), ignore_errors=True)

    def sweep(self, older_than_s: float) -> int:
        """Delete job folders nobody collected for `older_than_s` (their web process stopped); how many."""
        cutoff = time.time() - older_than_s
        removed = 0
        for folder in self.root.glob("*") if self.root.is_dir() else ():
            if folder.is_dir() and is_job_id(folder.name) and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        return removed
