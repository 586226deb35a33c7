"""The audit log: one JSON line per generation (who, which tenant, model, how many, what size, the prompt or
its hash), on the `addin_server.audit` logger so operators can route it apart from the access log.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time

from addin_server.auth import User
from addin_server.services import services
from engine.api import GenerationRequest

log = logging.getLogger("addin_server.audit")


def audit_generation(user: User, request: GenerationRequest, kind: str, job_id: str) -> None:
    """Record one accepted image request."""
    size = f"{request.width}x{request.height}" if request.width else "default"
    audit(user, kind, job_id, request.model, request.n, size, request.prompt)


def audit(user: User, kind: str, job_id: str, model: str | None, n: int, size: str, prompt: str) -> None:
    """One JSON line; the prompt is kept whole, hashed or left out as AUDIT_PROMPTS says."""
    tenant, person = user.id.split(":", 1) if ":" in user.id else ("local", user.id)
    entry: dict[str, object] = {
        "time": round(time.time(), 3),
        "event": kind,
        "job": job_id,
        "tenant": tenant,
        "user": person,
        "model": model or "default",
        "n": n,
        "size": size,
    }
    policy = services().config.identity.audit_prompts
    if policy == "full":
        entry["prompt"] = prompt
    elif policy == "hash":
        entry["prompt_sha256"] = hashlib.sha256(prompt.encode()).hexdigest()
    log.info(json.dumps(entry, ensure_ascii=False))
