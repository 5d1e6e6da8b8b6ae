"""One absurd date already stored (``infinity`` is what a driver writes for year 9999, or a year
no person could mean) never stops the ranking of anyone else (issue 14): the dates are brought
within a plausible range before any arithmetic."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.models.match import Match
from services.core.models.organisation import Organisation, OrganisationKind
from services.core.settings import Settings
from services.matching.refresh import refresh_candidate_matches, refresh_offer_matches
from tests.factories import make_organisation
from tests.matching.support import TODAY, add_candidate, add_offer

pytestmark = pytest.mark.usefixtures("reference_data")

ABSURD = ("infinity", "-infinity", "9999-12-31", "0001-01-01")


@pytest.fixture
async def employer(db_session: AsyncSession) -> Organisation:
    return await make_organisation(db_session, kind=OrganisationKind.EMPLOYER)


async def _listed(session: AsyncSession, offer_id: uuid.UUID) -> dict[uuid.UUID, Match]:
    rows = await session.scalars(
        select(Match).where(col(Match.offer_id) == offer_id, col(Match.rank).is_not(None))
    )
    return {match.candidate_id: match for match in rows}


async def _store(
    session: AsyncSession, table: str, column: str, row: uuid.UUID, value: str
) -> None:
    # Straight into the table, as rows written before the API bounded its dates.
    await session.execute(
        text(f"UPDATE {table} SET {column} = CAST(CAST(:value AS text) AS date) WHERE id = :id"),  # noqa: S608
        {"value": value, "id": row},
    )


async def test_absurd_availability_dates_do_not_stop_the_ranking_of_others(
    db_session: AsyncSession, settings: Settings, employer: Organisation
) -> None:
    offer = await add_offer(db_session, employer)
    fine = await add_candidate(db_session, available_from=TODAY)
    absurd = {value: await add_candidate(db_session) for value in ABSURD}
    for value, candidate in absurd.items():
        await _store(db_session, "candidate", "available_from", candidate.id, value)

    await refresh_offer_matches(db_session, offer.id, settings=settings, today=TODAY)
    for candidate in [fine, *absurd.values()]:
        await refresh_candidate_matches(db_session, candidate.id, settings=settings, today=TODAY)

    listed = await _listed(db_session, offer.id)
    assert set(listed) == {fine.id, *(c.id for c in absurd.values())}
    assert sorted(m.rank or 0 for m in listed.values()) == [1, 2, 3, 4, 5]
    # Far in the future: no availability points; far in the past: available, full points.
    weight = settings.matching_weight_availability
    for value in ("infinity", "9999-12-31"):
        assert listed[absurd[value].id].availability_points == pytest.approx(
            settings.matching_weight_hours / 2
        )
    for value in ("-infinity", "0001-01-01"):
        assert listed[absurd[value].id].availability_points == pytest.approx(
            weight + settings.matching_weight_hours / 2
        )


async def test_an_offer_starting_at_an_absurd_date_does_not_stop_anyones_ranking(
    db_session: AsyncSession, settings: Settings, employer: Organisation
) -> None:
    usual = await add_offer(db_session, employer)
    absurd = {value: await add_offer(db_session, employer) for value in ABSURD}
    for value, offer in absurd.items():
        await db_session.execute(
            text(
                "UPDATE offer SET start_date = CAST(CAST(:value AS text) AS date),"
                " end_date = CAST(CAST(:value AS text) AS date) WHERE id = :id"
            ),
            {"value": value, "id": offer.id},
        )
    person = await add_candidate(db_session, available_from=TODAY)

    result = await refresh_candidate_matches(db_session, person.id, settings=settings, today=TODAY)

    assert result.inserted == 1 + len(ABSURD)
    for offer in [usual, *absurd.values()]:
        await refresh_offer_matches(db_session, offer.id, settings=settings, today=TODAY)
        listed = await _listed(db_session, offer.id)
        assert list(listed) == [person.id]
        assert listed[person.id].availability_points > 0
