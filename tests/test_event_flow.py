"""Across the services: an event written by a request reaches its worker exactly once."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import ClassVar

import httpx
import pytest
import redis.asyncio as aioredis
from arq.connections import ArqRedis
from asgi_lifespan import LifespanManager
from fastapi import APIRouter
from sqlalchemy import func, select
from sqlmodel import col

from services.api.app import create_app
from services.api.deps import RequestIdDep, SessionDep
from services.core.db import SessionMaker
from services.core.events import Consumer, Event, emit
from services.core.jobs import EventConsumer, HandlerContext
from services.core.models.outbox import OutboxEvent
from services.core.queue import create_queue_pool
from services.core.relay import relay_once
from services.core.settings import Settings
from tests.core.events_support import burst_worker


class PlacementRecorded(Event):
    type: ClassVar[str] = "flow.placement_recorded"
    consumers: ClassVar[frozenset[Consumer]] = frozenset(
        {Consumer.MATCHING, Consumer.NOTIFICATIONS}
    )
    placement_id: uuid.UUID


router = APIRouter(prefix="/flow")


@router.post("/placements", status_code=201)
async def record_placement(session: SessionDep, request_id: RequestIdDep) -> dict[str, str]:
    placement_id = uuid.uuid4()
    emit(session, PlacementRecorded(placement_id=placement_id), request_id=request_id)
    return {"placement_id": str(placement_id)}


@router.post("/placements/failing", status_code=201)
async def record_failing_placement(session: SessionDep) -> dict[str, str]:
    emit(session, PlacementRecorded(placement_id=uuid.uuid4()))
    await session.flush()
    raise RuntimeError("échec après l'écriture de l'événement")


@pytest.fixture
async def real_client(
    settings: Settings, committing_sessionmaker: SessionMaker
) -> AsyncIterator[httpx.AsyncClient]:
    """The API on real connections: its transactions really commit."""
    app = create_app(settings)
    app.include_router(router)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c,
    ):
        yield c


@pytest.fixture
async def queue(redis_url: str, redis_client: aioredis.Redis) -> AsyncIterator[ArqRedis]:
    pool = await create_queue_pool(redis_url)
    yield pool
    await pool.aclose()


async def test_event_from_a_request_reaches_each_worker_exactly_once(
    settings: Settings,
    real_client: httpx.AsyncClient,
    committing_sessionmaker: SessionMaker,
    queue: ArqRedis,
) -> None:
    response = await real_client.post("/flow/placements", headers={"Idempotency-Key": "p-1"})
    assert response.status_code == 201
    placement_id = uuid.UUID(response.json()["placement_id"])
    # The client retries (same key): replayed, not executed again, no second event.
    again = await real_client.post("/flow/placements", headers={"Idempotency-Key": "p-1"})
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json() == response.json()

    assert await relay_once(committing_sessionmaker, queue, batch_size=50) == 1
    assert await relay_once(committing_sessionmaker, queue, batch_size=50) == 0

    received: dict[Consumer, list[uuid.UUID]] = {}
    for name in Consumer:
        consumer = EventConsumer(name)

        @consumer.on(PlacementRecorded)
        async def record(
            ctx: HandlerContext, event: PlacementRecorded, name: Consumer = name
        ) -> None:
            received.setdefault(name, []).append(event.placement_id)

        # Each worker runs twice over its queue: the second run finds nothing to do.
        for _ in range(2):
            worker = burst_worker(consumer, settings)
            try:
                await worker.main()
            finally:
                await worker.close()

    assert received == {
        Consumer.MATCHING: [placement_id],
        Consumer.NOTIFICATIONS: [placement_id],
    }
    async with committing_sessionmaker() as session:
        request_ids = (await session.scalars(select(col(OutboxEvent.request_id)))).all()
    assert request_ids == [response.headers["x-request-id"]]


async def test_a_failed_request_publishes_nothing(
    real_client: httpx.AsyncClient, committing_sessionmaker: SessionMaker, queue: ArqRedis
) -> None:
    response = await real_client.post("/flow/placements/failing")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    async with committing_sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxEvent)) == 0
    assert await relay_once(committing_sessionmaker, queue, batch_size=50) == 0
    for name in Consumer:
        assert await queue.zcard(f"maillon:{name.value}") == 0
