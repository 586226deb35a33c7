"""Whether the client of the current request is still connected, for work that should stop when it leaves.

WSGI has no disconnect signal; gunicorn and Werkzeug's server both put the client socket in the environ, and
a socket that reads as closed without blocking means the client hung up.
"""

from __future__ import annotations

import _socket
import select
import socket
from typing import Any


def client_disconnected(environ: dict[str, Any]) -> bool:
    """True when the request's client closed its connection (unknown servers: always False)."""
    sock = environ.get("gunicorn.socket") or environ.get("werkzeug.socket")
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        # Peek below TLS at the raw TCP stream: b"" is the client's FIN.
        return _socket.socket.recv(sock, 1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except (OSError, ValueError):
        return True
