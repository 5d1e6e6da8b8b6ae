"""A new candidate's match profile is queued at insert and built by the matching worker
(migrations 0016, 0018): the profile ``match_profile_sync`` makes, with the sector lists the
sector referential gives."""

from __future__ import annotations

import random
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.models.candidate import Candidate, CandidateStatus, QpvStatus
from services.core.referentials.sectors import SectorCode, sector_for_rome
from services.matching.profiles import build_queued_profiles
from tests.matching.support import east_of_site

# ROME codes of every sector, of none (J: health; D: trade), in either case.
WISHES = (
    "F1703", "f1104", "N1103", "n1303", "A1203", "G1602", "H2102", "K2204", "K2303", "N4105",
    "N2201", "M1607", "m1203", "J1501", "D1106",
)  # fmt: skip
STATUSES = (CandidateStatus.NEW, CandidateStatus.ACTIVE, CandidateStatus.PLACED)


def _candidate(rng: random.Random, number: int) -> Candidate:
    sectors = list(SectorCode)
    where = rng.random()
    lon, lat = east_of_site(rng.uniform(0, 30)) if where < 0.6 else (None, None)
    return Candidate(
        first_name="Samia",
        last_name=f"Profil{number}",
        search_name=f"profil{number} samia",
        # Without a point: a commune gives the centre, an unknown or missing one no profile.
        commune_insee=("93066" if where < 0.85 else "99999") if where < 0.95 else None,
        lon=lon,
        lat=lat,
        qpv_status=rng.choice((QpvStatus.IN_QPV, QpvStatus.OUTSIDE_QPV, QpvStatus.UNKNOWN)),
        sectors_wanted=rng.sample(sectors, rng.randint(0, 3)),
        sectors_worked=rng.sample(sectors, rng.randint(0, 3)),
        rome_wishes=rng.sample(WISHES, rng.randint(0, 3)) if rng.random() < 0.6 else [],
        mobility_radius_km=rng.choice((None, 5, 20, 80)),
        status=rng.choice(STATUSES),
    )


def _expected(candidate: Candidate) -> tuple[list[str], list[str], list[str]]:
    from_wishes = {str(s) for wish in candidate.rome_wishes if (s := sector_for_rome(wish))}
    wanted = {str(sector) for sector in candidate.sectors_wanted} | from_wishes
    return (
        sorted(wanted | {str(sector) for sector in candidate.sectors_worked}),
        sorted(wanted),
        sorted({wish.upper() for wish in candidate.rome_wishes}),
    )


@pytest.mark.usefixtures("reference_data")
async def test_queued_profiles_are_built_with_the_referential_lists(
    db_session: AsyncSession,
) -> None:
    rng = random.Random(16)
    candidates = [_candidate(rng, number) for number in range(300)]
    db_session.add_all(candidates)
    await db_session.flush()  # one INSERT statement: the trigger queues 300 new rows
    ids = [candidate.id for candidate in candidates]
    queued = "SELECT count(*) FROM match_profile_pending WHERE candidate_id = ANY(:ids)"
    assert await db_session.scalar(sa.text(queued), {"ids": ids}) == 300
    assert await build_queued_profiles(db_session) == 300
    assert await db_session.scalar(sa.text(queued), {"ids": ids}) == 0

    rows = {
        row.candidate_id: row
        for row in await db_session.execute(
            sa.text(
                "SELECT candidate_id, sectors, wanted, rome_wishes, xmin::text AS version "
                "FROM match_profile WHERE candidate_id = ANY(:ids)"
            ),
            {"ids": ids},
        )
    }
    rankable = {
        candidate.id
        for candidate in candidates
        if candidate.status != CandidateStatus.PLACED
        and (candidate.lon is not None or candidate.commune_insee == "93066")
    }
    assert set(rows) == rankable and 100 < len(rankable) < 300
    with_wishes = 0
    for candidate in candidates:
        if candidate.id in rankable:
            row = rows[candidate.id]
            assert (row.sectors, row.wanted, row.rome_wishes) == _expected(candidate)
            with_wishes += bool(row.rome_wishes)
    assert with_wishes > 50

    # The sync, which updated profiles are made by, finds nothing to change or add.
    await db_session.execute(sa.text("SELECT match_profile_sync(:ids)"), {"ids": ids})
    after: dict[uuid.UUID, str] = dict(
        (
            await db_session.execute(
                sa.text(
                    "SELECT candidate_id, xmin::text FROM match_profile "
                    "WHERE candidate_id = ANY(:ids)"
                ),
                {"ids": ids},
            )
        ).all()
    )
    assert after == {candidate_id: row.version for candidate_id, row in rows.items()}


@pytest.mark.usefixtures("reference_data")
async def test_a_changed_candidate_gets_the_lists_of_its_new_values(
    db_session: AsyncSession,
) -> None:
    candidate = _candidate(random.Random(3), 1000)
    candidate.lon, candidate.lat = east_of_site(2)
    candidate.status = CandidateStatus.ACTIVE
    candidate.sectors_wanted, candidate.sectors_worked = [SectorCode.CLEANING], []
    candidate.rome_wishes = []
    db_session.add(candidate)
    await db_session.flush()
    await build_queued_profiles(db_session)
    candidate.sectors_worked = [SectorCode.TRANSPORT]
    candidate.rome_wishes = ["h2102", "J1501"]
    await db_session.flush()
    row = (
        await db_session.execute(
            sa.text(
                "SELECT sectors, wanted, rome_wishes FROM match_profile WHERE candidate_id = :id"
            ),
            {"id": candidate.id},
        )
    ).one()
    assert tuple(row) == (
        ["cleaning", "industry", "transport"],
        ["cleaning", "industry"],
        ["H2102", "J1501"],
    )
