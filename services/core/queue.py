"""arq queues: JSON job encoding, a batched, duplicate-free enqueue for the relay, and the
reconciler's re-enqueue (decision 0057)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.constants import expires_extra_ms, job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms


def serialize(data: dict[str, Any]) -> bytes:
    """JSON instead of arq's default pickle: nothing read from Redis is ever unpickled."""
    return orjson.dumps(data, default=str)


def deserialize(raw: bytes) -> dict[str, Any]:
    value = orjson.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("job payload is not an object")
    return value


SERIALIZERS: dict[str, Any] = {"job_serializer": serialize, "job_deserializer": deserialize}


async def create_queue_pool(redis_url: str) -> ArqRedis:
    return await create_pool(RedisSettings.from_dsn(redis_url), **SERIALIZERS)


@dataclass(frozen=True)
class QueuedJob:
    queue: str
    job_id: str
    function: str
    args: tuple[str, ...]


# For each job: skip it if the job or its result exists (arq's uniqueness rule), else store it and
# put it on its queue. One round trip for a whole batch, atomic.
_ENQUEUE_UNIQUE = """
local added = 0
local jobs = #KEYS / 3
for i = 0, jobs - 1 do
  local job_key, result_key, queue_key = KEYS[i * 3 + 1], KEYS[i * 3 + 2], KEYS[i * 3 + 3]
  if redis.call('EXISTS', job_key, result_key) == 0 then
    redis.call('PSETEX', job_key, ARGV[1], ARGV[3 + i * 2])
    redis.call('ZADD', queue_key, ARGV[2], ARGV[4 + i * 2])
    added = added + 1
  end
end
return added
"""


async def enqueue_unique(redis: ArqRedis, jobs: Sequence[QueuedJob]) -> int:
    """Enqueue ``jobs`` as ``ArqRedis.enqueue_job`` would, in one call; return how many were new."""
    if not jobs:
        return 0
    keys, argv = _job_arguments(jobs)
    added = await redis.eval(_ENQUEUE_UNIQUE, len(keys), *keys, *argv)  # type: ignore[misc]
    return int(added)


def _job_arguments(jobs: Sequence[QueuedJob]) -> tuple[list[str], list[Any]]:
    """The scripts' keys (job, result, queue for each job) and arguments (expiry, score, then the
    payload and id of each job), as ``ArqRedis.enqueue_job`` would write them."""
    enqueued_at = timestamp_ms()
    keys: list[str] = []
    argv: list[Any] = [expires_extra_ms, enqueued_at]
    for job in jobs:
        keys += [job_key_prefix + job.job_id, result_key_prefix + job.job_id, job.queue]
        payload = serialize_job(job.function, job.args, {}, None, enqueued_at, serializer=serialize)
        argv += [payload, job.job_id]
    return keys, argv


# For each job: skip it while the job exists (queued, deferred for a retry or running), else drop
# any result arq kept (a run that ended without the consumer's mark) and enqueue it afresh.
_REQUEUE = """
local added = {}
local jobs = #KEYS / 3
for i = 0, jobs - 1 do
  local job_key, result_key, queue_key = KEYS[i * 3 + 1], KEYS[i * 3 + 2], KEYS[i * 3 + 3]
  if redis.call('EXISTS', job_key) == 0 then
    redis.call('DEL', result_key)
    redis.call('PSETEX', job_key, ARGV[1], ARGV[3 + i * 2])
    redis.call('ZADD', queue_key, ARGV[2], ARGV[4 + i * 2])
    added[#added + 1] = i
  end
end
return added
"""


async def requeue(redis: ArqRedis, jobs: Sequence[QueuedJob]) -> list[QueuedJob]:
    """Enqueue again those of ``jobs`` that are neither queued nor running, whatever result arq
    kept of an earlier run, in one atomic call; return the jobs enqueued (decision 0057)."""
    if not jobs:
        return []
    keys, argv = _job_arguments(jobs)
    added = await redis.eval(_REQUEUE, len(keys), *keys, *argv)  # type: ignore[misc]
    return [jobs[int(i)] for i in added]


async def jobs_present(redis: ArqRedis, jobs: Sequence[QueuedJob]) -> list[bool]:
    """Whether each of ``jobs`` is queued, deferred or running."""
    if not jobs:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for job in jobs:
            pipe.exists(job_key_prefix + job.job_id)
        found = await pipe.execute()
    return [bool(n) for n in found]
