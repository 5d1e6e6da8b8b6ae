"""Retention (product.md §9): no activity for the organisation's months → warned 30 days ahead,
then anonymised; any activity after the warning keeps the person."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import col

from services.core.alerts.kinds import AlertKind
from services.core.clock import FrozenClock, use_clock
from services.core.db import SessionMaker, unit_of_work
from services.core.models import AuditEntry, Candidate, Intake, IntakeFile, OutboxEvent
from services.core.models.candidate import CandidateShare, CandidateStatus, ShareReason
from services.core.models.intake import IntakeFileKind, IntakeSource
from services.core.models.notification import Notification
from services.core.models.organisation import Organisation
from services.core.models.user import User
from services.core.settings import Settings
from services.core.storage import LocalStorage, new_key
from services.notifications.retention import retention_sweep
from tests.notifications.conftest import Team

START = datetime(2024, 1, 15, 10, 0, tzinfo=UTC)


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "files")


async def _person(
    sessionmaker: SessionMaker,
    organisation: Organisation,
    *,
    last_activity: datetime,
    referent: User | None = None,
    with_file: LocalStorage | None = None,
) -> uuid.UUID:
    async with unit_of_work(sessionmaker) as session:
        candidate = Candidate(
            first_name="Awa",
            last_name="Diallo",
            search_name="diallo awa",
            phone_e164=f"+3361{uuid.uuid4().int % 10**7:07d}",
            commune_insee="93066",
            last_activity_at=last_activity,
            referent_prescriber_id=referent.id if referent else None,
        )
        session.add(candidate)
        await session.flush()
        session.add(
            CandidateShare(
                candidate_id=candidate.id,
                organisation_id=organisation.id,
                reason=ShareReason.CREATED,
            )
        )
        if with_file is not None:
            intake = Intake(
                candidate_id=candidate.id,
                organisation_id=organisation.id,
                source=IntakeSource.KIOSK,
                deposit_date=last_activity.date(),
                answers={"nom": "DIALLO"},
                consent_given=True,
            )
            session.add(intake)
            await session.flush()
            key = new_key()
            await with_file.put(key, b"%PDF-1.4 cv")
            session.add(
                IntakeFile(
                    intake_id=intake.id,
                    kind=IntakeFileKind.CV,
                    storage_key=key,
                    original_name="cv.pdf",
                    content_type="application/pdf",
                    size=11,
                    sha256="0" * 64,
                )
            )
        return candidate.id


async def _get(sessionmaker: SessionMaker, candidate_id: uuid.UUID) -> Candidate:
    async with sessionmaker() as session:
        candidate = await session.get(Candidate, candidate_id)
        assert candidate is not None
        return candidate


async def _alerts(sessionmaker: SessionMaker, candidate_id: uuid.UUID) -> list[Notification]:
    async with sessionmaker() as session:
        return list(
            await session.scalars(
                select(Notification).where(
                    col(Notification.subject_id) == candidate_id,
                    col(Notification.kind) == AlertKind.CANDIDATE_RETENTION.value,
                )
            )
        )


async def _set_months(sessionmaker: SessionMaker, organisation: Organisation, months: int) -> None:
    async with unit_of_work(sessionmaker) as session:
        stored = await session.get(Organisation, organisation.id)
        assert stored is not None
        stored.retention_months = months


async def test_warned_thirty_days_ahead_then_anonymised(
    committing_sessionmaker: SessionMaker, team: Team, settings: Settings, storage: LocalStorage
) -> None:
    await _set_months(committing_sessionmaker, team.organisation, 12)
    clock = FrozenClock(START)
    with use_clock(clock):
        # 12 months without activity end in 29 days: warned now. In 31 days: not yet.
        soon = await _person(
            committing_sessionmaker,
            team.organisation,
            last_activity=START - timedelta(days=365 - 29),
            with_file=storage,
        )
        later = await _person(
            committing_sessionmaker,
            team.organisation,
            last_activity=START - timedelta(days=365 - 31),
        )
        first = await retention_sweep(committing_sessionmaker, storage, settings)
        assert (first.warned, first.anonymised) == (1, 0)
        assert (await _get(committing_sessionmaker, soon)).retention_warned_at == START
        assert (await _get(committing_sessionmaker, later)).retention_warned_at is None
        # No referent prescriber: the organisation's manager is warned, without the name.
        [alert] = await _alerts(committing_sessionmaker, soon)
        assert alert.recipient_user_id == team.manager.id
        assert alert.context["months"] == 12
        assert "Diallo" not in str(alert.context) and "Awa" not in str(alert.context)
        # The same day again: nothing new.
        again = await retention_sweep(committing_sessionmaker, storage, settings)
        assert (again.warned, again.anonymised) == (0, 0)

        # The limit passed but the notice is 30 days: still kept on day 29.
        clock.advance(timedelta(days=29, hours=12))
        assert (await retention_sweep(committing_sessionmaker, storage, settings)).anonymised == 0
        clock.advance(timedelta(days=1))
        done = await retention_sweep(committing_sessionmaker, storage, settings)
    assert (done.anonymised, done.files_deleted) == (1, 1)
    erased = await _get(committing_sessionmaker, soon)
    assert erased.status is CandidateStatus.ANONYMISED
    assert (erased.first_name, erased.last_name, erased.phone_e164) == (None, None, None)
    assert erased.commune_insee == "93066"  # statistics stay
    assert [path for path in storage.root.rglob("*") if path.is_file()] == []
    async with committing_sessionmaker() as session:
        [entry] = await session.scalars(
            select(AuditEntry).where(
                col(AuditEntry.resource_id) == soon, col(AuditEntry.action) == "anonymise"
            )
        )
        assert (entry.actor_type, entry.details["reason"]) == ("system", "retention")
        events = list(
            await session.scalars(
                select(col(OutboxEvent.type)).where(
                    col(OutboxEvent.payload)["candidate_id"].astext == str(soon)
                )
            )
        )
        assert events == ["candidate.anonymised"]
        assert await session.scalar(select(col(IntakeFile.id)).limit(1)) is None
    # The other one was warned in its turn, and is still there.
    kept = await _get(committing_sessionmaker, later)
    assert kept.status is CandidateStatus.NEW and kept.retention_warned_at is not None


async def test_activity_after_the_warning_keeps_the_person(
    committing_sessionmaker: SessionMaker, team: Team, settings: Settings, storage: LocalStorage
) -> None:
    referent = team.prescribers[0]
    clock = FrozenClock(START)
    with use_clock(clock):
        # No setting: the instance's 24 months.
        candidate_id = await _person(
            committing_sessionmaker,
            team.organisation,
            last_activity=START - timedelta(days=730 - 10),
            referent=referent,
        )
        assert (await retention_sweep(committing_sessionmaker, storage, settings)).warned == 1
        [alert] = await _alerts(committing_sessionmaker, candidate_id)
        assert alert.recipient_user_id == referent.id  # the referent prescriber first
        clock.advance(timedelta(days=20))
        async with unit_of_work(committing_sessionmaker) as session:
            person = await session.get(Candidate, candidate_id)
            assert person is not None
            person.last_activity_at = clock.now()  # a new intake, a call, an update
        clock.advance(timedelta(days=40))
        run = await retention_sweep(committing_sessionmaker, storage, settings)
    assert (run.warned, run.anonymised) == (0, 0)
    assert (await _get(committing_sessionmaker, candidate_id)).status is CandidateStatus.NEW


async def test_a_late_warning_still_gives_its_full_notice(
    committing_sessionmaker: SessionMaker, team: Team, settings: Settings, storage: LocalStorage
) -> None:
    clock = FrozenClock(START)
    with use_clock(clock):
        # Already past 24 months (the job did not run, or the rule was shortened).
        candidate_id = await _person(
            committing_sessionmaker, team.organisation, last_activity=START - timedelta(days=800)
        )
        run = await retention_sweep(committing_sessionmaker, storage, settings)
        assert (run.warned, run.anonymised) == (1, 0)
        clock.advance(timedelta(days=29))
        assert (await retention_sweep(committing_sessionmaker, storage, settings)).anonymised == 0
        clock.advance(timedelta(days=1))
        assert (await retention_sweep(committing_sessionmaker, storage, settings)).anonymised == 1
    assert (await _get(committing_sessionmaker, candidate_id)).status is CandidateStatus.ANONYMISED


async def test_the_nightly_job_of_the_notifications_worker(
    committing_sessionmaker: SessionMaker, team: Team, settings: Settings, tmp_path: Path
) -> None:
    from services.notifications.retention import run_retention
    from services.notifications.worker import cron_jobs

    assert "cron:run_retention" in {job.name for job in cron_jobs(settings)}
    clock = FrozenClock(START)
    with use_clock(clock):
        await _person(
            committing_sessionmaker, team.organisation, last_activity=START - timedelta(days=720)
        )
        ctx = {
            "settings": settings.model_copy(update={"storage_dir": tmp_path / "files"}),
            "sessionmaker": committing_sessionmaker,
            "storage": LocalStorage(tmp_path / "files"),
        }
        assert await run_retention(ctx) == {"warned": 1, "anonymised": 0, "files": 0}
