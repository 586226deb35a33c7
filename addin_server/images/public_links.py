"""Public links to pictures: unguessable, expiring URLs that Teams and Copilot fetch without the user's token.

A link carries the image id, the largest side to serve and when it expires, signed with the server's secret
(itsdangerous, as Flask signs its session cookie). Anything altered, forged or expired reads as no link at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer

#: Teams shows card pictures of at most 1024×1024.
CARD_SIDE = 1024
#: Search results and Copilot's thumbnails.
THUMBNAIL_SIDE = 256
SIDES = (CARD_SIDE, THUMBNAIL_SIDE)


@dataclass(frozen=True)
class PublicLink:
    """What a valid link names: an image, at most `side` pixels wide and high."""

    image_id: str
    side: int
    expires_at: float


class PublicLinks:
    """Makes and reads link tokens; a token is valid for `ttl_s` seconds from when it was made."""

    def __init__(self, secret_key: str, ttl_s: float, clock: Callable[[], float] = time.time) -> None:
        self._serializer = URLSafeSerializer(secret_key, salt="public-image-link")
        self.ttl_s = ttl_s
        self._clock = clock

    def token(self, image_id: str, side: int = CARD_SIDE) -> str:
        if side not in SIDES:
            raise ValueError(f"side must be one of {SIDES}, got {side}")
        return self._serializer.dumps([image_id, side, int(self._clock() + self.ttl_s)])

    def read(self, token: str) -> PublicLink | None:
        """The link `token` names, or None if it is not one of ours, was altered or has expired."""
        try:
            image_id, side, expires_at = self._serializer.loads(token)
        except (BadSignature, ValueError, TypeError):
            return None
        if not isinstance(image_id, str) or side not in SIDES or not isinstance(expires_at, int):
            return None
        if expires_at <= self._clock():
            return None
        return PublicLink(image_id, side, expires_at)
