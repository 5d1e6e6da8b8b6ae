"""The priority lanes (decision 0027), on real PostgreSQL and Redis: offer events (matching) and
the pairs of an offer's list (notifications) are queued apart and handled while the rest waits."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from arq.connections import ArqRedis
from sqlalchemy import func, select
from sqlmodel import col

from services.core.clock import now
from services.core.db import SessionMaker, unit_of_work
from services.core.events import (
    CandidateCreated,
    Consumer,
    IntakeReceived,
    Lane,
    MatchSuggested,
    OfferPublished,
    SuggestedMatch,
    emit,
    job_id,
    lane_of,
    lanes_of,
    queue_name,
)
from services.core.jobs import EventConsumer, HandlerContext
from services.core.models.outbox import ProcessedEvent
from services.core.queue import create_queue_pool
from services.core.relay import relay_once
from services.core.settings import Settings
from services.core.webhooks import body_of
from services.core.worker import lane_workers, run_lanes

CANDIDATES = 200


@pytest.fixture
async def arq_pool(redis_url: str, redis_client: aioredis.Redis) -> AsyncIterator[ArqRedis]:
    pool = await create_queue_pool(redis_url)
    yield pool
    await pool.aclose()


def test_offer_events_and_offer_lists_take_the_priority_lanes() -> None:
    assert lanes_of(Consumer.MATCHING) == (Lane.DEFAULT, Lane.PRIORITY)
    assert lanes_of(Consumer.NOTIFICATIONS) == (Lane.DEFAULT, Lane.PRIORITY)
    for offer_event in ("offer.published", "offer.updated", "offer.closed"):
        assert lane_of(Consumer.MATCHING, offer_event) is Lane.PRIORITY
    assert lane_of(Consumer.NOTIFICATIONS, "offer.published") is Lane.DEFAULT
    assert lane_of(Consumer.MATCHING, "candidate.created") is Lane.DEFAULT
    assert lane_of(Consumer.NOTIFICATIONS, "intake.received") is Lane.DEFAULT
    pair = SuggestedMatch(match_id=uuid.uuid4(), offer_id=uuid.uuid4(), candidate_id=uuid.uuid4())
    for offer_list, lane in ((True, Lane.PRIORITY), (False, Lane.DEFAULT)):
        payload = MatchSuggested(matches=(pair,), offer_list=offer_list).model_dump(mode="json")
        assert lane_of(Consumer.NOTIFICATIONS, "match.suggested", payload) is lane
    # An event written before lanes (no flag) keeps the default lane.
    assert lane_of(Consumer.NOTIFICATIONS, "match.suggested", {"matches": []}) is Lane.DEFAULT


def test_the_lane_flag_is_not_in_webhook_bodies() -> None:
    pair = SuggestedMatch(match_id=uuid.uuid4(), offer_id=uuid.uuid4(), candidate_id=uuid.uuid4())
    body = json.loads(body_of(MatchSuggested(matches=(pair,), offer_list=True), now()))
    assert body["data"] == {"matches": [pair.model_dump(mode="json")]}
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
    offer_handled = asyncio.Event()
    consumer = EventConsumer(Consumer.MATCHING)

    @consumer.on(CandidateCreated)
    async def candidate_created(ctx: HandlerContext, event: CandidateCreated) -> None:
        await asyncio.sleep(0.05)  # a refresh against every open offer
        refreshed.append(event.candidate_id)

    @consumer.on(OfferPublished)
    async def offer_published(ctx: HandlerContext, event: OfferPublished) -> None:
        offers.append((event.offer_id, len(refreshed), time.monotonic()))
        offer_handled.set()

    stop = asyncio.Event()
    started = time.monotonic()
    # Two candidate jobs at a time: the backlog takes 5 s to drain.
    running = asyncio.create_task(run_lanes(lane_workers(consumer, settings, max_jobs=2), stop))
    try:
        async with asyncio.timeout(10):
            await offer_handled.wait()
        for _ in range(100):  # arq finishes the job (result stored, off its queue)
            if not await arq_pool.zcard(queue_name(Consumer.MATCHING, Lane.PRIORITY)):
                break
            await asyncio.sleep(0.01)
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
                col(ProcessedEvent.consumer) == Consumer.MATCHING.value,
                col(ProcessedEvent.event_id) == offer_event,
            )
        )
    assert processed == 1
    assert await arq_pool.zcard(queue_name(Consumer.MATCHING, Lane.PRIORITY)) == 0
    assert await arq_pool.zcard(queue_name(Consumer.MATCHING)) > 0  # left for the next run


async def test_the_process_stops_when_one_lane_stops(
    settings: Settings, arq_pool: ArqRedis
) -> None:
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


async def test_the_relay_puts_an_offers_pairs_ahead_of_the_intakes_events(
    committing_sessionmaker: SessionMaker, arq_pool: ArqRedis
) -> None:
    pair = SuggestedMatch(match_id=uuid.uuid4(), offer_id=uuid.uuid4(), candidate_id=uuid.uuid4())
    async with unit_of_work(committing_sessionmaker) as session:
        for _ in range(50):
            emit(session, IntakeReceived(intake_id=uuid.uuid4(), candidate_id=uuid.uuid4()))
        emit(session, MatchSuggested(matches=(pair,)))  # a person's refresh
        offers_pairs = emit(session, MatchSuggested(matches=(pair,), offer_list=True)).id
    assert await relay_once(committing_sessionmaker, arq_pool, batch_size=100) == 52
    priority = queue_name(Consumer.NOTIFICATIONS, Lane.PRIORITY)
    assert await arq_pool.zrange(priority, 0, -1) == [
        job_id(Consumer.NOTIFICATIONS, offers_pairs).encode()
    ]
    assert await arq_pool.zcard(queue_name(Consumer.NOTIFICATIONS)) == 51


async def test_stopping_cancels_running_jobs_cleanly_and_they_stay_queued(
    settings: Settings, committing_sessionmaker: SessionMaker, arq_pool: ArqRedis
) -> None:
    async with unit_of_work(committing_sessionmaker) as session:
        for _ in range(3):
            emit(session, CandidateCreated(candidate_id=uuid.uuid4()))
        emit(session, OfferPublished(offer_id=uuid.uuid4()))
    await relay_once(committing_sessionmaker, arq_pool, batch_size=10)
    running = 0
    all_running = asyncio.Event()
    consumer = EventConsumer(Consumer.MATCHING)

    async def forever(ctx: HandlerContext, event: CandidateCreated | OfferPublished) -> None:
        nonlocal running
        running += 1
        if running == 4:
            all_running.set()
        await asyncio.Event().wait()

    consumer.on(CandidateCreated)(forever)
    consumer.on(OfferPublished)(forever)
    stop = asyncio.Event()
    task = asyncio.create_task(run_lanes(lane_workers(consumer, settings), stop))
    async with asyncio.timeout(10):
        await all_running.wait()
    stop.set()
    async with asyncio.timeout(10):
        await task  # no error: the four jobs were cancelled mid-handler
    # Not processed (their transactions rolled back): still queued, for the next start.
    assert await arq_pool.zcard(queue_name(Consumer.MATCHING)) == 3
    assert await arq_pool.zcard(queue_name(Consumer.MATCHING, Lane.PRIORITY)) == 1
    async with committing_sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(ProcessedEvent)) == 0
