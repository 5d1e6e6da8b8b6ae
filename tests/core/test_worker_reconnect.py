"""A worker process outlives Redis going away: it waits, reconnects and goes on; a job cut short
is taken again after its own timeout (decision 0058); its heartbeat goes on meanwhile (0071).

Redis here is a server of the test's own on a loopback port, stopped and started again (empty).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from arq.cron import cron

from bench.servers import VolatileRedis
from services.core.db import SessionMaker, unit_of_work
from services.core.events import Consumer, emit, lanes_of, queue_name
from services.core.heartbeat import Activity, Heartbeat
from services.core.jobs import EventConsumer, HandlerContext
from services.core.queue import create_queue_pool
from services.core.relay import JOB_FUNCTION, relay_once
from services.core.settings import Settings
from services.core.worker import lane_workers, serve
from tests.core.events_support import Pinged


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[VolatileRedis]:
    server = VolatileRedis(tmp_path / "redis").start()
    try:
        yield server
    finally:
        server.stop()


async def _publish(sessionmaker: SessionMaker, redis_url: str) -> uuid.UUID:
    async with unit_of_work(sessionmaker) as session:
        event_id = emit(session, Pinged(ping_id=uuid.uuid4())).id
    pool = await create_queue_pool(redis_url)
    try:
        assert await relay_once(sessionmaker, pool, batch_size=10) == 1
    finally:
        await pool.aclose()
    return event_id


async def _until(seen: list[uuid.UUID], event_id: uuid.UUID, worker: asyncio.Task[None]) -> None:
    for _ in range(400):
        if event_id in seen or worker.done():
            return
        await asyncio.sleep(0.05)


async def test_worker_waits_for_redis_and_serves_again_once_it_is_back(
    settings: Settings, committing_sessionmaker: SessionMaker, own_redis: VolatileRedis
) -> None:
    private = settings.model_copy(update={"redis_url": own_redis.url()})
    seen: list[uuid.UUID] = []
    consumer = EventConsumer(Consumer.MATCHING)

    @consumer.on(Pinged)
    async def record(ctx: HandlerContext, event: Pinged) -> None:
        seen.append(ctx.event_id)

    stop = asyncio.Event()
    worker = asyncio.create_task(serve(consumer, private, stop))
    try:
        first = await _publish(committing_sessionmaker, own_redis.url())
        await _until(seen, first, worker)
        assert seen == [first]

        own_redis.stop()  # Redis goes away for a few seconds…
        await asyncio.sleep(4)
        assert not worker.done()  # …the worker waits instead of exiting

        own_redis.start()  # back, empty, on the same port
        second = await _publish(committing_sessionmaker, own_redis.url())
        await _until(seen, second, worker)
        assert not worker.done()
        assert seen == [first, second]
    finally:
        stop.set()
        await asyncio.wait_for(worker, timeout=30)


async def test_worker_started_while_redis_is_down_serves_once_it_comes_up(
    settings: Settings, committing_sessionmaker: SessionMaker, own_redis: VolatileRedis
) -> None:
    own_redis.stop()
    private = settings.model_copy(update={"redis_url": own_redis.url()})
    seen: list[uuid.UUID] = []
    consumer = EventConsumer(Consumer.MATCHING)

    @consumer.on(Pinged)
    async def record(ctx: HandlerContext, event: Pinged) -> None:
        seen.append(ctx.event_id)

    stop = asyncio.Event()
    worker = asyncio.create_task(serve(consumer, private, stop))
    try:
        await asyncio.sleep(8)  # past arq's own connection retries (5, a second apart)
        assert not worker.done()
        own_redis.start()
        event_id = await _publish(committing_sessionmaker, own_redis.url())
        await _until(seen, event_id, worker)
        assert seen == [event_id]
    finally:
        stop.set()
        await asyncio.wait_for(worker, timeout=30)


async def test_an_event_job_cut_short_is_not_held_for_the_longest_cron_timeout(
    settings: Settings,
) -> None:
    async def nightly(ctx: dict[str, object]) -> None:
        return None

    consumer = EventConsumer(Consumer.NOTIFICATIONS)
    workers = lane_workers(
        consumer,
        settings,
        cron_jobs=[cron(nightly, name="nightly", hour={3}, minute={17}, timeout=3600)],
    )
    *lanes, scheduled = workers
    # arq marks a started job in progress for its worker's longest timeout (+10 s): the event
    # lanes, free of the nightly job, take a killed worker's event again after the job timeout.
    assert [w.queue_name for w in lanes] == [
        queue_name(Consumer.NOTIFICATIONS, lane) for lane in lanes_of(Consumer.NOTIFICATIONS)
    ]
    assert {w.in_progress_timeout_s for w in lanes} == {settings.job_timeout_seconds + 10}
    assert all(not w.cron_jobs for w in lanes)
    assert scheduled.queue_name == "maillon:notifications:schedule"
    assert [job.name for job in scheduled.cron_jobs] == ["nightly"]
    assert scheduled.job_timeout_s == 300  # cron jobs keep arq's usual bound
    assert JOB_FUNCTION not in scheduled.functions


async def test_the_heartbeat_goes_on_while_the_worker_waits_for_redis(
    settings: Settings, own_redis: VolatileRedis, tmp_path: Path
) -> None:
    private = settings.model_copy(
        update={
            "redis_url": own_redis.url(),
            "heartbeat_dir": tmp_path / "heartbeats",
            "heartbeat_seconds": 0.2,
        }
    )
    heartbeat = Heartbeat(private.heartbeat_dir, "worker-matching")
    stop = asyncio.Event()
    worker = asyncio.create_task(serve(EventConsumer(Consumer.MATCHING), private, stop))

    async def until(activity: Activity) -> None:
        for _ in range(300):
            if heartbeat.activity() is activity or worker.done():
                return
            await asyncio.sleep(0.05)

    try:
        await until(Activity.SERVING)
        assert heartbeat.activity() is Activity.SERVING

        own_redis.stop()  # Redis goes away: the lanes stop, the process waits…
        await until(Activity.WAITING_FOR_REDIS)
        assert heartbeat.activity() is Activity.WAITING_FOR_REDIS
        # …and its heartbeat goes on, fresh by a probe's measure, for as long as it waits.
        # Over 6 s, a beat at most 2 s old at every look (a loaded machine may hold the loop for
        # a second; a heartbeat that stopped is stale after 2 s and fails), and many beats.
        beats = set()
        for _ in range(20):
            await asyncio.sleep(0.3)
            beats.add(heartbeat.path.stat().st_mtime)
            assert heartbeat.is_fresh(max_age=2.0)
        assert len(beats) >= 10
        assert not worker.done()

        own_redis.start()  # back: serving again
        await until(Activity.SERVING)
        assert heartbeat.activity() is Activity.SERVING
    finally:
        stop.set()
        await asyncio.wait_for(worker, timeout=30)
