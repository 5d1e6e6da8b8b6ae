"""The hours ledger's outcome reminders (decision 0081): an outcome due at exit, +6 and +12
months, to the attribution's referent. Once each, whatever the number of runs; days moved with
the clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.clock import FrozenClock, now, use_clock
from services.core.db import SessionMaker
from services.core.models.notification import Notification, NotificationStatus
from services.core.models.outcome import OutcomeCheckpoint, OutcomeSituation, PlacementOutcome
from services.core.settings import Settings
from services.notifications.ledger_reminders import (
    remind_outcomes,
    remind_outcomes_on,
)
from tests.ledger_world import make_ledger_world, make_placement


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
