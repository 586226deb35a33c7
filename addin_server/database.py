"""SQLite under the instance folder: one short-lived connection per unit of work, so request threads and
gunicorn worker processes can share a database file safely."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def transaction(database: Path, pragmas: tuple[str, ...] = ()) -> Iterator[sqlite3.Connection]:
    """A connection with rows by column name; commits on success, rolls back on an exception, then closes."""
    connection = sqlite3.connect(database, timeout=30)
    connection.row_factory = sqlite3.Row
    for pragma in pragmas:
        connection.execute(f"PRAGMA {pragma}")
    try:
        with connection:
            yield connection
    finally:
        connection.close()
