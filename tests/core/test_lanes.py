"""The matching worker's priority lane (decision 0027), on real PostgreSQL and Redis: offer events
are queued apart from candidate refreshes and handled while those are still queued."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from arq.connections import ArqRedis
from sqlalchemy import func, select

from services.core.db import SessionMaker, unit_of_work
from services.core.events import (
    CandidateCreated,
    Consumer,
    Lane,
    OfferPublished,
    emit,
    lane_of,
    lanes_of,
    queue_name,
)
from services.core.jobs import EventConsumer, HandlerContext
from services.core.models.outbox import ProcessedEvent
from services.core.queue import create_queue_pool
from services.core.relay import relay_once
from services.core.settings import Settings
from services.core.worker import lane_workers, run_lanes

CANDIDATES = 200


@pytest.fixture
async def arq_pool(redis_url: str, redis_client: aioredis.Redis) -> AsyncIterator[ArqRedis]:
    pool = await create_queue_pool(redis_url)
    yield pool
    await pool.aclose()


def test_offer_events_take_the_matching_priority_lane_only() -> None:
    assert lanes_of(Consumer.MATCHING) == (Lane.DEFAULT, Lane.PRIORITY)
    assert lanes_of(Consumer.NOTIFICATIONS) == (Lane.DEFAULT,)
    for offer_event in ("offer.published", "offer.updated", "offer.closed"):
        assert lane_of(Consumer.MATCHING, offer_event) is Lane.PRIORITY
    assert lane_of(Consumer.NOTIFICATIONS, "offer.published") is Lane.DEFAULT
    assert lane_of(Consumer.MATCHING, "candidate.created") is Lane.DEFAULT
    assert queue_name(Consumer.MATCHING, Lane.PRIORITY) == "maillon:matching:priority"
    assert queue_name(Consumer.MATCHING) == "maillon:matching"


async def test_an_offer_is_handled_while_candidate_refreshes_are_queued(
    settings: Settings, committing_sessionmaker: SessionMaker, arq_pool: ArqRedis
) -> None:
    # The candidate events are older: on one FIFO queue the offer would wait for all of them.
    async with unit_of_work(committing_sessionmaker) as session:
        for _ in range(CANDIDATES):
            emit(session, CandidateCreated(candidate_id=uuid.uuid4()))
    offer_id = uuid.uuid4()
    async with unit_of_work(committing_sessionmaker) as session:
        offer_event = emit(session, OfferPublished(offer_id=offer_id)).id

    assert await relay_once(committing_sessionmaker, arq_pool, batch_size=1000) == CANDIDATES + 1
    assert await arq_pool.zcard(queue_name(Consumer.MATCHING)) == CANDIDATES
    assert await arq_pool.zcard(queue_name(Consumer.MATCHING, Lane.PRIORITY)) == 1
    # The notifications worker's copy of the offer event stays on its only queue.
    assert await arq_pool.zcard(queue_name(Consumer.NOTIFICATIONS)) == 1

    refreshed: list[uuid.UUID] = []
    offers: list[tuple[uuid.UUID, int, float]] = []
    consumer = EventConsumer(Consumer.MATCHING)

    @consumer.on(CandidateCreated)
    async def candidate_created(ctx: HandlerContext, event: CandidateCreated) -> None:
        await asyncio.sleep(0.05)  # a refresh against every open offer
        refreshed.append(event.candidate_id)

    @consumer.on(OfferPublished)
    async def offer_published(ctx: HandlerContext, event: OfferPublished) -> None:
        offers.append((event.offer_id, len(refreshed), time.monotonic()))

    stop = asyncio.Event()
    started = time.monotonic()
    # Two candidate jobs at a time: the backlog takes 5 s to drain.
    running = asyncio.create_task(run_lanes(lane_workers(consumer, settings, max_jobs=2), stop))
    try:
        async with asyncio.timeout(10):
            while not offers:
                await asyncio.sleep(0.02)
    finally:
        stop.set()
        await running

    [(handled_offer, refreshed_before, handled_at)] = offers
    assert handled_offer == offer_id
    assert handled_at - started < 2.0
    assert refreshed_before < CANDIDATES // 4  # most candidate jobs were still queued
    assert len(refreshed) < CANDIDATES
    async with committing_sessionmaker() as session:
        processed = await session.scalar(
            select(func.count())
            .select_from(ProcessedEvent)
            .where(
                ProcessedEvent.consumer == Consumer.MATCHING.value,
                ProcessedEvent.event_id == offer_event,
            )
        )
    assert processed == 1
    assert await arq_pool.zcard(queue_name(Consumer.MATCHING, Lane.PRIORITY)) == 0
    assert await arq_pool.zcard(queue_name(Consumer.MATCHING)) > 0  # left for the next run


async def test_the_process_stops_when_one_lane_stops(settings: Settings, arq_pool: ArqRedis) -> None:
    consumer = EventConsumer(Consumer.MATCHING)
    workers = lane_workers(consumer, settings)
    assert [worker.queue_name for worker in workers] == [
        "maillon:matching",
        "maillon:matching:priority",
    ]
    workers[1].burst = True  # its queue is empty: this lane ends at once
    stop = asyncio.Event()
    with pytest.raises(RuntimeError, match="lane stopped"):
        async with asyncio.timeout(10):
            await run_lanes(workers, stop)
    assert not stop.is_set()
