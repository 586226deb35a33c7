"""How many thread-holding requests each user has: a progress stream, or a request that waits for its pictures,
holds a server thread for its life, so one user may hold only a few and never all of them."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from addin_server.errors import TooManyRequests


class RequestSlots:
    """Slots per user for one kind of long request; each request takes one for its life."""

    def __init__(self, per_user: int, what: str, code: str) -> None:
        """`what` names the requests in the refusal ("progress streams open"), `code` is its error code."""
        self.per_user = per_user
        self.what = what
        self.code = code
        self._open: dict[str, int] = {}
        self._lock = threading.Lock()

    def take(self, owner: str) -> Callable[[], None]:
        """Take one of `owner`'s slots (`TooManyRequests` when all are in use); returns what gives it back."""
        with self._lock:
            if self._open.get(owner, 0) >= self.per_user:
                raise TooManyRequests(
                    f"you already have {self.per_user} {self.what}; wait for one to end first",
                    self.code,
                    retry_after_s=1.0,
                )
            self._open[owner] = self._open.get(owner, 0) + 1
        released = threading.Event()

        def give_back() -> None:
            with self._lock:
                if not released.is_set():
                    released.set()
                    self._open[owner] -= 1

        return give_back

    @contextmanager
    def held(self, owner: str) -> Iterator[None]:
        """One of `owner`'s slots for the duration of a `with` block."""
        give_back = self.take(owner)
        try:
            yield
        finally:
            give_back()
