"""End-to-end delivery: events Redis lost are enqueued again until their consumers handled them
(decision 0057), on real PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from arq.connections import ArqRedis
from sqlalchemy import func, select
from sqlmodel import col

from services.core.db import SessionMaker, unit_of_work
from services.core.events import Consumer, emit
from services.core.jobs import EventConsumer, HandlerContext
from services.core.models.outbox import FailedEvent, OutboxEvent, ProcessedEvent
from services.core.queue import create_queue_pool
from services.core.reconcile import ReconcileRules, reconcile_once, run_reconciler
from services.core.relay import relay_once
from services.core.settings import Settings
from tests.core.events_support import Broadcast, Pinged, burst_worker

NOW = ReconcileRules(after_seconds=0.001, interval_seconds=0.05, max_publications=3)


@pytest.fixture
async def arq_pool(redis_url: str, redis_client: aioredis.Redis) -> AsyncIterator[ArqRedis]:
    pool = await create_queue_pool(redis_url)
    yield pool
    await pool.aclose()


def _consumers(seen: Counter[tuple[str, uuid.UUID]]) -> list[EventConsumer]:
    """Both consumers, each counting the events its handler ran for."""
    made = []
    for name in (Consumer.MATCHING, Consumer.NOTIFICATIONS):
        consumer = EventConsumer(name)

        async def record(ctx: HandlerContext, event: Broadcast, name: Consumer = name) -> None:
            seen[(name.value, event.ping_id)] += 1

        consumer.on(Broadcast)(record)
        made.append(consumer)
    return made


async def _drain(consumers: list[EventConsumer], settings: Settings) -> None:
    for consumer in consumers:
        worker = burst_worker(consumer, settings)
        try:
            await worker.main()
        finally:
            await worker.close()


async def _emit_many(sessionmaker: SessionMaker, count: int) -> list[uuid.UUID]:
    pings = [uuid.uuid4() for _ in range(count)]
    async with unit_of_work(sessionmaker) as session:
        for ping in pings:
            emit(session, Broadcast(ping_id=ping))
    return pings


async def _scalar(sessionmaker: SessionMaker, query: object) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(query) or 0)  # type: ignore[call-overload]


async def test_events_lost_with_redis_data_are_requeued_and_handled_exactly_once(
    settings: Settings,
    committing_sessionmaker: SessionMaker,
    arq_pool: ArqRedis,
    redis_client: aioredis.Redis,
) -> None:
    pings = await _emit_many(committing_sessionmaker, 30)
    assert await relay_once(committing_sessionmaker, arq_pool, batch_size=100) == 30
    await redis_client.flushdb()  # Redis restarted without its data before any worker ran

    seen: Counter[tuple[str, uuid.UUID]] = Counter()
    consumers = _consumers(seen)
    await _drain(consumers, settings)
    assert seen == Counter()  # the queues were empty: the events were lost

    stop = asyncio.Event()
    reconciler = asyncio.create_task(
        run_reconciler(committing_sessionmaker, arq_pool, NOW, stop=stop)
    )
    try:
        for _ in range(200):
            await _drain(consumers, settings)
            unhandled = await _scalar(
                committing_sessionmaker,
                select(func.count())
                .select_from(OutboxEvent)
                .where(col(OutboxEvent.handled_at).is_(None)),
            )
            if unhandled == 0:
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await reconciler

    assert seen == Counter({(c, p): 1 for c in ("matching", "notifications") for p in pings})
    assert (
        await _scalar(committing_sessionmaker, select(func.count()).select_from(ProcessedEvent))
        == 60
    )
    assert (
        await _scalar(committing_sessionmaker, select(func.count()).select_from(FailedEvent)) == 0
    )
    async with committing_sessionmaker() as session:
        attempts = set((await session.scalars(select(col(OutboxEvent.publish_attempts)))).all())
    # Each enqueued again (a pass racing a job's end may enqueue one twice: a duplicate, no effect).
    assert min(attempts) >= 2


async def test_a_job_still_queued_is_not_enqueued_twice(
    settings: Settings, committing_sessionmaker: SessionMaker, arq_pool: ArqRedis
) -> None:
    pings = await _emit_many(committing_sessionmaker, 5)
    await relay_once(committing_sessionmaker, arq_pool, batch_size=100)

    waiting = await reconcile_once(committing_sessionmaker, arq_pool, NOW)
    assert (waiting.requeued, waiting.handled, waiting.waiting) == ([], 0, 5)

    seen: Counter[tuple[str, uuid.UUID]] = Counter()
    await _drain(_consumers(seen), settings)
    assert seen == Counter({(c, p): 1 for c in ("matching", "notifications") for p in pings})
    done = await reconcile_once(committing_sessionmaker, arq_pool, NOW)
    assert (done.requeued, done.handled, done.waiting) == ([], 5, 0)
    # Marked handled: never looked at again.
    assert (await reconcile_once(committing_sessionmaker, arq_pool, NOW)).looked == 0


async def test_a_run_ended_outside_the_handler_is_run_again_despite_its_kept_result(
    settings: Settings, committing_sessionmaker: SessionMaker, arq_pool: ArqRedis
) -> None:
    calls: list[uuid.UUID] = []
    consumer = EventConsumer(Consumer.MATCHING)

    @consumer.on(Pinged)
    async def slow_first(ctx: HandlerContext, event: Pinged) -> None:
        calls.append(event.ping_id)
        if len(calls) == 1:
            await asyncio.sleep(5)  # past the job timeout: arq keeps a failed result

    async with unit_of_work(committing_sessionmaker) as session:
        emit(session, Pinged(ping_id=uuid.uuid4()))
    await relay_once(committing_sessionmaker, arq_pool, batch_size=10)

    async def drain() -> None:
        worker = burst_worker(consumer, settings, job_timeout=0.5)
        try:
            await worker.main()
        finally:
            await worker.close()

    await drain()
    assert len(calls) == 1
    assert (
        await _scalar(committing_sessionmaker, select(func.count()).select_from(ProcessedEvent))
        == 0
    )

    again = await reconcile_once(committing_sessionmaker, arq_pool, NOW)
    assert len(again.requeued) == 1
    await drain()
    assert len(calls) == 2
    assert (
        await _scalar(committing_sessionmaker, select(func.count()).select_from(ProcessedEvent))
        == 1
    )
    assert (await reconcile_once(committing_sessionmaker, arq_pool, NOW)).handled == 1


async def test_an_event_never_handled_is_given_up_visibly_after_its_publications(
    committing_sessionmaker: SessionMaker, arq_pool: ArqRedis, redis_client: aioredis.Redis
) -> None:
    async with unit_of_work(committing_sessionmaker) as session:
        event_id = emit(session, Pinged(ping_id=uuid.uuid4())).id
    await relay_once(committing_sessionmaker, arq_pool, batch_size=10)
    for publications in range(2, NOW.max_publications + 1):
        await redis_client.flushdb()  # lost every time
        result = await reconcile_once(committing_sessionmaker, arq_pool, NOW)
        assert result.requeued == [(Consumer.MATCHING, event_id)], publications

    await redis_client.flushdb()
    last = await reconcile_once(committing_sessionmaker, arq_pool, NOW)
    assert last.requeued == []
    assert last.given_up == [(Consumer.MATCHING, event_id)]
    async with committing_sessionmaker() as session:
        failed = (await session.scalars(select(FailedEvent))).all()
        row = await session.get(OutboxEvent, event_id)
    assert [(f.consumer, f.event_id, f.attempts) for f in failed] == [
        ("matching", event_id, NOW.max_publications)
    ]
    assert "3 publications" in failed[0].error
    assert row is not None and row.handled_at is not None
    # No loop: nothing more to do.
    assert (await reconcile_once(committing_sessionmaker, arq_pool, NOW)).looked == 0


async def test_an_event_its_consumer_recorded_as_failed_is_not_enqueued_again(
    settings: Settings, committing_sessionmaker: SessionMaker, arq_pool: ArqRedis
) -> None:
    consumer = EventConsumer(Consumer.MATCHING)

    @consumer.on(Pinged)
    async def always_fails(ctx: HandlerContext, event: Pinged) -> None:
        raise ValueError("service indisponible")

    async with unit_of_work(committing_sessionmaker) as session:
        emit(session, Pinged(ping_id=uuid.uuid4()))
    await relay_once(committing_sessionmaker, arq_pool, batch_size=10)
    worker = burst_worker(consumer, settings)
    try:
        await worker.main()
    finally:
        await worker.close()

    result = await reconcile_once(committing_sessionmaker, arq_pool, NOW)
    assert (result.requeued, result.handled, result.given_up) == ([], 1, [])
    assert (
        await _scalar(committing_sessionmaker, select(func.count()).select_from(FailedEvent)) == 1
    )
