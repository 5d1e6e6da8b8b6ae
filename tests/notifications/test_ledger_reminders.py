"""The hours ledger's reminders (decision 0081): a statement due, then late, to the attribution's
referent; an outcome due at exit, +6 and +12 months. Once each, whatever the number of runs;
days moved with the clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.clock import FrozenClock, now, use_clock
from services.core.db import SessionMaker
from services.core.ledger.reminders import StatementReminder, owed_statements, period_label
from services.core.ledger.schedule import period_of
from services.core.models.notification import Notification, NotificationStatus
from services.core.models.obligation import StatementSchedule
from services.core.models.outcome import OutcomeCheckpoint, OutcomeSituation, PlacementOutcome
from services.core.models.placement import StatementLine, StatementSource, StatementStatus
from services.core.settings import Settings
from services.notifications.ledger_reminders import (
    remind_outcomes,
    remind_outcomes_on,
)
from tests.ledger_world import LedgerWorld, make_ledger_world, make_placement

Q1 = period_of(StatementSchedule.QUARTERLY, date(2026, 2, 1))


def _paris_morning(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 8, 30, tzinfo=UTC)


async def _notifications(session: AsyncSession, kind: str) -> list[Notification]:
    return list(
        (
            await session.scalars(
                select(Notification)
                .where(col(Notification.kind) == kind)
                .order_by(col(Notification.created_at))
            )
        ).all()
    )


def _line(world: LedgerWorld, month: date, status: StatementStatus) -> StatementLine:
    return StatementLine(
        placement_id=world.placement.id,
        month=month,
        hours_worked=Decimal(120),
        source=StatementSource.API,
        status=status,
        rejection_reason="Heures illisibles" if status is StatementStatus.REJECTED else None,
        declared_by_type="user",
        declared_at=now(),
    )


def test_periods_owed_on_a_day() -> None:
    # 31 March: Q1 has not ended. 1 April: due by 15 April. 16 April: late.
    march_31 = owed_statements(StatementSchedule.QUARTERLY, 15, date(2026, 3, 31))
    assert date(2026, 1, 1) not in [o.period.start for o in march_31]
    april_1 = owed_statements(StatementSchedule.QUARTERLY, 15, date(2026, 4, 1))
    assert [(o.period.start, o.reminder) for o in april_1][-1] == (
        date(2026, 1, 1),
        StatementReminder.DUE,
    )
    april_16 = owed_statements(StatementSchedule.QUARTERLY, 15, date(2026, 4, 16))
    assert (date(2026, 1, 1), StatementReminder.LATE) in [
        (o.period.start, o.reminder) for o in april_16
    ]
    # Late is reminded for three months after the due day, no longer.
    october = owed_statements(StatementSchedule.QUARTERLY, 15, date(2026, 10, 1))
    assert date(2026, 1, 1) not in [o.period.start for o in october]
    monthly = owed_statements(StatementSchedule.MONTHLY, 10, date(2026, 3, 5))
    assert [(o.period.start, o.period.due, o.reminder) for o in monthly][-1] == (
        date(2026, 2, 1),
        date(2026, 3, 10),
        StatementReminder.DUE,
    )
    assert period_label(Q1) == "1er trimestre 2026"
    assert period_label(period_of(StatementSchedule.MONTHLY, date(2026, 8, 3))) == "août 2026"


async def test_outcomes_are_reminded_at_each_checkpoint_until_recorded(
    db_session: AsyncSession, settings: Settings
) -> None:
    world = await make_ledger_world(db_session, settings)  # ends 27 February 2026
    assert await remind_outcomes_on(db_session, date(2026, 2, 26)) == 0
    assert await remind_outcomes_on(db_session, date(2026, 2, 27)) == 1
    assert await remind_outcomes_on(db_session, date(2026, 3, 2)) == 0
    (exit_,) = await _notifications(db_session, "outcome.due")
    assert exit_.key == f"outcome:{world.placement.id}:exit"
    assert exit_.recipient_user_id == world.referent.id
    assert exit_.context["checkpoint_label"] == "À la sortie"
    db_session.add(
        PlacementOutcome(
            placement_id=world.placement.id,
            checkpoint=OutcomeCheckpoint.SIX_MONTHS,
            situation=OutcomeSituation.OTHER,
            recorded_by_type="user",
            recorded_at=now(),
        )
    )
    await db_session.flush()
    # +6 months already recorded: nothing; +12 months: reminded on 27 February 2027.
    assert await remind_outcomes_on(db_session, date(2026, 8, 27)) == 0
    assert await remind_outcomes_on(db_session, date(2027, 2, 27)) == 1
    # Long past (beyond the look-back): not reminded on a first run.
    await make_placement(
        db_session,
        world.attribution,
        world.candidate,
        start=date(2025, 1, 6),
        end=date(2025, 3, 31),
    )
    assert await remind_outcomes_on(db_session, date(2026, 3, 3)) == 0


async def test_the_daily_jobs_act_on_working_days_and_record_for_real(
    committing_sessionmaker: SessionMaker, settings: Settings
) -> None:
    async with committing_sessionmaker() as session:
        world = await make_ledger_world(session, settings)
        await session.commit()
    ctx = {"sessionmaker": committing_sessionmaker, "settings": settings}
    clock = FrozenClock(_paris_morning(date(2026, 4, 4)))  # a Saturday
    with use_clock(clock):
        assert await remind_outcomes(ctx) == 0
        clock.advance(timedelta(days=2))  # Easter Monday, a public holiday
        assert await remind_outcomes(ctx) == 0
        clock.advance(timedelta(days=1))  # Tuesday 7 April
        assert await remind_outcomes(ctx) == 1  # the exit, 27 February
        assert await remind_outcomes(ctx) == 0
    async with committing_sessionmaker() as session:
        (due,) = await _notifications(session, "outcome.due")
        assert due.status is NotificationStatus.PENDING
        assert due.recipient_user_id == world.referent.id
