"""Event flow: offers published through the API, candidates changing, the matching worker's
handlers keeping each offer's list (the consumer runs inside the test's transaction)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from services.core.events import CandidatePlaced, CandidateUpdated, Event, OfferUpdated, emit
from services.core.models.candidate import Candidate, CandidateStatus
from services.core.models.match import Match, MatchStatus
from services.core.models.outbox import OutboxEvent, ProcessedEvent
from services.core.referentials.sectors import SectorCode
from services.core.settings import Settings
from services.matching.worker import consumer
from tests.api.clause import Territory, make_territory
from tests.matching.support import add_candidate

pytestmark = pytest.mark.usefixtures("reference_data", "clock")


@pytest.fixture
async def world(db_session: AsyncSession, settings: Settings) -> Territory:
    return await make_territory(db_session, settings)


async def run_matching(db_session: AsyncSession, settings: Settings) -> list[str]:
    """Deliver the matching events not yet processed to the matching consumer, in order."""
    connection = await db_session.connection()
    sessionmaker = async_sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )
    done = select(col(ProcessedEvent.event_id)).where(col(ProcessedEvent.consumer) == "matching")
    pending = (
        await db_session.execute(
            select(col(OutboxEvent.id))
            .where(
                col(OutboxEvent.id).not_in(done),
                col(OutboxEvent.type).in_(consumer.handled_types),
            )
            .order_by(col(OutboxEvent.id))
        )
    ).scalars()
    return [
        await consumer.handle(sessionmaker, event_id, job_try=1, settings=settings)
        for event_id in list(pending)
    ]


async def send(db_session: AsyncSession, event: Event) -> None:
    emit(db_session, event)
    await db_session.flush()


async def publish(client: httpx.AsyncClient, world: Territory, **changes: Any) -> uuid.UUID:
    payload = {
        "title": "Maçon ou maçonne en rénovation",
        "rome_code": "F1703",
        "contract_type": "CDD",
        "hours_per_week": 35,
        "positions": 2,
        "start_date": "2026-04-01",
        "end_date": "2026-12-31",
        "commune_insee": "93066",
        **changes,
    }
    created = await client.post("/v1/offers", json=payload, headers=world.employer_staff)
    assert created.status_code == 201, created.text
    offer_id = created.json()["id"]
    published = await client.post(f"/v1/offers/{offer_id}/publish", headers=world.employer_staff)
    assert published.status_code == 200, published.text
    return uuid.UUID(offer_id)


async def offer_list(db_session: AsyncSession, offer_id: uuid.UUID) -> list[uuid.UUID]:
    """The offer's list, by rank."""
    rows = await db_session.execute(
        select(col(Match.candidate_id))
        .where(col(Match.offer_id) == offer_id, col(Match.rank).is_not(None))
        .order_by(col(Match.rank))
    )
    return list(rows.scalars())


async def suggestion_events(db_session: AsyncSession) -> list[list[tuple[str, str]]]:
    """The pairs (offer, candidate) of each ``match.suggested`` event, in the order emitted."""
    rows = await db_session.execute(
        select(col(OutboxEvent.payload))
        .where(col(OutboxEvent.type) == "match.suggested")
        .order_by(col(OutboxEvent.id))
    )
    return [[(m["offer_id"], m["candidate_id"]) for m in p["matches"]] for p in rows.scalars()]


async def offer_list_flags(db_session: AsyncSession) -> list[bool]:
    """Whether each ``match.suggested`` event announces an offer's list (its notifications'
    priority lane, decision 0027), in the order emitted."""
    rows = await db_session.execute(
        select(col(OutboxEvent.payload))
        .where(col(OutboxEvent.type) == "match.suggested")
        .order_by(col(OutboxEvent.id))
    )
    return [p["offer_list"] for p in rows.scalars()]


async def suggested_events(db_session: AsyncSession) -> list[tuple[str, str]]:
    """Every pair announced, over all events."""
    return sorted(pair for event in await suggestion_events(db_session) for pair in event)


async def change_sectors(
    db_session: AsyncSession, candidate: Candidate, wanted: list[SectorCode]
) -> None:
    candidate.sectors_wanted = wanted
    await db_session.flush()
    await send(db_session, CandidateUpdated(candidate_id=candidate.id))


async def test_a_published_offer_stores_its_matches_and_announces_each_pair_once(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings, world: Territory
) -> None:
    near = await add_candidate(db_session, km=1)
    far = await add_candidate(db_session, km=8)
    await add_candidate(db_session, km=1, wanted=[SectorCode.LOGISTICS])  # no sector link
    await add_candidate(db_session, km=1, status=CandidateStatus.PLACED)

    offer_id = await publish(client, world)
    assert await run_matching(db_session, settings) == ["handled"]

    assert await offer_list(db_session, offer_id) == [near.id, far.id]
    matches = (
        (await db_session.execute(select(Match).where(col(Match.offer_id) == offer_id)))
        .scalars()
        .all()
    )
    for match in matches:
        assert match.status == MatchStatus.SUGGESTED
        assert match.is_current
        parts = (
            match.sector_points,
            match.qpv_points,
            match.availability_points,
            match.distance_points,
            match.eligibility_points,
        )
        assert sum(parts) == pytest.approx(match.score, abs=1e-3)
    expected = sorted((str(offer_id), str(c.id)) for c in (near, far))
    assert await suggestion_events(db_session) == [expected]  # one event, both pairs
    assert await offer_list_flags(db_session) == [True]

    # The offer changes: its list is computed again, nobody is announced twice.
    await send(db_session, OfferUpdated(offer_id=offer_id))
    assert await run_matching(db_session, settings) == ["handled"]
    assert await offer_list(db_session, offer_id) == [near.id, far.id]
    assert await suggestion_events(db_session) == [expected]


async def test_changing_a_candidates_sectors_moves_them_in_and_out_of_the_list(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings, world: Territory
) -> None:
    first = await add_candidate(db_session, km=1)
    mover = await add_candidate(db_session, km=3, wanted=[SectorCode.LOGISTICS])
    offer_id = await publish(client, world)
    await run_matching(db_session, settings)
    assert await offer_list(db_session, offer_id) == [first.id]

    await change_sectors(db_session, mover, [SectorCode.CONSTRUCTION])
    assert await run_matching(db_session, settings) == ["handled"]
    assert await offer_list(db_session, offer_id) == [first.id, mover.id]
    assert await offer_list_flags(db_session) == [True, False]  # the offer's, then the person's

    await change_sectors(db_session, mover, [SectorCode.CLEANING])
    await run_matching(db_session, settings)
    assert await offer_list(db_session, offer_id) == [first.id]
    gone = await db_session.execute(
        select(Match).where(col(Match.offer_id) == offer_id, col(Match.candidate_id) == mover.id)
    )
    assert gone.first() is None  # a suggested match out of the list is deleted

    # Back in: the pair was announced already, it is not announced again.
    await change_sectors(db_session, mover, [SectorCode.CONSTRUCTION])
    await run_matching(db_session, settings)
    assert await offer_list(db_session, offer_id) == [first.id, mover.id]
    announced = await suggested_events(db_session)
    assert announced.count((str(offer_id), str(mover.id))) == 1


async def test_a_full_list_keeps_the_best_n_evicting_and_refilling(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings, world: Territory
) -> None:
    top_two = settings.model_copy(update={"matching_top_n": 2})
    best = await add_candidate(db_session, km=1)
    second = await add_candidate(db_session, km=4)
    third = await add_candidate(db_session, km=9)
    offer_id = await publish(client, world)
    await run_matching(db_session, top_two)
    assert await offer_list(db_session, offer_id) == [best.id, second.id]

    # A closer candidate now wants the sector: enters second, the last one is evicted.
    newcomer = await add_candidate(db_session, km=2, wanted=[SectorCode.CLEANING])
    await run_matching(db_session, top_two)
    await change_sectors(db_session, newcomer, [SectorCode.CONSTRUCTION])
    await run_matching(db_session, top_two)
    assert await offer_list(db_session, offer_id) == [best.id, newcomer.id]

    # The best one leaves the sector: the list takes the next best again.
    await change_sectors(db_session, best, [SectorCode.CLEANING])
    await run_matching(db_session, top_two)
    assert await offer_list(db_session, offer_id) == [newcomer.id, second.id]
    ranks = await db_session.execute(
        select(col(Match.rank)).where(col(Match.offer_id) == offer_id).order_by(col(Match.rank))
    )
    assert list(ranks.scalars()) == [1, 2]
    assert third.id not in await offer_list(db_session, offer_id)


async def test_a_candidate_refresh_announces_its_pairs_and_the_refilled_ones_in_one_event(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings, world: Territory
) -> None:
    top_one = settings.model_copy(update={"matching_top_n": 1})
    best = await add_candidate(db_session, km=1)
    runner_up = await add_candidate(db_session, km=6)
    first = await publish(client, world)
    second = await publish(client, world, title="Coffreur ou coffreuse")
    assert await run_matching(db_session, top_one) == ["handled", "handled"]
    assert await suggestion_events(db_session) == [
        [(str(first), str(best.id))],
        [(str(second), str(best.id))],
    ]

    # The best one leaves the sector: both lists take the runner-up, never announced before,
    # in ONE event of the candidate's refresh.
    await change_sectors(db_session, best, [SectorCode.CLEANING])
    assert await run_matching(db_session, top_one) == ["handled"]
    assert await offer_list(db_session, first) == [runner_up.id]
    assert await offer_list(db_session, second) == [runner_up.id]
    events = await suggestion_events(db_session)
    assert len(events) == 3
    assert events[2] == sorted([(str(first), str(runner_up.id)), (str(second), str(runner_up.id))])

    # A closer newcomer enters both lists: one event, two pairs.
    newcomer = await add_candidate(db_session, km=0.5, wanted=[SectorCode.CLEANING])
    await change_sectors(db_session, newcomer, [SectorCode.CONSTRUCTION])
    assert await run_matching(db_session, top_one) == ["handled"]
    events = await suggestion_events(db_session)
    assert len(events) == 4
    assert events[3] == sorted([(str(first), str(newcomer.id)), (str(second), str(newcomer.id))])

    # The runner-up comes back after the newcomer leaves: announced already, no event.
    await change_sectors(db_session, newcomer, [SectorCode.CLEANING])
    assert await run_matching(db_session, top_one) == ["handled"]
    assert await offer_list(db_session, first) == [runner_up.id]
    assert len(await suggestion_events(db_session)) == 4


async def test_a_placed_candidate_leaves_other_lists_while_an_acted_on_match_survives(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings, world: Territory
) -> None:
    candidate = await add_candidate(db_session, km=1)
    other = await add_candidate(db_session, km=5)
    hired_at = await publish(client, world)
    elsewhere = await publish(client, world, title="Coffreur ou coffreuse")
    await run_matching(db_session, settings)
    assert await offer_list(db_session, elsewhere) == [candidate.id, other.id]

    await db_session.execute(
        text(
            "UPDATE match SET status = 'contacted' WHERE offer_id = :offer"
            " AND candidate_id = :candidate"
        ),
        {"offer": hired_at, "candidate": candidate.id},
    )
    candidate.status = CandidateStatus.PLACED
    await db_session.flush()
    await send(db_session, CandidatePlaced(candidate_id=candidate.id, offer_id=hired_at))
    assert await run_matching(db_session, settings) == ["handled"]

    assert await offer_list(db_session, elsewhere) == [other.id]
    assert await offer_list(db_session, hired_at) == [other.id]
    kept = (
        await db_session.execute(
            select(Match).where(
                col(Match.offer_id) == hired_at, col(Match.candidate_id) == candidate.id
            )
        )
    ).scalar_one()
    await db_session.refresh(kept)
    assert kept.status == MatchStatus.CONTACTED  # never changed by a recomputation
    assert not kept.is_current
    assert kept.rank is None
    removed = await db_session.execute(
        select(Match).where(
            col(Match.offer_id) == elsewhere, col(Match.candidate_id) == candidate.id
        )
    )
    assert removed.first() is None


async def test_closing_an_offer_deletes_its_suggestions_and_keeps_acted_on_matches(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings, world: Territory
) -> None:
    contacted = await add_candidate(db_session, km=1)
    await add_candidate(db_session, km=2)
    offer_id = await publish(client, world)
    await run_matching(db_session, settings)
    await db_session.execute(
        text("UPDATE match SET status = 'contacted' WHERE candidate_id = :candidate"),
        {"candidate": contacted.id},
    )

    closed = await client.post(f"/v1/offers/{offer_id}/close", headers=world.employer_staff)
    assert closed.status_code == 200, closed.text
    assert await run_matching(db_session, settings) == ["handled"]

    rows = (
        await db_session.execute(
            select(col(Match.candidate_id), col(Match.status), col(Match.is_current)).where(
                col(Match.offer_id) == offer_id
            )
        )
    ).all()
    assert [tuple(r) for r in rows] == [(contacted.id, MatchStatus.CONTACTED, False)]
