"""The benchmark data generator (bench/seed.py): proportions, QPV points, determinism, scoping."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import shapely
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bench.seed import CandidateGenerator, Ids, SeedReport, load_world, make_organisations, seed
from services.core.db import SessionMaker
from services.core.geo.qpv import QpvIndex
from services.core.models.candidate import Candidate, CandidateShare, CandidateStatus
from services.core.models.eligibility import EligibilityCriterion, EligibilityKind
from services.core.models.geo import Commune, Qpv
from services.core.models.match_profile import MatchProfile
from services.core.models.offer import Offer, OfferStatus
from services.core.models.organisation import Organisation
from services.core.models.user import User
from services.core.referentials.loader import ImportSummary
from services.core.referentials.sectors import SectorCode, sector_for_rome
from services.core.settings import Settings
from tests.conftest import ROOT
from tests.factories import bearer

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
COUNT = 2_000


async def _seeded(session: AsyncSession) -> SeedReport:
    return await seed(session, candidates=COUNT, offers=200, seed=3, now=NOW, chunk_size=700)


async def test_proportions_and_columns(
    db_session: AsyncSession, reference_data: list[ImportSummary], qpv_index: QpvIndex
) -> None:
    report = await _seeded(db_session)
    assert report.candidates == COUNT
    rows = (await db_session.scalars(select(Candidate))).all()
    assert len(rows) == COUNT

    statuses = Counter(row.status for row in rows)
    assert 0.03 < statuses[CandidateStatus.PLACED] / COUNT < 0.07
    assert 0.08 < statuses[CandidateStatus.INACTIVE] / COUNT < 0.12
    assert statuses[CandidateStatus.NEW] and statuses[CandidateStatus.ACTIVE]

    # ~30 % QPV residents, each point inside the polygon of its QPV, as the application decides.
    residents = [row for row in rows if row.qpv_status == "in_qpv"]
    assert 0.26 < len(residents) / COUNT < 0.34
    polygons = {
        code: shapely.from_wkb(wkb)
        for code, wkb in (await db_session.execute(select(col(Qpv.code), col(Qpv.geometry)))).all()
    }
    assert qpv_index.dataset is not None
    for row in residents:
        assert row.lon is not None and row.lat is not None and row.qpv_code is not None
        assert shapely.contains_xy(polygons[row.qpv_code], row.lon, row.lat)
        hit = qpv_index.lookup(row.lon, row.lat)
        assert hit.in_qpv and hit.code == row.qpv_code
        assert row.qpv_near_boundary == hit.near_boundary
        assert row.qpv_method in ("coordinates", "geocoded_address")
        assert row.qpv_polygon_version == qpv_index.dataset.version
    # The others: outside with a point, outside by the commune alone, or unknown (commune with
    # QPVs, no point) — never a point inside a QPV.
    for row in rows:
        if row.qpv_status == "outside_qpv" and row.lon is not None and row.lat is not None:
            assert not qpv_index.lookup(row.lon, row.lat).in_qpv
        if row.qpv_status == "unknown":
            assert row.lon is None and row.qpv_method == "commune_only"
            assert row.commune_insee is not None
            assert qpv_index.commune_hosts_qpv(row.commune_insee)
        assert row.qpv_checked_at is not None and row.search_name and row.search_vector

    # Availability over ±90 days around the day of the seed, on both sides.
    days = [(row.available_from - NOW.date()).days for row in rows if row.available_from]
    assert min(days) >= -90 and max(days) <= 90
    assert sum(d < -30 for d in days) > COUNT * 0.2 and sum(d > 30 for d in days) > COUNT * 0.2
    # The eight sectors, wanted by everyone.
    wanted = Counter(sector for row in rows for sector in row.sectors_wanted)
    assert set(wanted) == set(SectorCode)
    assert all(row.sectors_wanted for row in rows)
    assert all(row.phone_e164 or row.email for row in rows)
    assert len({row.phone_e164 for row in rows if row.phone_e164}) == sum(
        1 for row in rows if row.phone_e164
    )

    # Big cities dense, rural sparse: communes hosting a QPV are a few percent of all communes
    # and hold most of the people.
    urban = [row for row in rows if qpv_index.commune_hosts_qpv(row.commune_insee or "")]
    communes = (await db_session.scalars(select(col(Commune.insee)))).all()
    urban_communes = [c for c in communes if qpv_index.commune_hosts_qpv(c)]
    assert len(urban_communes) / len(communes) < 0.05
    assert len(urban) / COUNT > 0.5

    # Publics éligibles: a QPV_resident criterion only for a stored QPV residence, TH sensitive.
    criteria = (await db_session.scalars(select(EligibilityCriterion))).all()
    by_id = {row.id: row for row in rows}
    assert 0.2 < len({c.candidate_id for c in criteria}) / COUNT < 0.6
    for criterion in criteria:
        if criterion.kind is EligibilityKind.QPV_RESIDENT:
            assert by_id[criterion.candidate_id].qpv_status == "in_qpv"
        assert criterion.sensitive == (criterion.kind is EligibilityKind.TH)
        assert (criterion.validated_on is None) == (criterion.validated_by_user_id is None)
        if criterion.validated_on is not None:
            assert criterion.validated_on <= NOW.date()

    # Everyone shared with the organisation that is their referent.
    shares = (await db_session.execute(select(CandidateShare))).scalars().all()
    owners = {(s.candidate_id, s.organisation_id) for s in shares}
    assert all((row.id, row.referent_organisation_id) in owners for row in rows)
    # The matching profile, kept by the database's triggers under COPY, for every rankable
    # candidate (new or active; everyone is located, by a point or the commune's centre), with
    # the latest expiry of a validated criterion.
    rankable = {
        row.id for row in rows if row.status in (CandidateStatus.NEW, CandidateStatus.ACTIVE)
    }
    profiles = {p.candidate_id: p for p in (await db_session.scalars(select(MatchProfile))).all()}
    assert set(profiles) == rankable
    for candidate_id, profile in profiles.items():
        validated = [
            c.expires_on
            for c in criteria
            if c.candidate_id == candidate_id and c.validated_on and c.expires_on
        ]
        assert profile.eligible_until == (max(validated) if validated else None)
        assert profile.in_qpv == (by_id[candidate_id].qpv_status == "in_qpv")

    offers = (await db_session.scalars(select(Offer))).all()
    assert len(offers) == 200
    assert all(o.status is OfferStatus.OPEN and o.open_positions >= 1 for o in offers)
    assert all(o.sector == sector_for_rome(o.rome_code) for o in offers)
    assert {o.sector for o in offers} >= set(SectorCode)
    assert sum(o.contract_id is not None for o in offers) > 150
    priorities = (
        await db_session.execute(
            text("SELECT DISTINCT qpv_priority, is_npnru FROM contract")
        )
    ).all()  # fmt: skip
    assert {p for p, _ in priorities} == {"none", "preferred", "required"}
    assert {n for _, n in priorities} == {True, False}


async def test_same_seed_same_rows(
    db_session: AsyncSession, reference_data: list[ImportSummary]
) -> None:
    world = await load_world(db_session)

    def draw(number: int) -> tuple[object, ...]:
        rng = random.Random(number)
        organisations = make_organisations(world, rng, Ids(rng), NOW, number)
        generator = CandidateGenerator(world, organisations, number, NOW)
        first = generator.chunk(300)
        return first, generator.chunk(200)

    assert draw(7) == draw(7)
    assert draw(7) != draw(8)


async def test_api_sees_them_within_scope(
    db_session: AsyncSession,
    reference_data: list[ImportSummary],
    client: httpx.AsyncClient,
    settings: Settings,
) -> None:
    report = await _seeded(db_session)
    users = {
        user.email: user
        for user in (await db_session.scalars(select(User))).all()
        if user.email in {email for email, _, _ in report.accounts}
    }
    facilitator = users["animation1@bench3.maillon.fr"]
    territory = {facilitator.organisation_id} | set(
        await db_session.scalars(
            select(col(Organisation.id)).where(
                col(Organisation.parent_id) == facilitator.organisation_id
            )
        )
    )
    visible = await db_session.scalar(
        select(func.count(func.distinct(col(CandidateShare.candidate_id)))).where(
            col(CandidateShare.organisation_id).in_(territory)
        )
    )
    assert visible and 0 < visible < COUNT
    headers = bearer(facilitator, settings)
    listed = await client.get("/v1/candidates", params={"limit": 1}, headers=headers)
    assert listed.status_code == 200, listed.text
    assert listed.json()["pagination"]["total_count"] == visible

    # A candidate of the territory is found by phone; one outside it is not.
    inside = await db_session.scalar(
        select(Candidate)
        .join(CandidateShare, col(CandidateShare.candidate_id) == col(Candidate.id))
        .where(col(CandidateShare.organisation_id).in_(territory))
        .where(col(Candidate.phone_e164).is_not(None))
        .limit(1)
    )
    outside = await db_session.scalar(
        select(Candidate)
        .where(col(Candidate.phone_e164).is_not(None))
        .where(
            ~col(Candidate.id).in_(
                select(col(CandidateShare.candidate_id)).where(
                    col(CandidateShare.organisation_id).in_(territory)
                )
            )
        )
        .limit(1)
    )
    assert inside is not None and outside is not None
    for candidate, expected in ((inside, 1), (outside, 0)):
        found = await client.post(
            "/v1/candidates/search", json={"q": candidate.phone_e164}, headers=headers
        )
        assert found.status_code == 200, found.text
        ids = [item["id"] for item in found.json()["items"]]
        assert ids.count(str(candidate.id)) == expected
    # Accounts were made for every structure of the network and can be used as they are.
    assert len(report.accounts) == 1 + 6 * 5
    assert report.candidates_per_second > 0
    assert NOW - timedelta(days=541) < min(
        (await db_session.scalars(select(col(Candidate.created_at)))).all()
    )


@pytest.mark.slow
async def test_command_loads_and_commits(
    settings: Settings,
    committing_sessionmaker: SessionMaker,
    reference_data: list[ImportSummary],
) -> None:
    """``maillon bench seed`` as an operator runs it (emptied afterwards by the fixture)."""
    assert settings.database_url is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILLON_")}
    env.update(MAILLON_LOG_JSON="false")
    command = [sys.executable, "-m", "services.cli", "bench", "seed", "--candidates", "120"]
    command += ["--offers", "30", "--seed", "5", "--database-url", settings.database_url]
    done = subprocess.run(  # noqa: ASYNC221  (a real process, as the operator runs it)
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "120 candidats" in done.stdout and "30 offres" in done.stdout
    assert "animation1@bench5.maillon.fr" in done.stdout
    async with committing_sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Candidate)) == 120
        assert await session.scalar(select(func.count()).select_from(Offer)) == 30
