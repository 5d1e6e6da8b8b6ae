"""Outbox → relay → arq → idempotent consumer, on real PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from arq.connections import ArqRedis
from sqlalchemy import func, select

from services.core.db import SessionMaker, unit_of_work
from services.core.embedded import start_redis
from services.core.events import Consumer, emit, job_id, queue_name
from services.core.jobs import EventConsumer, HandlerContext
from services.core.models.outbox import FailedEvent, OutboxEvent, ProcessedEvent
from services.core.queue import create_queue_pool
from services.core.relay import relay_once, run_relay
from services.core.settings import Settings
from tests.core.events_support import Broadcast, Pinged, burst_worker


@pytest.fixture
async def arq_pool(redis_url: str, redis_client: aioredis.Redis) -> AsyncIterator[ArqRedis]:
    pool = await create_queue_pool(redis_url)
    yield pool
    await pool.aclose()


async def _emit(sessionmaker: SessionMaker, event: Pinged | Broadcast) -> uuid.UUID:
    async with unit_of_work(sessionmaker) as session:
        row = emit(session, event)
    return row.id


async def _count(sessionmaker: SessionMaker, model: type, **where: object) -> int:
    async with sessionmaker() as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return int(await session.scalar(query) or 0)


async def test_event_reaches_its_worker_exactly_once(
    settings: Settings, committing_sessionmaker: SessionMaker, arq_pool: ArqRedis
) -> None:
    seen: list[uuid.UUID] = []
    consumer = EventConsumer(Consumer.MATCHING)

    @consumer.on(Pinged)
    async def record(ctx: HandlerContext, event: Pinged) -> None:
        seen.append(event.ping_id)

    ping = uuid.uuid4()
    event_id = await _emit(committing_sessionmaker, Pinged(ping_id=ping))
    assert await relay_once(committing_sessionmaker, arq_pool, batch_size=10) == 1
    # A second pass finds nothing pending: the event was marked published.
    assert await relay_once(committing_sessionmaker, arq_pool, batch_size=10) == 0
    # Even a duplicate delivery (crash between enqueue and commit) has no second effect.
    await arq_pool.enqueue_job(
        "handle_event", str(event_id), _queue_name=queue_name(Consumer.MATCHING)
    )
    worker = burst_worker(consumer, settings)
    try:
        await worker.main()
    finally:
        await worker.close()

    assert seen == [ping]
    assert worker.jobs_complete == 2
    assert await _count(committing_sessionmaker, ProcessedEvent, event_id=event_id) == 1
    async with committing_sessionmaker() as session:
        row = await session.get(OutboxEvent, event_id)
        assert row is not None and row.published_at is not None


async def test_one_job_per_consumer_and_the_relay_never_enqueues_twice(
    committing_sessionmaker: SessionMaker, arq_pool: ArqRedis
) -> None:
    event_id = await _emit(committing_sessionmaker, Broadcast(ping_id=uuid.uuid4()))
    assert await relay_once(committing_sessionmaker, arq_pool, batch_size=10) == 1
    # Re-publishing the same event (as after a relay crash) is refused by arq: same job id.
    for consumer in Consumer:
        again = await arq_pool.enqueue_job(
            "handle_event",
            str(event_id),
            _job_id=job_id(consumer, event_id),
            _queue_name=queue_name(consumer),
        )
        assert again is None
        assert await arq_pool.zcard(queue_name(consumer)) == 1


async def test_rolled_back_transaction_publishes_nothing(
    committing_sessionmaker: SessionMaker, arq_pool: ArqRedis
) -> None:
    with pytest.raises(RuntimeError):
        async with unit_of_work(committing_sessionmaker) as session:
            emit(session, Pinged(ping_id=uuid.uuid4()))
            await session.flush()
            raise RuntimeError("la requête échoue après avoir écrit son événement")
    assert await _count(committing_sessionmaker, OutboxEvent) == 0
    assert await relay_once(committing_sessionmaker, arq_pool, batch_size=10) == 0
    assert await arq_pool.zcard(queue_name(Consumer.MATCHING)) == 0


async def test_concurrent_relays_split_the_work_without_duplicates(
    committing_sessionmaker: SessionMaker, arq_pool: ArqRedis
) -> None:
    async with unit_of_work(committing_sessionmaker) as session:
        for _ in range(300):
            emit(session, Pinged(ping_id=uuid.uuid4()))

    async def drain() -> int:
        total = 0
        while published := await relay_once(committing_sessionmaker, arq_pool, batch_size=25):
            total += published
        return total

    counts = await asyncio.gather(drain(), drain(), drain())
    assert sum(counts) == 300
    assert all(c > 0 for c in counts), counts  # SKIP LOCKED let all three work at once
    assert await arq_pool.zcard(queue_name(Consumer.MATCHING)) == 300


async def test_failing_handler_is_retried_then_recorded_as_failed(
    settings: Settings, committing_sessionmaker: SessionMaker, arq_pool: ArqRedis
) -> None:
    tries: list[int] = []
    consumer = EventConsumer(Consumer.MATCHING)

    @consumer.on(Pinged)
    async def always_fails(ctx: HandlerContext, event: Pinged) -> None:
        tries.append(1)
        raise ValueError("service indisponible")

    event_id = await _emit(committing_sessionmaker, Pinged(ping_id=uuid.uuid4()))
    await relay_once(committing_sessionmaker, arq_pool, batch_size=10)
    worker = burst_worker(consumer, settings)
    try:
        await worker.main()
    finally:
        await worker.close()

    assert len(tries) == settings.job_max_tries
    async with committing_sessionmaker() as session:
        failed = (await session.scalars(select(FailedEvent))).all()
    assert [(f.event_id, f.consumer, f.event_type, f.attempts) for f in failed] == [
        (event_id, "matching", "kernel.pinged", settings.job_max_tries)
    ]
    assert "ValueError" in failed[0].error
    # Nothing was recorded as processed: the failed event can be replayed once repaired.
    assert await _count(committing_sessionmaker, ProcessedEvent) == 0


async def test_handler_failing_once_succeeds_on_retry_with_its_effect_once(
    settings: Settings, committing_sessionmaker: SessionMaker, arq_pool: ArqRedis
) -> None:
    calls: list[str] = []
    consumer = EventConsumer(Consumer.MATCHING)

    @consumer.on(Pinged)
    async def flaky(ctx: HandlerContext, event: Pinged) -> None:
        calls.append("try")
        if len(calls) == 1:
            # Written inside the job's transaction, then rolled back with it.
            emit(ctx.session, Broadcast(ping_id=event.ping_id))
            await ctx.session.flush()
            raise ConnectionError("coupure")
        emit(ctx.session, Broadcast(ping_id=event.ping_id))

    await _emit(committing_sessionmaker, Pinged(ping_id=uuid.uuid4()))
    await relay_once(committing_sessionmaker, arq_pool, batch_size=10)
    worker = burst_worker(consumer, settings)
    try:
        await worker.main()
    finally:
        await worker.close()

    assert calls == ["try", "try"]
    assert await _count(committing_sessionmaker, OutboxEvent, type="kernel.broadcast") == 1
    assert await _count(committing_sessionmaker, FailedEvent) == 0


async def test_events_wait_while_redis_is_down_and_are_delivered_once_it_is_back(
    settings: Settings, committing_sessionmaker: SessionMaker, tmp_path: Path
) -> None:
    state = tmp_path / "redis-outage"
    server = start_redis(state)
    private = settings.model_copy(update={"redis_url": server.url})
    pool = await create_queue_pool(server.url)
    stop = asyncio.Event()
    relay = asyncio.create_task(
        run_relay(committing_sessionmaker, pool, batch_size=50, poll_interval=0.05, stop=stop)
    )
    try:
        server.stop()  # Redis goes down…
        event_id = await _emit(committing_sessionmaker, Pinged(ping_id=uuid.uuid4()))
        await asyncio.sleep(0.5)  # …the relay tries, fails, backs off: the event stays pending.
        async with committing_sessionmaker() as session:
            row = await session.get(OutboxEvent, event_id)
            assert row is not None and row.published_at is None

        server = start_redis(state)  # Redis is back, on the same socket.
        for _ in range(200):
            async with committing_sessionmaker() as session:
                row = await session.get(OutboxEvent, event_id)
                if row is not None and row.published_at is not None:
                    break
            await asyncio.sleep(0.05)
        assert row is not None and row.published_at is not None

        seen: list[uuid.UUID] = []
        consumer = EventConsumer(Consumer.MATCHING)

        @consumer.on(Pinged)
        async def record(ctx: HandlerContext, event: Pinged) -> None:
            seen.append(ctx.event_id)

        worker = burst_worker(consumer, private)
        try:
            await worker.main()
        finally:
            await worker.close()
        assert seen == [event_id]
    finally:
        stop.set()
        await relay
        await pool.aclose()
        server.stop()
