"""The job board: what the web tier and the GPU workers share in Redis when the engine is scaled out.

Each job is a hash (`job:<id>`: request, owner, state, progress, version, images, attempt); the pictures an edit
starts from sit apart in `job:<id>:pictures`, read once by the worker, so polling a job moves a few bytes.
Waiting jobs sit in one list per owner and model, with a ring of the owners that have any, so a worker takes
owners round-robin, as the in-process queue does. A job a worker holds keeps a heartbeat key alive; when it
lapses (the worker was killed) the job goes back to the front of its owner's line and the owner to the end of
the ring, until it has been lost `MAX_LOST` times: then it fails. Every change is one Lua script, so two
processes never see half of one, and only the current attempt may finish a job, so a user gets exactly one set
of images. A finished job's hash expires after the engine's result time.

No torch here: the web tier imports it.
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any, cast

import redis

from engine.api import PICTURE_FIELDS, GenerationRequest, JobState
from engine.shared_folder import is_job_id

PREFIX = "addin:"

#: A job whose worker was lost this many times fails instead of running again.
MAX_LOST = 3

#: KEYS: job, owner line, ring, queued, owner images, pictures. ARGV: id, owner, fields json, images, max queue,
#: cap, now, pictures json ('' for none).
_SUBMIT = """
if redis.call('ZCARD', KEYS[4]) >= tonumber(ARGV[5]) then return 'queue_full' end
local waiting = tonumber(redis.call('HGET', KEYS[5], ARGV[2]) or '0')
if tonumber(ARGV[6]) > 0 and waiting + tonumber(ARGV[4]) > tonumber(ARGV[6]) then return 'owner_full' end
local fields = cjson.decode(ARGV[3])
for name, value in pairs(fields) do redis.call('HSET', KEYS[1], name, value) end
if ARGV[8] ~= '' then redis.call('SET', KEYS[6], ARGV[8]) end
redis.call('RPUSH', KEYS[2], ARGV[1])
if redis.call('LLEN', KEYS[2]) == 1 then redis.call('RPUSH', KEYS[3], ARGV[2]) end
redis.call('ZADD', KEYS[4], ARGV[7], ARGV[1])
redis.call('HINCRBY', KEYS[5], ARGV[2], ARGV[4])
return 'ok'
"""

#: KEYS: ring, queued, running, owner images. ARGV: line prefix, job prefix, worker, alive ttl s, now.
#: Takes the next job round-robin across owners; returns its id or false.
_TAKE = """
local owners = redis.call('LLEN', KEYS[1])
for _ = 1, owners do
  local owner = redis.call('LPOP', KEYS[1])
  if not owner then return false end
  local line = ARGV[1] .. owner
  local job = redis.call('LPOP', line)
  if redis.call('LLEN', line) > 0 then redis.call('RPUSH', KEYS[1], owner) end
  if job then
    local key = ARGV[2] .. job
    redis.call('ZREM', KEYS[2], job)
    redis.call('ZADD', KEYS[3], ARGV[5], job)
    redis.call('HINCRBY', KEYS[4], owner, -tonumber(redis.call('HGET', key, 'n') or '0'))
    local attempt = redis.call('HINCRBY', key, 'attempt', 1)
    redis.call('HSET', key, 'worker', ARGV[3])
    redis.call('SET', key .. ':alive', attempt, 'EX', ARGV[4])
    return {job, attempt}
  end
end
return false
"""

#: KEYS: job, running. ARGV: attempt, fields json, finished ttl s. Applies `fields` only while `attempt` is
#: current and the job has not ended; bumps the version. Returns 1 if applied.
_UPDATE = """
if redis.call('HGET', KEYS[1], 'attempt') ~= ARGV[1] then return 0 end
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'succeeded' or state == 'failed' or state == 'cancelled' then return 0 end
local fields = cjson.decode(ARGV[2])
for name, value in pairs(fields) do redis.call('HSET', KEYS[1], name, value) end
redis.call('HINCRBY', KEYS[1], 'version', 1)
local final = fields['state']
if final == 'succeeded' or final == 'failed' or final == 'cancelled' then
  redis.call('ZREM', KEYS[2], redis.call('HGET', KEYS[1], 'id'))
  redis.call('DEL', KEYS[1] .. ':alive', KEYS[1] .. ':pictures')
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end
return 1
"""

#: KEYS: job, owner line, ring, queued, owner images. ARGV: id, owner, now, finished ttl s. A waiting job is
#: cancelled at once (1); a held one is asked to stop at its next step (2); an ended one is left alone (0).
_CANCEL = """
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'succeeded' or state == 'failed' or state == 'cancelled' then return 0 end
if redis.call('LREM', KEYS[2], 0, ARGV[1]) > 0 then
  if redis.call('LLEN', KEYS[2]) == 0 then redis.call('LREM', KEYS[3], 0, ARGV[2]) end
  redis.call('ZREM', KEYS[4], ARGV[1])
  redis.call('HINCRBY', KEYS[5], ARGV[2], -tonumber(redis.call('HGET', KEYS[1], 'n') or '0'))
  redis.call('HSET', KEYS[1], 'state', 'cancelled', 'finished_at', ARGV[3], 'error', 'cancelled')
  redis.call('HINCRBY', KEYS[1], 'version', 1)
  redis.call('DEL', KEYS[1] .. ':pictures')
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  return 1
end
redis.call('HSET', KEYS[1], 'cancel', '1')
redis.call('HINCRBY', KEYS[1], 'version', 1)
return 2
"""

#: KEYS: job, owner line, ring, queued, running, owner images. ARGV: id, owner, attempt, now, max lost, finished
#: ttl s. A held job whose heartbeat lapsed goes back to the front of its owner's line, and the owner to the end
#: of the ring (1), once (the attempt must still be the lost one); lost `max lost` times, it fails (2).
_REQUEUE = """
if redis.call('EXISTS', KEYS[1] .. ':alive') == 1 then return 0 end
if redis.call('HGET', KEYS[1], 'attempt') ~= ARGV[3] then return 0 end
if redis.call('ZREM', KEYS[5], ARGV[1]) == 0 then return 0 end
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'succeeded' or state == 'failed' or state == 'cancelled' then return 0 end
redis.call('HINCRBY', KEYS[1], 'attempt', 1)
redis.call('HINCRBY', KEYS[1], 'version', 1)
if redis.call('HINCRBY', KEYS[1], 'lost', 1) >= tonumber(ARGV[5]) then
  redis.call('HSET', KEYS[1], 'state', 'failed', 'finished_at', ARGV[4], 'worker', '', 'error_kind', 'lost',
    'error', 'the job stopped its worker ' .. ARGV[5] .. ' times; it was not run again')
  redis.call('DEL', KEYS[1] .. ':pictures')
  redis.call('EXPIRE', KEYS[1], ARGV[6])
  return 2
end
redis.call('HSET', KEYS[1], 'state', 'queued', 'step', 0, 'worker', '')
redis.call('LPUSH', KEYS[2], ARGV[1])
if redis.call('LLEN', KEYS[2]) == 1 then redis.call('RPUSH', KEYS[3], ARGV[2]) end
redis.call('ZADD', KEYS[4], ARGV[4], ARGV[1])
redis.call('HINCRBY', KEYS[6], ARGV[2], tonumber(redis.call('HGET', KEYS[1], 'n') or '0'))
return 1
"""


class JobBoard:
    """The shared state, on one Redis; every method is safe from any thread of any process."""

    def __init__(self, url: str, finished_ttl_s: float = 900.0) -> None:
        self.redis = redis.Redis.from_url(url, decode_responses=True, socket_timeout=10, health_check_interval=15)
        #: How long a finished job stays readable (the engine's ENGINE_RESULT_TTL_S).
        self.finished_ttl_s = max(1, int(finished_ttl_s))
        self._submit = self.redis.register_script(_SUBMIT)
        self._take = self.redis.register_script(_TAKE)
        self._update = self.redis.register_script(_UPDATE)
        self._cancel = self.redis.register_script(_CANCEL)
        self._requeue = self.redis.register_script(_REQUEUE)

    # -- keys ------------------------------------------------------------------------------------------------

    @staticmethod
    def job_key(job_id: str) -> str:
        return f"{PREFIX}job:{job_id}"

    @staticmethod
    def line_prefix(model: str) -> str:
        return f"{PREFIX}line:{model}:"

    @staticmethod
    def ring_key(model: str) -> str:
        return f"{PREFIX}ring:{model}"

    QUEUED, RUNNING, OWNER_IMAGES = f"{PREFIX}queued", f"{PREFIX}running", f"{PREFIX}owner-images"
    MODELS, BATCHES = f"{PREFIX}models", f"{PREFIX}batches"

    # -- the web tier's side -----------------------------------------------------------------------------------

    def submit(self, job_id: str, request: GenerationRequest, max_queue: int, owner_cap: int) -> str:
        """Put a resolved request in its owner's line: "ok", "queue_full" or "owner_full"."""
        model = str(request.model)
        owner = request.owner or "anonymous"
        now = time.time()
        data = request.as_json()
        pictures = {name: data.pop(name) for name in PICTURE_FIELDS if data.get(name)}
        fields = {
            "id": job_id,
            "owner": owner,
            "model": model,
            "request": json.dumps(data),
            "pictures": ",".join(pictures),
            "n": request.n,
            "state": JobState.QUEUED.value,
            "step": 0,
            "total": request.steps or 0,
            "version": 1,
            "attempt": 0,
            "created_at": now,
        }
        keys = [self.job_key(job_id), self.line_prefix(model) + owner, self.ring_key(model), self.QUEUED]
        arguments: list[str | int | float] = [job_id, owner, json.dumps(fields), request.n, max_queue, owner_cap, now]
        arguments.append(json.dumps(pictures) if pictures else "")
        return str(self._submit(keys=[*keys, self.OWNER_IMAGES, self.job_key(job_id) + ":pictures"], args=arguments))

    def cancel(self, job_id: str) -> int:
        """0: already ended; 1: cancelled while waiting; 2: asked to stop at its next step."""
        record = self.job(job_id)
        if record is None:
            return 0
        owner, model = record["owner"], record["model"]
        keys = [self.job_key(job_id), self.line_prefix(model) + owner, self.ring_key(model), self.QUEUED]
        arguments = [job_id, owner, time.time(), self.finished_ttl_s]
        return int(self._cancel(keys=[*keys, self.OWNER_IMAGES], args=arguments))

    def job(self, job_id: str) -> dict[str, Any] | None:
        """The job's whole record (small: its pictures are kept apart), or None for an unknown or malformed id."""
        if not is_job_id(job_id):
            return None
        record = cast(dict[str, Any], self.redis.hgetall(self.job_key(job_id)))
        return record or None

    def job_fields(self, job_id: str, *names: str) -> dict[str, str | None]:
        """A few of a job's fields (what a poll needs), or all None for an unknown job."""
        if not is_job_id(job_id):
            return dict.fromkeys(names)
        values = cast(list, self.redis.hmget(self.job_key(job_id), list(names)))
        return dict(zip(names, values))

    def request(self, record: dict[str, Any], with_pictures: bool) -> GenerationRequest:
        """The job's request. Its pictures are read from their own key (`with_pictures`: the worker, once), or
        else stand in as empty bytes, so the request keeps its kind ("edit", "inpaint")."""
        data = json.loads(record["request"])
        held_apart = [name for name in str(record.get("pictures") or "").split(",") if name in PICTURE_FIELDS]
        if not held_apart:
            return GenerationRequest.from_json(data)
        if with_pictures:
            stored = self.redis.get(self.job_key(record["id"]) + ":pictures")
            return GenerationRequest.from_json({**data, **(json.loads(cast(str, stored)) if stored else {})})
        return dataclasses.replace(
            GenerationRequest.from_json(data),
            source_image=b"" if "source_image" in held_apart else None,
            mask_image=b"" if "mask_image" in held_apart else None,
        )

    def forget(self, job_id: str) -> None:
        """Drop a job's record now (its images are recorded elsewhere, or were deleted)."""
        if is_job_id(job_id):
            self.redis.delete(self.job_key(job_id), self.job_key(job_id) + ":pictures")

    def queued_before(self, job_id: str) -> int:
        rank = cast("int | None", self.redis.zrank(self.QUEUED, job_id))
        return int(rank) if rank is not None else 0

    def queue_depth(self) -> int:
        return int(self.redis.zcard(self.QUEUED))

    # -- the workers' side -----------------------------------------------------------------------------------

    def take(self, model: str, worker: str, alive_s: float) -> tuple[str, str] | None:
        """The next job for `model`, round-robin across owners, now held by `worker`: (id, attempt)."""
        keys = [self.ring_key(model), self.QUEUED, self.RUNNING, self.OWNER_IMAGES]
        taken = self._take(
            keys=keys, args=[self.line_prefix(model), f"{PREFIX}job:", worker, int(alive_s), time.time()]
        )
        return (str(taken[0]), str(taken[1])) if taken else None

    def update(self, job_id: str, attempt: str, **fields: object) -> bool:
        """Change a held job's fields (progress, state, images) while `attempt` is still the current one."""
        keys = [self.job_key(job_id), self.RUNNING]
        return bool(self._update(keys=keys, args=[attempt, json.dumps(fields), self.finished_ttl_s]))

    def keep_alive(self, job_id: str, attempt: str, alive_s: float) -> None:
        self.redis.set(self.job_key(job_id) + ":alive", attempt, ex=max(1, int(alive_s)))

    def lost_jobs(self) -> list[str]:
        """Held jobs whose heartbeat has lapsed."""
        held = [str(job_id) for job_id in cast(list, self.redis.zrange(self.RUNNING, 0, -1))]
        if not held:
            return []
        alive = self.redis.exists(*[self.job_key(job_id) + ":alive" for job_id in held]) if held else 0
        if alive == len(held):
            return []
        return [job_id for job_id in held if not self.redis.exists(self.job_key(job_id) + ":alive")]

    def requeue(self, job_id: str) -> int:
        """Put a lost job back at the front of its owner's line (1, once, however many processes try), or fail it
        when it was lost `MAX_LOST` times (2); 0 when another process did either first."""
        record = self.job(job_id)
        if record is None:
            return 0
        owner, model = record["owner"], record["model"]
        keys = [
            self.job_key(job_id),
            self.line_prefix(model) + owner,
            self.ring_key(model),
            self.QUEUED,
            self.RUNNING,
            self.OWNER_IMAGES,
        ]
        arguments = [job_id, owner, record.get("attempt", "0"), time.time(), MAX_LOST, self.finished_ttl_s]
        return int(self._requeue(keys=keys, args=arguments))

    # -- workers, their models and their batches ---------------------------------------------------------------

    def register_worker(self, name: str, models: list[str], concurrency: int, alive_s: float) -> None:
        """A worker's heartbeat: it is alive while this key is."""
        info = {"name": name, "models": models, "concurrency": concurrency, "seen_at": time.time()}
        self.redis.set(f"{PREFIX}worker:{name}", json.dumps(info), ex=max(1, int(alive_s)))

    def workers(self) -> list[dict[str, Any]]:
        """The workers alive now."""
        found = []
        for key in self.redis.scan_iter(f"{PREFIX}worker:*", count=100):
            value = self.redis.get(key)
            if value:
                found.append(json.loads(value))
        return found

    def publish_models(self, limits: dict[str, dict[str, Any]]) -> None:
        """What each model a worker serves accepts (the web tier checks requests against it)."""
        if limits:
            self.redis.hset(self.MODELS, mapping={name: json.dumps(value) for name, value in limits.items()})

    def model_limits(self) -> dict[str, dict[str, Any]]:
        models = cast(dict[str, str], self.redis.hgetall(self.MODELS))
        return {name: json.loads(value) for name, value in models.items()}

    def publish_batch(self, report: dict[str, Any]) -> None:
        self.redis.publish(self.BATCHES, json.dumps(report))

    def ping(self) -> bool:
        try:
            return bool(self.redis.ping())
        except redis.RedisError:
            return False
