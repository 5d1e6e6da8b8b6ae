"""A contract behind schedule (decision 0081): the event and the facilitators' alert once per
contract and quarter, whatever the number of runs; who receives the event by webhook."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.clock import FrozenClock, now, use_clock
from services.core.db import SessionMaker
from services.core.events import ContractBehindSchedule
from services.core.models.behind_schedule import BehindScheduleNotice
from services.core.models.contract import ContractStatus
from services.core.models.notification import Notification
from services.core.models.organisation import OrganisationKind
from services.core.models.outbox import OutboxEvent
from services.core.models.placement import StatementLine, StatementSource, StatementStatus
from services.core.models.user import Role, User
from services.core.settings import Settings
from services.notifications.behind_schedule import (
    announce_behind_schedule,
    announce_on,
    quarter_of,
)
from services.notifications.webhook_audience import Subscriber, events_for
from tests.factories import make_organisation, make_user
from tests.ledger_world import LedgerWorld, make_ledger_world


async def _world(session: AsyncSession, settings: Settings, hours: int) -> LedgerWorld:
    """700 h owed over 5 January 2026 – 30 June 2027; January and February validated with
    ``hours`` each, by a participant holding a criterion."""
    world = await make_ledger_world(session, settings)
    world.contract.status = ContractStatus.ACTIVE
    world.placement.eligibility_criteria = ["RSA"]
    for month in (date(2026, 1, 1), date(2026, 2, 1)):
        session.add(
            StatementLine(
                placement_id=world.placement.id,
                month=month,
                hours_worked=Decimal(hours),
                source=StatementSource.API,
                status=StatementStatus.VALIDATED,
                declared_by_type="user",
                declared_at=now(),
            )
        )
    await session.flush()
    return world


async def _events(session: AsyncSession) -> list[OutboxEvent]:
    return list(
        (
            await session.scalars(
                select(OutboxEvent).where(col(OutboxEvent.type) == "contract.behind_schedule")
            )
        ).all()
    )


def test_the_period_is_the_calendar_quarter() -> None:
    assert quarter_of(date(2026, 4, 20)).start == date(2026, 4, 1)
    assert quarter_of(date(2026, 12, 31)).end == date(2026, 12, 31)


async def test_behind_once_per_quarter_with_its_event_and_alert(
    db_session: AsyncSession, settings: Settings
) -> None:
    world = await _world(db_session, settings, hours=40)
    await make_user(db_session, world.facilitation, Role.FACILITATOR)
    facilitators = set(
        (
            await db_session.scalars(
                select(col(User.id)).where(
                    col(User.organisation_id) == world.facilitation.id,
                    col(User.role) == Role.FACILITATOR,
                )
            )
        ).all()
    )
    assert len(facilitators) == 2  # the world's and this one; not the other territory's
    # 20 April: Q1's statement is due (15 April); expected at 31 March: 700 × 86 / 542 = 111 h;
    # 80 h counted are below 90 % of it.
    assert await announce_on(db_session, date(2026, 4, 20)) == 1
    assert await announce_on(db_session, date(2026, 4, 21)) == 0
    assert await announce_on(db_session, date(2026, 6, 30)) == 0
    (event,) = await _events(db_session)
    assert event.payload == {
        "contract_id": str(world.contract.id),
        "period_start": "2026-04-01",
        "lot_ids": [str(world.contract.lots[0].id)],
    }
    notice = await db_session.scalar(select(BehindScheduleNotice))
    assert notice is not None
    assert (notice.counted_hours, notice.expected_hours) == (Decimal(80), Decimal(111))
    alerts = (
        await db_session.scalars(
            select(Notification).where(col(Notification.kind) == "contract.behind_schedule")
        )
    ).all()
    assert {a.recipient_user_id for a in alerts} == facilitators
    assert alerts[0].context["expected_hours"] == "111"
    assert alerts[0].context["case_path"] == f"/v1/contracts/{world.contract.id}/progress"
    # A new quarter, still behind: announced again, once.
    assert await announce_on(db_session, date(2026, 7, 20)) == 1
    assert len(await _events(db_session)) == 2


async def test_on_pace_nothing_is_announced(db_session: AsyncSession, settings: Settings) -> None:
    await _world(db_session, settings, hours=120)  # 240 h counted against 111 expected
    assert await announce_on(db_session, date(2026, 4, 20)) == 0
    # Nothing is behind before a statement is due.
    assert await announce_on(db_session, date(2026, 3, 2)) == 0
    assert await _events(db_session) == []


async def test_the_daily_job_acts_on_working_days(
    committing_sessionmaker: SessionMaker, settings: Settings
) -> None:
    async with committing_sessionmaker() as session:
        await _world(session, settings, hours=40)
        await session.commit()
    ctx = {"sessionmaker": committing_sessionmaker, "settings": settings}
    clock = FrozenClock(datetime(2026, 4, 18, 8, 19, tzinfo=UTC))  # a Saturday
    with use_clock(clock):
        assert await announce_behind_schedule(ctx) == 0
        clock.advance(timedelta(days=2))  # Monday 20 April
        assert await announce_behind_schedule(ctx) == 1
        assert await announce_behind_schedule(ctx) == 0


async def test_the_event_reaches_those_who_read_the_contract(
    db_session: AsyncSession, settings: Settings
) -> None:
    world = await _world(db_session, settings, hours=40)
    landlord = await make_organisation(
        db_session, kind=OrganisationKind.SOCIAL_LANDLORD, parent=world.facilitation
    )
    other = await make_organisation(db_session, kind=OrganisationKind.FACILITATION)
    subscribers = {
        "facilitator": Subscriber(uuid.uuid4(), world.facilitation.id, Role.FACILITATOR),
        "other facilitator": Subscriber(uuid.uuid4(), other.id, Role.FACILITATOR),
        "buyer": Subscriber(uuid.uuid4(), world.buyer.id, Role.BUYER),
        "holder": Subscriber(uuid.uuid4(), world.company.id, Role.EMPLOYER),
        "competitor": Subscriber(uuid.uuid4(), world.competitor.id, Role.EMPLOYER),
        "prescriber": Subscriber(uuid.uuid4(), world.agency.id, Role.PRESCRIBER),
        "reception": Subscriber(uuid.uuid4(), landlord.id, Role.RECEPTION),
        "admin": Subscriber(uuid.uuid4(), other.id, Role.ADMIN),
    }
    event = ContractBehindSchedule(contract_id=world.contract.id, period_start=date(2026, 4, 1))
    received = await events_for(db_session, event, list(subscribers.values()))
    names = {s.subscription_id: name for name, s in subscribers.items()}
    assert sorted(names[subscription] for subscription, _ in received) == [
        "admin",
        "buyer",
        "facilitator",
        "holder",
    ]
