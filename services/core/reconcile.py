"""The reconciler: an event is done when its consumers have handled it, not when it was enqueued.

The relay marks an event published once its jobs are in Redis; a Redis that restarts without its
data (no persistence, a fail-over) loses those jobs. Every few seconds the relay process looks at
the events published a while ago (``outbox_reconcile_after_seconds``) and not yet marked handled:

- every consumer has a ``processed_event`` row (handled) or a ``failed_event`` row (failed after
  its tries, a dead letter a person looks at): the event is marked handled, never looked at again;
- otherwise the missing consumers' jobs are enqueued again — unless the job is still in Redis
  (queued, deferred for a retry, running): no second run beside the first. arq keeps a result
  under the job id, which would refuse the job: a run that left a result but no mark ended
  outside the handler (a timeout), so the result is dropped and the job enqueued afresh;
- after ``outbox_max_publications`` publications, a consumer still without its mark gets a
  ``failed_event`` row (visible, like any dead letter) and the event is marked handled: no
  endless loop.

A duplicate delivery is harmless: consumers are idempotent by ``processed_event`` (decision 0002).
Several relay processes may reconcile at once: rows are claimed ``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from arq.connections import ArqRedis
from redis.exceptions import RedisError
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.clock import now
from services.core.db import SessionMaker, unit_of_work
from services.core.events import Consumer, consumers_of
from services.core.ids import uuid7
from services.core.logging import get_logger
from services.core.models.outbox import FailedEvent, OutboxEvent, ProcessedEvent
from services.core.queue import QueuedJob, jobs_present, requeue
from services.core.relay import event_job
from services.core.settings import Settings

log = get_logger(__name__)

UNHANDLED_ERROR = "Unhandled: no mark from this consumer after {publications} publications"


@dataclass(frozen=True)
class ReconcileRules:
    after_seconds: float
    interval_seconds: float
    max_publications: int
    batch_size: int = 500

    @classmethod
    def from_settings(cls, settings: Settings) -> ReconcileRules:
        return cls(
            after_seconds=settings.outbox_reconcile_after_seconds,
            interval_seconds=settings.outbox_reconcile_interval_seconds,
            max_publications=settings.outbox_max_publications,
        )


@dataclass
class Reconciled:
    handled: int = 0
    """Events found handled by all their consumers (or failed), now marked so."""
    requeued: list[tuple[Consumer, uuid.UUID]] = field(default_factory=list)
    """(consumer, event) jobs enqueued again."""
    given_up: list[tuple[Consumer, uuid.UUID]] = field(default_factory=list)
    """(consumer, event) recorded as failed after the last publication."""
    waiting: int = 0
    """Events whose missing jobs are still in Redis (queued or running)."""
    looked: int = 0
    """Events looked at (a full batch: there may be more)."""


async def reconcile_once(
    sessionmaker: SessionMaker, redis: ArqRedis, rules: ReconcileRules
) -> Reconciled:
    """Look once at the events published before ``rules.after_seconds`` and not yet handled."""
    result = Reconciled()
    async with unit_of_work(sessionmaker) as session:
        rows = await _claim_unhandled(session, rules)
        result.looked = len(rows)
        if not rows:
            return result
        done = await _marks(session, [row.id for row in rows])
        handled: list[uuid.UUID] = []
        retry: list[tuple[OutboxEvent, list[Consumer]]] = []
        last: list[tuple[OutboxEvent, list[Consumer]]] = []
        for row in rows:
            missing = sorted(c for c in consumers_of(row.type) if (c.value, row.id) not in done)
            if not missing:
                handled.append(row.id)
            elif row.publish_attempts >= rules.max_publications:
                last.append((row, missing))
            else:
                retry.append((row, missing))

        given_up = await _give_up(session, redis, last)
        handled += [row.id for row, _ in last if row.id in given_up]
        result.given_up = [
            (c, row.id) for row, missing in last if row.id in given_up for c in missing
        ]

        jobs = [
            (row, consumer, event_job(consumer, row))
            for row, missing in retry
            for consumer in missing
        ]
        enqueued = {job.job_id for job in await requeue(redis, [job for _, _, job in jobs])}
        result.requeued = [(c, row.id) for row, c, job in jobs if job.job_id in enqueued]
        republished = {event_id for _, event_id in result.requeued}
        if republished:
            await session.execute(
                update(OutboxEvent)
                .where(col(OutboxEvent.id).in_(republished))
                .values(published_at=now(), publish_attempts=OutboxEvent.publish_attempts + 1)
            )
        if handled:
            await session.execute(
                update(OutboxEvent).where(col(OutboxEvent.id).in_(handled)).values(handled_at=now())
            )
        result.handled = len(handled)
        result.waiting = len(rows) - len(handled) - len(republished)
    if result.requeued:  # one line per pass: after Redis lost its data there may be thousands
        log.warning(
            "events_requeued",
            jobs=len(result.requeued),
            consumers=sorted({c.value for c, _ in result.requeued}),
        )
    for consumer, event_id in result.given_up:
        log.error("event_unhandled", consumer=consumer.value, event_id=str(event_id))
    return result


async def _claim_unhandled(session: AsyncSession, rules: ReconcileRules) -> Sequence[OutboxEvent]:
    horizon = now() - timedelta(seconds=rules.after_seconds)
    return (
        await session.scalars(
            select(OutboxEvent)
            .where(
                col(OutboxEvent.published_at).is_not(None),
                col(OutboxEvent.handled_at).is_(None),
                col(OutboxEvent.published_at) < horizon,
            )
            .order_by(col(OutboxEvent.published_at))
            .limit(rules.batch_size)
            .with_for_update(skip_locked=True)
        )
    ).all()


async def _marks(session: AsyncSession, event_ids: list[uuid.UUID]) -> set[tuple[str, uuid.UUID]]:
    """The (consumer, event) pairs that need nothing more: handled, or failed after their tries."""
    processed = await session.execute(
        select(col(ProcessedEvent.consumer), col(ProcessedEvent.event_id)).where(
            col(ProcessedEvent.event_id).in_(event_ids)
        )
    )
    failed = await session.execute(
        select(col(FailedEvent.consumer), col(FailedEvent.event_id)).where(
            col(FailedEvent.event_id).in_(event_ids)
        )
    )
    return {(str(c), e) for c, e in [*processed.all(), *failed.all()]}


async def _give_up(
    session: AsyncSession, redis: ArqRedis, last: list[tuple[OutboxEvent, list[Consumer]]]
) -> set[uuid.UUID]:
    """Record as failed the events out of publications whose jobs are gone from Redis (one still
    queued or running may yet succeed: it is looked at again next time)."""
    jobs: list[tuple[OutboxEvent, QueuedJob]] = [
        (row, event_job(consumer, row)) for row, missing in last for consumer in missing
    ]
    present = await jobs_present(redis, [job for _, job in jobs])
    busy = {row.id for (row, _), found in zip(jobs, present, strict=True) if found}
    rows = [(row, missing) for row, missing in last if row.id not in busy]
    if rows:
        moment = now()
        await session.execute(
            insert(FailedEvent)
            .values(
                [
                    {
                        "id": uuid7(),
                        "failed_at": moment,
                        "consumer": consumer.value,
                        "event_id": row.id,
                        "event_type": row.type,
                        "attempts": row.publish_attempts,
                        "error": UNHANDLED_ERROR.format(publications=row.publish_attempts),
                    }
                    for row, missing in rows
                    for consumer in missing
                ]
            )
            .on_conflict_do_nothing()
        )
    return {row.id for row, _ in rows}


async def run_reconciler(
    sessionmaker: SessionMaker, redis: ArqRedis, rules: ReconcileRules, *, stop: asyncio.Event
) -> None:
    """Reconcile every ``rules.interval_seconds`` until ``stop`` is set; a pass that fails (Redis
    or PostgreSQL away) is tried again later with a growing delay (≤ 60 s)."""
    failures = 0
    while not stop.is_set():
        delay = rules.interval_seconds
        try:
            while True:  # a full batch: there may be more at once
                done = await reconcile_once(sessionmaker, redis, rules)
                if done.looked < rules.batch_size or stop.is_set():
                    break
            failures = 0
        except (RedisError, OSError, ConnectionError) as exc:
            failures += 1
            delay = min(60.0, rules.interval_seconds * 2**failures) * random.uniform(0.8, 1.2)  # noqa: S311
            log.warning(
                "reconciler_unavailable", error=type(exc).__name__, retry_in_s=round(delay, 2)
            )
        except Exception as exc:  # database errors: keep reconciling later
            failures += 1
            delay = min(60.0, rules.interval_seconds * 2**failures)
            log.error("reconciler_error", error=type(exc).__name__, retry_in_s=round(delay, 2))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)
