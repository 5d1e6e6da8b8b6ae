"""Everyone a batch of intakes creates is ranked, whatever the batch size and however many of the
matching worker's jobs run at once (issue 13, item 1): the API, the relay and real arq workers
on real PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from arq.connections import ArqRedis
from asgi_lifespan import LifespanManager
from sqlalchemy import select
from sqlmodel import col

from services.api.app import create_app
from services.core.clock import now
from services.core.db import SessionMaker, unit_of_work
from services.core.events import Consumer, Lane, queue_name
from services.core.models.match import Match
from services.core.queue import create_queue_pool
from services.core.relay import relay_once
from services.core.settings import Settings
from services.matching.worker import consumer
from tests.api.clause import Territory, make_territory
from tests.core.events_support import burst_worker

pytestmark = pytest.mark.usefixtures("reference_data")

CONSENT = "2026-01"


@pytest.fixture
async def queue(redis_url: str, redis_client: aioredis.Redis) -> AsyncIterator[ArqRedis]:
    pool = await create_queue_pool(redis_url)
    yield pool
    await pool.aclose()


@pytest.fixture
async def world(committing_sessionmaker: SessionMaker, settings: Settings) -> Territory:
    async with unit_of_work(committing_sessionmaker) as session:
        return await make_territory(session, settings)


@pytest.fixture
async def api(
    settings: Settings, committing_sessionmaker: SessionMaker
) -> AsyncIterator[httpx.AsyncClient]:
    """The API on real connections: its transactions really commit."""
    app = create_app(settings)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c,
    ):
        yield c


def _forms(batch: int, count: int) -> list[dict[str, Any]]:
    """``count`` rankable people: construction wanted, living in Saint-Denis, available now."""
    return [
        {
            "last_name": f"Lot{batch}",
            "first_name": f"Personne{i}",
            "mobile_phone": f"06 {batch:02d} {i // 100:02d} {i % 100:02d} 11",
            "commune_insee": "93066",
            "sectors_wanted": ["construction"],
            "needs": ["job"],
            "consent": True,
            "consent_text_version": CONSENT,
        }
        for i in range(count)
    ]


async def _relay_all(sessionmaker: SessionMaker, queue: ArqRedis) -> None:
    while await relay_once(sessionmaker, queue, batch_size=500):
        pass


async def _run_matching(settings: Settings, lane: Lane = Lane.DEFAULT) -> None:
    # The worker's own concurrency (20 jobs at once): one batch's jobs run side by side.
    worker = burst_worker(consumer, settings, queue_name=queue_name(Consumer.MATCHING, lane))
    try:
        await worker.main()
    finally:
        await worker.close()


async def test_every_person_of_concurrent_batches_is_ranked(
    settings: Settings,
    api: httpx.AsyncClient,
    world: Territory,
    committing_sessionmaker: SessionMaker,
    queue: ArqRedis,
) -> None:
    settings = settings.model_copy(update={"matching_top_n": 500})
    start = (now() + timedelta(days=30)).date()
    created = await api.post(
        "/v1/offers",
        json={
            "title": "Maçon ou maçonne en rénovation",
            "rome_code": "F1703",
            "contract_type": "CDD",
            "hours_per_week": 35,
            "positions": 2,
            "start_date": start.isoformat(),
            "end_date": (start + timedelta(days=180)).isoformat(),
            "commune_insee": "93066",
        },
        headers=world.employer_staff,
    )
    assert created.status_code == 201, created.text
    offer_id = uuid.UUID(created.json()["id"])
    published = await api.post(f"/v1/offers/{offer_id}/publish", headers=world.employer_staff)
    assert published.status_code == 200, published.text
    await _relay_all(committing_sessionmaker, queue)
    await _run_matching(settings, Lane.PRIORITY)  # the offer's list: nobody yet

    async def batch(number: int, count: int) -> list[uuid.UUID]:
        response = await api.post(
            "/v1/intakes/batch", json={"forms": _forms(number, count)}, headers=world.desk
        )
        assert response.status_code == 200, response.text
        results = response.json()["results"]
        assert {r["status"] for r in results} == {"created"}
        return [uuid.UUID(r["candidate_id"]) for r in results]

    # One batch of 50, then five batches sent at once.
    people = await batch(1, 50)
    for more in await asyncio.gather(*(batch(number, 10) for number in range(2, 7))):
        people += more
    assert len(set(people)) == 100

    await _relay_all(committing_sessionmaker, queue)
    await _run_matching(settings)
    await _run_matching(settings, Lane.PRIORITY)

    async with committing_sessionmaker() as session:
        ranked = set(
            (
                await session.scalars(
                    select(col(Match.candidate_id)).where(
                        col(Match.offer_id) == offer_id,
                        col(Match.is_current),
                        col(Match.rank).is_not(None),
                    )
                )
            ).all()
        )
    assert set(people) - ranked == set()
