"""The matching worker builds queued profiles without ever waiting on a writer, and without
losing a change made meanwhile (migration 0018, decision 0037)."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
import sqlalchemy as sa

from services.core.db import SessionMaker, unit_of_work
from services.core.models.candidate import Candidate, CandidateStatus, QpvStatus
from services.core.models.eligibility import EligibilityCriterion, EligibilityKind
from services.core.referentials.sectors import SectorCode
from services.matching.profiles import build_profile_of, build_queued_profiles
from tests.matching.support import east_of_site

pytestmark = pytest.mark.usefixtures("reference_data")


async def _new_candidate(sessionmaker: SessionMaker) -> Candidate:
    lon, lat = east_of_site(3)
    candidate = Candidate(
        first_name="Samia",
        last_name="Queue",
        search_name="queue samia",
        commune_insee="93066",
        lon=lon,
        lat=lat,
        qpv_status=QpvStatus.OUTSIDE_QPV,
        sectors_wanted=[SectorCode.CLEANING],
        status=CandidateStatus.NEW,
    )
    async with unit_of_work(sessionmaker) as session:
        session.add(candidate)
    return candidate


async def _profile(sessionmaker: SessionMaker, candidate: Candidate) -> tuple[object, ...] | None:
    async with sessionmaker() as session:
        row = (
            await session.execute(
                sa.text(
                    "SELECT sectors, eligible_until FROM match_profile WHERE candidate_id = :id"
                ),
                {"id": candidate.id},
            )
        ).one_or_none()
    return None if row is None else tuple(row)


async def _flush(sessionmaker: SessionMaker) -> int:
    async with unit_of_work(sessionmaker) as session:
        return await asyncio.wait_for(build_queued_profiles(session), timeout=5)


async def test_a_candidate_being_written_stays_queued_until_the_writer_is_done(
    committing_sessionmaker: SessionMaker,
) -> None:
    candidate = await _new_candidate(committing_sessionmaker)
    async with committing_sessionmaker() as writer:
        # An intake laying a form over them holds their row, as the contact lookup takes it.
        await writer.execute(
            sa.text("SELECT 1 FROM candidate WHERE id = :id FOR UPDATE"), {"id": candidate.id}
        )
        assert await _flush(committing_sessionmaker) == 0  # no wait: left in the queue
        assert await _profile(committing_sessionmaker, candidate) is None
        await writer.commit()
    assert await _flush(committing_sessionmaker) == 1
    assert await _profile(committing_sessionmaker, candidate) == (["cleaning"], None)


async def test_a_criterion_validated_while_queued_reaches_the_profile(
    committing_sessionmaker: SessionMaker,
) -> None:
    candidate = await _new_candidate(committing_sessionmaker)
    async with committing_sessionmaker() as counsellor:
        # Not committed yet: a flush now cannot read the criterion.
        counsellor.add(
            EligibilityCriterion(
                candidate_id=candidate.id,
                kind=EligibilityKind.DELD,
                validated_on=date(2026, 1, 10),
            )
        )
        await counsellor.flush()
        assert await _flush(committing_sessionmaker) == 0
        await counsellor.commit()
    assert await _flush(committing_sessionmaker) == 1
    assert await _profile(committing_sessionmaker, candidate) == (["cleaning"], date.max)


async def test_a_criterion_validated_during_a_flush_waits_for_it_then_updates_the_profile(
    committing_sessionmaker: SessionMaker,
) -> None:
    candidate = await _new_candidate(committing_sessionmaker)
    async with committing_sessionmaker() as worker:
        assert await build_queued_profiles(worker) == 1  # not committed: the row stays locked

        async def validate() -> None:
            async with unit_of_work(committing_sessionmaker) as counsellor:
                counsellor.add(
                    EligibilityCriterion(
                        candidate_id=candidate.id,
                        kind=EligibilityKind.DELD,
                        validated_on=date(2026, 1, 10),
                    )
                )

        waiting = asyncio.create_task(validate())
        await asyncio.sleep(0.3)
        assert not waiting.done()
        await worker.commit()
        await asyncio.wait_for(waiting, timeout=5)
    assert await _profile(committing_sessionmaker, candidate) == (["cleaning"], date.max)


async def test_a_ranking_job_waits_for_the_flush_building_its_candidates_profile(
    committing_sessionmaker: SessionMaker,
) -> None:
    # Two jobs of one batch: the other one's flush took this candidate and has not committed.
    candidate = await _new_candidate(committing_sessionmaker)
    async with committing_sessionmaker() as other_job:
        assert await build_queued_profiles(other_job) == 1

        async def own_job() -> tuple[bool, int]:
            async with unit_of_work(committing_sessionmaker) as session:
                built = await build_profile_of(session, candidate.id)
                assert await build_queued_profiles(session) == 0
                found = await session.scalar(
                    sa.text("SELECT count(*) FROM match_profile WHERE candidate_id = :id"),
                    {"id": candidate.id},
                )
                return built, int(found or 0)

        waiting = asyncio.create_task(own_job())
        await asyncio.sleep(0.3)
        assert not waiting.done()  # waits rather than finding no profile
        await other_job.commit()
        assert await asyncio.wait_for(waiting, timeout=5) == (False, 1)


async def test_a_ranking_job_builds_its_queued_candidates_profile_itself(
    committing_sessionmaker: SessionMaker,
) -> None:
    candidate = await _new_candidate(committing_sessionmaker)
    async with unit_of_work(committing_sessionmaker) as session:
        assert await build_profile_of(session, candidate.id)
        assert await build_profile_of(session, candidate.id) is False  # nothing left queued
    assert await _profile(committing_sessionmaker, candidate) == (["cleaning"], None)
