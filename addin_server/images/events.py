"""Server-Sent Events for one job: `progress` on every change (step, state, queue position), then one
final event named after the end state (`succeeded`, `failed`, `cancelled`), then the stream closes.

Each stream holds a server thread, so a user has a few at a time (`request_slots.py`) and each lives a bounded time;
a client whose stream ends before its job does opens another.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from addin_server.connection import client_disconnected
from addin_server.images.jobs import JobService, JobView
from addin_server.images.presenters import job_json

POLL_INTERVAL_S = 1.0
KEEPALIVE_INTERVAL_S = 15.0


def job_event_stream(
    jobs: JobService, first: JobView, owner: str, environ: dict[str, Any], lifetime_s: float
) -> Iterator[str]:
    """Yield SSE frames until the job ends, the client leaves or `lifetime_s` passes (the job keeps running)."""
    view = first
    sent = job_json(view)
    yield _frame(view, sent)
    last_write = time.monotonic()
    ends = last_write + lifetime_s
    while not view.state.is_final and time.monotonic() < ends:
        view = jobs.next_view(view, owner, timeout=POLL_INTERVAL_S)
        body = job_json(view)
        if body != sent:
            sent = body
            yield _frame(view, body)
            last_write = time.monotonic()
        elif time.monotonic() - last_write > KEEPALIVE_INTERVAL_S:
            yield ": keep-alive\n\n"
            last_write = time.monotonic()
        if client_disconnected(environ):
            return


def _frame(view: JobView, body: dict[str, Any]) -> str:
    event = view.state.value if view.state.is_final else "progress"
    return f"event: {event}\ndata: {json.dumps(body, separators=(',', ':'))}\n\n"
