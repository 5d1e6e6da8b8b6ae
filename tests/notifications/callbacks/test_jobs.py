"""Callback cases over their whole window, with the clock moved: the intake handler opens them,
the sweep and the per-case job raise each alert at its day and hour, outcomes stop them."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
import redis.asyncio as aioredis
from arq.constants import job_key_prefix
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.callbacks import service
from services.core.callbacks.cases import open_for_intake
from services.core.clock import PARIS, FrozenClock, use_clock
from services.core.db import SessionMaker
from services.core.events import (
    CandidateAnonymised,
    Consumer,
    IntakeReceived,
    emit,
    job_id,
    queue_name,
)
from services.core.jobs import HandlerContext
from services.core.models.callback import (
    AttemptChannel,
    AttemptResult,
    CallbackAlertKind,
    CallbackCase,
    CallbackOutcome,
    CallbackStatus,
)
from services.core.models.intake import Intake, IntakeSource
from services.core.models.notification import Notification, NotificationStatus
from services.core.models.organisation import Organisation, OrganisationKind
from services.core.models.outbox import OutboxEvent
from services.core.models.user import Role, User
from services.core.queue import create_queue_pool
from services.core.relay import JOB_FUNCTION
from services.core.security.principal import Principal
from services.core.settings import Settings
from services.notifications.callbacks import jobs
from services.notifications.callbacks.sweep import alert_job_id, raise_due, sweep
from services.notifications.consumer import consumer
from tests.core.events_support import burst_worker
from tests.factories import make_candidate, make_organisation, make_user


def paris(y: int, m: int, d: int, h: int = 0, minute: int = 0) -> datetime:
    return datetime(y, m, d, h, minute, tzinfo=PARIS).astimezone(UTC)


@dataclass
class Agency:
    organisation: Organisation
    prescriber: User
    manager: User


@pytest.fixture
async def agency(committing_sessionmaker: SessionMaker) -> Agency:
    async with committing_sessionmaker() as session:
        organisation = await make_organisation(session, kind=OrganisationKind.FRANCE_TRAVAIL)
        prescriber = await make_user(session, organisation, Role.PRESCRIBER)
        manager = await make_user(session, organisation, Role.PRESCRIBER, is_manager=True)
        await session.commit()
    return Agency(organisation, prescriber, manager)


async def deposit(
    sessionmaker: SessionMaker,
    agency: Agency,
    on: date,
    *,
    candidate_id: uuid.UUID | None = None,
) -> Intake:
    async with sessionmaker() as session:
        if candidate_id is None:
            candidate_id = (await make_candidate(session, agency.organisation)).id
        intake = Intake(
            candidate_id=candidate_id,
            organisation_id=agency.organisation.id,
            place_organisation_id=agency.organisation.id,
            source=IntakeSource.KIOSK,
            deposit_date=on,
        )
        session.add(intake)
        await session.commit()
        return intake


async def receive(sessionmaker: SessionMaker, settings: Settings, intake: Intake) -> None:
    """The ``intake.received`` handler, as the notifications consumer runs it."""
    async with sessionmaker() as session:
        event = IntakeReceived(intake_id=intake.id, candidate_id=intake.candidate_id)
        await jobs.open_callback_case(HandlerContext(session, uuid.uuid4(), settings), event)
        await session.commit()


async def case_of(sessionmaker: SessionMaker, intake: Intake) -> CallbackCase:
    async with sessionmaker() as session:
        case = await session.scalar(
            select(CallbackCase).where(col(CallbackCase.candidate_id) == intake.candidate_id)
        )
        assert case is not None
        return case


async def notifications(sessionmaker: SessionMaker, case_id: uuid.UUID) -> list[Notification]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(Notification)
            .where(col(Notification.subject_id) == case_id)
            .order_by(col(Notification.created_at), col(Notification.key))
        )
        return list(rows)


async def test_every_alert_at_its_day_and_hour_over_the_whole_window(
    committing_sessionmaker: SessionMaker, settings: Settings, agency: Agency
) -> None:
    # Deposited Friday 17 April 2026, uploaded Monday 20 April at 10:00 (Paris).
    clock = FrozenClock(paris(2026, 4, 20, 10))
    with use_clock(clock):
        intake = await deposit(committing_sessionmaker, agency, date(2026, 4, 17))
        await receive(committing_sessionmaker, settings, intake)
        case = await case_of(committing_sessionmaker, intake)
        assert case.status is CallbackStatus.OPEN
        assert case.organisation_id == agency.organisation.id
        assert case.due_at == paris(2026, 5, 17)  # deposit + 30 days, midnight in Paris

        first_seen: dict[str, datetime] = {}
        end = paris(2026, 5, 25)
        while clock.now() < end:
            await raise_due(committing_sessionmaker, settings, clock.now())
            for row in await notifications(committing_sessionmaker, case.id):
                first_seen.setdefault(row.kind, clock.now())
            clock.advance(timedelta(hours=1))

    assert first_seen == {
        "callback.assigned": paris(2026, 4, 20, 10),
        # Day 14 is Friday 1 May, a public holiday: Monday 4 May at opening.
        "callback.reminder": paris(2026, 5, 4, 9),
        "callback.urgent": paris(2026, 5, 12, 9),  # day 25, a Tuesday
        # Day 30 is Sunday 17 May: Monday 18 May at opening.
        "callback.overdue": paris(2026, 5, 18, 9),
    }
    rows = await notifications(committing_sessionmaker, case.id)
    recipients = {(row.kind, row.recipient_user_id) for row in rows}
    everyone = {agency.prescriber.id, agency.manager.id}
    assert {r for k, r in recipients if k == "callback.reminder"} == everyone
    # The overdue case escalates to the organisation's managers only.
    assert {r for k, r in recipients if k == "callback.overdue"} == {agency.manager.id}
    assert {row.key for row in rows} == {
        f"callback:{case.id}:assigned:1",
        f"callback:{case.id}:reminder",
        f"callback:{case.id}:urgent",
        f"callback:{case.id}:overdue",
    }
    async with committing_sessionmaker() as session:
        overdue_events = list(
            await session.scalars(
                select(OutboxEvent).where(col(OutboxEvent.type) == "callback.overdue")
            )
        )
    assert [event.payload["callback_id"] for event in overdue_events] == [str(case.id)]
    final = await case_of(committing_sessionmaker, intake)
    assert final.next_alert_at is None
    assert final.alerts_raised == ["assigned:1", "reminder", "urgent", "overdue"]


def counsellor(agency: Agency) -> Principal:
    return Principal(
        kind="user",
        id=agency.prescriber.id,
        organisation_id=agency.organisation.id,
        role=Role.PRESCRIBER,
        territory=frozenset({agency.organisation.id}),
    )


async def test_a_failed_attempt_plans_a_follow_up_and_an_outcome_stops_everything(
    committing_sessionmaker: SessionMaker, settings: Settings, agency: Agency
) -> None:
    clock = FrozenClock(paris(2026, 3, 2, 10))  # Monday
    with use_clock(clock):
        intake = await deposit(committing_sessionmaker, agency, date(2026, 3, 2))
        await receive(committing_sessionmaker, settings, intake)
        case_id = (await case_of(committing_sessionmaker, intake)).id

        clock.set(paris(2026, 3, 5, 16, 20))  # Thursday: no answer
        async with committing_sessionmaker() as session:
            case = await session.get(CallbackCase, case_id, with_for_update=True)
            assert case is not None
            await service.record_attempt(
                session,
                case,
                counsellor(agency),
                settings,
                clock.now(),
                channel=AttemptChannel.PHONE,
                result=AttemptResult.NO_ANSWER,
                attempted_at=None,
                comment=None,
            )
            await session.commit()
            assert case.next_alert_kind is CallbackAlertKind.FOLLOW_UP
            assert case.next_alert_at == paris(2026, 3, 9, 16, 20)  # 2 working days later

        clock.set(paris(2026, 3, 9, 16, 20))
        assert await raise_due(committing_sessionmaker, settings, clock.now()) == (1, 1)
        kinds = [row.key for row in await notifications(committing_sessionmaker, case_id)]
        assert kinds[-1] == f"callback:{case_id}:follow_up:1"

        clock.set(paris(2026, 3, 10, 11))  # reached, then the outcome
        async with committing_sessionmaker() as session:
            case = await session.get(CallbackCase, case_id, with_for_update=True)
            assert case is not None
            principal = counsellor(agency)
            await service.record_attempt(
                session,
                case,
                principal,
                settings,
                clock.now(),
                channel=AttemptChannel.PHONE,
                result=AttemptResult.REACHED,
                attempted_at=None,
                comment=None,
            )
            await service.record_outcome(
                session, case, principal, clock.now(), CallbackOutcome.TRAINING
            )
            await session.commit()
        before = len(await notifications(committing_sessionmaker, case_id))
        for day in range(40):  # nothing ever again
            clock.set(paris(2026, 3, 10, 11) + timedelta(days=day))
            assert await raise_due(committing_sessionmaker, settings, clock.now()) == (0, 0)
        rows = await notifications(committing_sessionmaker, case_id)
        assert len(rows) == before
        closed = await case_of(committing_sessionmaker, intake)
        assert closed.status is CallbackStatus.CLOSED
        assert closed.outcome is CallbackOutcome.TRAINING
        assert closed.next_alert_at is None


async def test_an_outcome_cancels_the_alerts_still_pending(
    committing_sessionmaker: SessionMaker, settings: Settings, agency: Agency
) -> None:
    clock = FrozenClock(paris(2026, 3, 2, 10))
    with use_clock(clock):
        intake = await deposit(committing_sessionmaker, agency, date(2026, 3, 2))
        await receive(committing_sessionmaker, settings, intake)
        case_id = (await case_of(committing_sessionmaker, intake)).id
        pending = await notifications(committing_sessionmaker, case_id)
        assert pending and {row.status for row in pending} == {NotificationStatus.PENDING}
        async with committing_sessionmaker() as session:
            case = await session.get(CallbackCase, case_id, with_for_update=True)
            assert case is not None
            principal = counsellor(agency)
            await service.record_attempt(
                session,
                case,
                principal,
                settings,
                clock.now(),
                channel=AttemptChannel.IN_PERSON,
                result=AttemptResult.REACHED,
                attempted_at=None,
                comment=None,
            )
            await service.record_outcome(
                session, case, principal, clock.now(), CallbackOutcome.ADVICE
            )
            await session.commit()
    rows = await notifications(committing_sessionmaker, case_id)
    assert {row.status for row in rows} == {NotificationStatus.CANCELLED}


async def test_three_failed_attempts_close_the_case_as_unreachable(
    committing_sessionmaker: SessionMaker, settings: Settings, agency: Agency
) -> None:
    clock = FrozenClock(paris(2026, 3, 2, 10))
    with use_clock(clock):
        intake = await deposit(committing_sessionmaker, agency, date(2026, 3, 2))
        await receive(committing_sessionmaker, settings, intake)
        case_id = (await case_of(committing_sessionmaker, intake)).id
        results = [AttemptResult.NO_ANSWER, AttemptResult.MESSAGE_LEFT, AttemptResult.WRONG_NUMBER]
        for day, result in enumerate(results):
            clock.set(paris(2026, 3, 3 + day, 11))
            async with committing_sessionmaker() as session:
                case = await session.get(CallbackCase, case_id, with_for_update=True)
                assert case is not None
                await service.record_attempt(
                    session,
                    case,
                    counsellor(agency),
                    settings,
                    clock.now(),
                    channel=AttemptChannel.PHONE,
                    result=result,
                    attempted_at=None,
                    comment=None,
                )
                await session.commit()
        async with committing_sessionmaker() as session:
            case = await session.get(CallbackCase, case_id, with_for_update=True)
            assert case is not None
            assert (case.status, case.outcome) == (
                CallbackStatus.CLOSED,
                CallbackOutcome.UNREACHABLE,
            )
            assert case.next_alert_at is None
            with pytest.raises(service.AttemptsExhausted):
                await service.record_attempt(
                    session,
                    case,
                    counsellor(agency),
                    settings,
                    clock.now(),
                    channel=AttemptChannel.SMS,
                    result=AttemptResult.REACHED,
                    attempted_at=None,
                    comment=None,
                )


async def test_a_second_intake_while_open_marks_the_person_as_come_back(
    db_session: AsyncSession, settings: Settings
) -> None:
    organisation = await make_organisation(db_session, kind=OrganisationKind.SOCIAL_LANDLORD)
    candidate = await make_candidate(db_session, organisation)
    intakes = []
    for on in (date(2026, 2, 20), date(2026, 2, 27)):
        intake = Intake(
            candidate_id=candidate.id,
            organisation_id=organisation.id,
            source=IntakeSource.KIOSK,
            deposit_date=on,
        )
        db_session.add(intake)
        intakes.append(intake)
    await db_session.flush()
    at = paris(2026, 3, 2, 10)
    first = await open_for_intake(db_session, intakes[0].id, settings, at)
    again = await open_for_intake(db_session, intakes[1].id, settings, at)
    assert first is not None and first.created
    assert again is not None and not again.created and again.case.id == first.case.id
    assert (again.case.returned_count, again.case.last_returned_on) == (1, date(2026, 2, 27))
    # The window still counts from the first deposit.
    assert again.case.deposit_date == date(2026, 2, 20)
    cases = list(
        await db_session.scalars(
            select(CallbackCase).where(col(CallbackCase.candidate_id) == candidate.id)
        )
    )
    assert len(cases) == 1


async def test_the_sweep_catches_an_alert_whose_job_was_lost(
    committing_sessionmaker: SessionMaker,
    settings: Settings,
    agency: Agency,
    redis_client: aioredis.Redis,
) -> None:
    clock = FrozenClock(paris(2026, 3, 5, 16, 23))
    with use_clock(clock):
        intake = await deposit(committing_sessionmaker, agency, date(2026, 3, 2))
        await receive(committing_sessionmaker, settings, intake)
        case_id = (await case_of(committing_sessionmaker, intake)).id
        async with committing_sessionmaker() as session:
            case = await session.get(CallbackCase, case_id, with_for_update=True)
            assert case is not None
            await service.record_attempt(
                session,
                case,
                counsellor(agency),
                settings,
                clock.now(),
                channel=AttemptChannel.PHONE,
                result=AttemptResult.NO_ANSWER,
                attempted_at=None,
                comment=None,
            )
            await session.commit()
        follow_up_at = paris(2026, 3, 9, 16, 23)

        # The run five minutes before arms the case's job for its moment, under its fixed id.
        clock.set(follow_up_at - timedelta(minutes=5))
        result = await sweep(committing_sessionmaker, settings, clock.now(), redis_client)
        assert (result.alerts, result.armed) == (0, 1)
        job_id = alert_job_id(case_id)
        queue = queue_name(Consumer.NOTIFICATIONS)
        score = await redis_client.zscore(queue, job_id)
        assert score is not None
        # Deferred by the five minutes left, on the system clock arq runs on.
        assert 0 < score - time.time() * 1000 <= 5 * 60 * 1000
        # Armed again (same id): replaced, not refused, and still one job.
        assert (
            await sweep(committing_sessionmaker, settings, clock.now(), redis_client)
        ).armed == 1
        assert await redis_client.zcard(queue) == 1

        # The job is lost (Redis flushed, a worker gone): the next run raises the alert anyway.
        await redis_client.delete(job_key_prefix + job_id)
        await redis_client.zrem(queue, job_id)
        clock.set(follow_up_at + timedelta(minutes=7))
        result = await sweep(committing_sessionmaker, settings, clock.now(), redis_client)
        assert (result.cases, result.alerts) == (1, 1)
        keys = [row.key for row in await notifications(committing_sessionmaker, case_id)]
        assert keys.count(f"callback:{case_id}:follow_up:1") == 2  # prescriber and manager


async def test_the_alert_job_raises_what_is_due_and_nothing_else(
    committing_sessionmaker: SessionMaker, settings: Settings, agency: Agency
) -> None:
    clock = FrozenClock(paris(2026, 3, 2, 10))
    with use_clock(clock):
        intake = await deposit(committing_sessionmaker, agency, date(2026, 3, 2))
        await receive(committing_sessionmaker, settings, intake)
        case = await case_of(committing_sessionmaker, intake)
        assert case.next_alert_kind is CallbackAlertKind.REMINDER
        ctx = {"sessionmaker": committing_sessionmaker, "settings": settings}
        assert await jobs.callback_alert(ctx, str(case.id)) == "nothing due"
        clock.set(paris(2026, 3, 16, 9))  # day 14, a Monday
        assert await jobs.callback_alert(ctx, str(case.id)) == "1 alert(s)"
        assert await jobs.callback_alert(ctx, str(case.id)) == "nothing due"  # ran twice
    keys = {row.key for row in await notifications(committing_sessionmaker, case.id)}
    assert f"callback:{case.id}:reminder" in keys


async def test_a_real_worker_opens_the_case_and_runs_the_armed_alert_job(
    committing_sessionmaker: SessionMaker,
    settings: Settings,
    agency: Agency,
    redis_client: aioredis.Redis,
) -> None:
    """The notifications worker as deployed: the ``intake.received`` job, then the alert job the
    sweep armed, each run by a real arq worker in burst mode."""
    clock = FrozenClock(paris(2026, 3, 2, 10))
    with use_clock(clock):
        intake = await deposit(committing_sessionmaker, agency, date(2026, 3, 2))
        async with committing_sessionmaker() as session:
            event = emit(
                session, IntakeReceived(intake_id=intake.id, candidate_id=intake.candidate_id)
            )
            await session.commit()
        queue = await create_queue_pool(settings.redis_url or "")
        everything = [consumer.job_function(settings), *jobs.FUNCTIONS]
        try:
            await queue.enqueue_job(
                JOB_FUNCTION,
                str(event.id),
                _job_id=job_id(Consumer.NOTIFICATIONS, event.id),
                _queue_name=queue_name(Consumer.NOTIFICATIONS),
            )
            worker = burst_worker(consumer, settings, functions=everything)
            await worker.async_run()
            await worker.close()
            case = await case_of(committing_sessionmaker, intake)
            assert case.next_alert_kind is CallbackAlertKind.REMINDER

            clock.set(paris(2026, 3, 2, 14, 37))  # no answer: a follow-up on Wednesday, 14:37
            async with committing_sessionmaker() as session:
                row = await session.get(CallbackCase, case.id, with_for_update=True)
                assert row is not None
                await service.record_attempt(
                    session,
                    row,
                    counsellor(agency),
                    settings,
                    clock.now(),
                    channel=AttemptChannel.PHONE,
                    result=AttemptResult.NO_ANSWER,
                    attempted_at=None,
                    comment=None,
                )
                await session.commit()
            # Wednesday's 14:30 run arms the follow-up's job for 14:37 (never a 09:00 alert: the
            # run of that minute raises those itself).
            clock.set(paris(2026, 3, 4, 14, 30))
            assert (await sweep(committing_sessionmaker, settings, clock.now(), queue)).armed == 1
            # Seven minutes later (arq reads the system clock: the job is brought forward).
            clock.set(paris(2026, 3, 4, 14, 37))
            due_now = {alert_job_id(case.id): time.time() * 1000 - 1}
            await redis_client.zadd(queue_name(Consumer.NOTIFICATIONS), due_now)
            worker = burst_worker(consumer, settings, functions=everything)
            await worker.async_run()
            await worker.close()
        finally:
            await queue.aclose()
    keys = {row.key for row in await notifications(committing_sessionmaker, case.id)}
    assert keys == {f"callback:{case.id}:assigned:1", f"callback:{case.id}:follow_up:1"}


async def test_an_erased_person_is_called_back_no_more(
    committing_sessionmaker: SessionMaker, settings: Settings, agency: Agency
) -> None:
    clock = FrozenClock(paris(2026, 3, 2, 10))
    with use_clock(clock):
        intake = await deposit(committing_sessionmaker, agency, date(2026, 3, 2))
        await receive(committing_sessionmaker, settings, intake)
        case_id = (await case_of(committing_sessionmaker, intake)).id
        async with committing_sessionmaker() as session:
            event = CandidateAnonymised(candidate_id=intake.candidate_id)
            await jobs.close_erased_cases(HandlerContext(session, uuid.uuid4(), settings), event)
            await session.commit()
        closed = await case_of(committing_sessionmaker, intake)
        assert (closed.status, closed.outcome, closed.next_alert_at) == (
            CallbackStatus.CLOSED,
            None,
            None,
        )
        clock.set(paris(2026, 4, 6, 10))
        assert await raise_due(committing_sessionmaker, settings, clock.now()) == (0, 0)
    rows = await notifications(committing_sessionmaker, case_id)
    assert {row.status for row in rows} == {NotificationStatus.CANCELLED}
