"""The outbox relay: committed events → arq queues, exactly one job per event and consumer.

Each job goes to its consumer's queue for the event's lane (:func:`lane_of`): the matching
worker's offer events on its priority lane, ahead of the candidate refreshes (decision 0027). The
job id does not depend on the lane, so an event is still one job per consumer.

Safe in several processes at once: each batch is claimed with ``FOR UPDATE SKIP LOCKED``. If Redis
is unreachable the transaction rolls back and the events stay pending until it is back. An event
enqueued but not yet marked (crash between the two) is enqueued again under the same job id, which
arq's rule (and ours, :func:`enqueue_unique`) refuses while the first job or its result exists,
and the consumers are idempotent anyway.

Published is not done: the relay process also runs the reconciler (``reconcile.py``, decision
0057), which enqueues again the events a consumer has not handled a while after their
publication — those Redis lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Sequence

from arq.connections import ArqRedis
from redis.exceptions import RedisError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.clock import now
from services.core.db import SessionMaker, unit_of_work
from services.core.events import Consumer, consumers_of, job_id, lane_of, queue_name
from services.core.heartbeat import Activity, Heartbeat
from services.core.logging import get_logger
from services.core.models.outbox import OutboxEvent
from services.core.queue import QueuedJob, enqueue_unique

log = get_logger(__name__)

JOB_FUNCTION = "handle_event"


def event_job(consumer: Consumer, row: OutboxEvent) -> QueuedJob:
    """The arq job of one event for one consumer, on the consumer's queue for its lane."""
    return QueuedJob(
        queue_name(consumer, lane_of(consumer, row.type, row.payload)),
        job_id(consumer, row.id),
        JOB_FUNCTION,
        (str(row.id),),
    )


async def claim_pending(session: AsyncSession, *, batch_size: int) -> Sequence[OutboxEvent]:
    """Lock the oldest pending events that no other relay holds, for this transaction."""
    return (
        await session.scalars(
            select(OutboxEvent)
            .where(col(OutboxEvent.published_at).is_(None))
            .order_by(col(OutboxEvent.occurred_at), col(OutboxEvent.id))
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        )
    ).all()


async def mark_published(session: AsyncSession, rows: Sequence[OutboxEvent]) -> None:
    await session.execute(
        update(OutboxEvent)
        .where(col(OutboxEvent.id).in_([r.id for r in rows]))
        .values(published_at=now(), publish_attempts=OutboxEvent.publish_attempts + 1)
    )


async def relay_once(sessionmaker: SessionMaker, redis: ArqRedis, *, batch_size: int) -> int:
    """Publish one batch of pending events; return how many were published."""
    async with unit_of_work(sessionmaker) as session:
        rows = await claim_pending(session, batch_size=batch_size)
        if not rows:
            return 0
        await enqueue_unique(
            redis,
            [
                event_job(consumer, row)
                for row in rows
                for consumer in sorted(consumers_of(row.type))
            ],
        )
        await mark_published(session, rows)
        return len(rows)


async def run_relay(
    sessionmaker: SessionMaker,
    redis: ArqRedis,
    *,
    batch_size: int,
    poll_interval: float,
    stop: asyncio.Event,
    heartbeat: Heartbeat | None = None,
) -> None:
    """Relay until ``stop`` is set. Backs off (up to 30 s) while Redis or PostgreSQL fail."""
    failures = 0
    while not stop.is_set():
        if heartbeat is not None:
            heartbeat.beat()
        try:
            published = await relay_once(sessionmaker, redis, batch_size=batch_size)
        except (RedisError, OSError, ConnectionError) as exc:
            if heartbeat is not None:
                heartbeat.beat(Activity.WAITING_FOR_REDIS)
            failures += 1
            delay = min(30.0, poll_interval * 2**failures) * random.uniform(0.8, 1.2)  # noqa: S311
            log.warning("relay_unavailable", error=type(exc).__name__, retry_in_s=round(delay, 2))
            await _wait(stop, delay)
            continue
        except Exception as exc:  # database errors: keep the relay alive, retry later
            failures += 1
            delay = min(30.0, poll_interval * 2**failures)
            log.error("relay_error", error=type(exc).__name__, retry_in_s=round(delay, 2))
            await _wait(stop, delay)
            continue
        if failures:
            log.info("relay_recovered", after_failures=failures)
            failures = 0
        if published:
            log.debug("relay_published", count=published)
        if published < batch_size:
            await _wait(stop, poll_interval)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
