"""How many progress streams each user has open: each holds a server thread for its life, so one user may
keep only a few."""

from __future__ import annotations

import threading
from collections.abc import Callable

from addin_server.errors import TooManyRequests


class StreamSlots:
    """How many event streams each user has open; a stream takes one slot for its life."""

    def __init__(self, per_user: int) -> None:
        self.per_user = per_user
        self._open: dict[str, int] = {}
        self._lock = threading.Lock()

    def take(self, owner: str) -> Callable[[], None]:
        """Take one of `owner`'s slots (`TooManyRequests` when all are in use); returns what gives it back."""
        with self._lock:
            if self._open.get(owner, 0) >= self.per_user:
                raise TooManyRequests(
                    f"you already have {self.per_user} progress streams open; close one first", "too_many_streams"
                )
            self._open[owner] = self._open.get(owner, 0) + 1
        released = threading.Event()

        def give_back() -> None:
            with self._lock:
                if not released.is_set():
                    released.set()
                    self._open[owner] -= 1

        return give_back
