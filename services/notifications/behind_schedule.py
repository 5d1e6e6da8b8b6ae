"""A contract behind schedule (decision 0081): once per contract and calendar quarter, the
outbox event ``contract.behind_schedule`` (available to webhooks) and an alert to the
facilitators whose territory holds its buyer or a holder. A daily job of the notifications
worker computes the progress of every active contract (decision 0078) in one pass; a row of
``behind_schedule_notice`` makes each announcement happen once, however often the job runs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.alerts.kinds import AlertKind
from services.core.alerts.raising import AlertRequest, raise_alerts
from services.core.calendar import is_working_day
from services.core.clock import PARIS, now
from services.core.db import SessionMaker, unit_of_work
from services.core.events import ContractBehindSchedule, emit
from services.core.jobs import HandlerContext
from services.core.ledger.progress import progress
from services.core.ledger.scope import Period, Scope, ScopeKind, quarter
from services.core.logging import get_logger
from services.core.models.behind_schedule import BehindScheduleNotice
from services.core.models.contract import Contract, ContractLot, ContractStatus
from services.core.models.outbox import OutboxEvent
from services.notifications.consumer import consumer
from services.notifications.webhooks import fan_out

log = get_logger(__name__)


@dataclass(frozen=True)
class Behind:
    contract_id: uuid.UUID
    lot_ids: tuple[uuid.UUID, ...]
    counted_hours: str
    expected_hours: str
    hours_owed: str


def quarter_of(day: date) -> Period:
    """The calendar quarter holding ``day`` (the period an announcement is made once in)."""
    return quarter(f"{day.year}-Q{(day.month - 1) // 3 + 1}")


def _hours(value: object) -> str:
    return f"{value:.0f}"


async def behind_contracts(session: AsyncSession, today: date) -> list[Behind]:
    """The active contracts behind schedule on ``today``: the contract's row or one of its
    lots' (decision 0078: counted to date below 90 % of the pace, as statements are due)."""
    contract_ids = tuple(
        (
            await session.scalars(
                select(col(Contract.id))
                .where(col(Contract.status) == ContractStatus.ACTIVE)
                .order_by(col(Contract.id))
            )
        ).all()
    )
    if not contract_ids:
        return []
    scope = Scope(ScopeKind.TERRITORY, uuid.UUID(int=0), "", contract_ids)
    report = await progress(session, scope, quarter_of(today), as_of=now(), today=today)
    lot_rows = await session.execute(
        select(col(ContractLot.id), col(ContractLot.contract_id)).where(
            col(ContractLot.contract_id).in_(contract_ids)
        )
    )
    lots_of: dict[uuid.UUID, uuid.UUID] = {row[0]: row[1] for row in lot_rows}
    lots_behind: dict[uuid.UUID, list[uuid.UUID]] = {}
    for lot in report.lots:
        if lot.hours.behind_schedule and lot.id in lots_of:
            lots_behind.setdefault(lots_of[lot.id], []).append(lot.id)
    found: list[Behind] = []
    for row in report.contracts:
        lots = tuple(sorted(lots_behind.get(row.id, [])))
        if row.hours.behind_schedule or lots:
            found.append(
                Behind(
                    row.id,
                    lots,
                    _hours(row.hours.counted_hours_to_date),
                    _hours(row.hours.expected_hours),
                    _hours(row.hours.hours_owed),
                )
            )
    return found


# The facilitators of the territories holding the contract's buyer or one of its holders: the
# users of the facilitation organisations above them (or those organisations themselves).
_FACILITATORS = text(
    """
    WITH RECURSIVE reached(id) AS (
        SELECT buyer_id FROM contract WHERE id = :contract
        UNION SELECT organisation_id FROM contract_holder WHERE contract_id = :contract
        UNION SELECT o.parent_id FROM organisation o JOIN reached r ON o.id = r.id
        WHERE o.parent_id IS NOT NULL
    )
    SELECT u.id, u.organisation_id FROM user_account u JOIN reached r ON u.organisation_id = r.id
    WHERE u.role = 'facilitator' AND u.is_active ORDER BY u.id
    """
)


async def announce_on(session: AsyncSession, today: date) -> int:
    """Announce the contracts behind schedule on ``today`` not yet announced this quarter;
    returns how many were."""
    period = quarter_of(today)
    announced = 0
    for behind in await behind_contracts(session, today):
        inserted = await session.scalar(
            insert(BehindScheduleNotice)
            .values(
                contract_id=behind.contract_id,
                period_start=period.start,
                counted_hours=behind.counted_hours,
                expected_hours=behind.expected_hours,
            )
            .on_conflict_do_nothing(index_elements=["contract_id", "period_start"])
            .returning(col(BehindScheduleNotice.id))
        )
        if inserted is None:
            continue
        announced += 1
        emit(
            session,
            ContractBehindSchedule(
                contract_id=behind.contract_id, period_start=period.start, lot_ids=behind.lot_ids
            ),
        )
        contract = await session.get(Contract, behind.contract_id)
        assert contract is not None
        by_organisation: dict[uuid.UUID, list[uuid.UUID]] = {}
        for user_id, organisation_id in await session.execute(
            _FACILITATORS, {"contract": behind.contract_id}
        ):
            by_organisation.setdefault(organisation_id, []).append(user_id)
        await raise_alerts(
            session,
            [
                AlertRequest(
                    kind=AlertKind.CONTRACT_BEHIND_SCHEDULE,
                    key=f"behind:{behind.contract_id}:{period.start.isoformat()}",
                    recipient_user_ids=users,
                    organisation_id=organisation_id,
                    subject_type="contract",
                    subject_id=behind.contract_id,
                    context={
                        "contract_reference": contract.reference,
                        "contract_title": contract.title,
                        "counted_hours": behind.counted_hours,
                        "expected_hours": behind.expected_hours,
                        "hours_owed": behind.hours_owed,
                        "case_path": f"/v1/contracts/{behind.contract_id}/progress",
                    },
                )
                for organisation_id, users in by_organisation.items()
            ],
        )
    return announced


async def announce_behind_schedule(ctx: dict[str, Any]) -> int:
    """Daily, on working days: contracts behind schedule (decision 0081)."""
    today = now().astimezone(PARIS).date()
    if not is_working_day(today):
        return 0
    async with unit_of_work(cast(SessionMaker, ctx["sessionmaker"])) as session:
        announced = await announce_on(session, today)
    log.info("contracts_behind_schedule", announced=announced)
    return announced


@consumer.on(ContractBehindSchedule)
async def on_contract_behind_schedule(ctx: HandlerContext, event: ContractBehindSchedule) -> None:
    row = await ctx.session.get(OutboxEvent, ctx.event_id)
    await fan_out(ctx.session, ctx.event_id, event, row.occurred_at if row else now())
