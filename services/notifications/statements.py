"""Statement reminders (product.md §8.4, decision 0077): once a statement period of an
obligation has ended, the referent of each attribution whose started placements miss a month of
it is reminded — ``statement.due`` until the due date, ``statement.late`` after it. One alert of
each kind per attribution and period (the alert's key); nothing when every month is declared,
when the attribution has no referent or no placement at work in the period."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date
from typing import Any, cast

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.alerts.kinds import AlertKind
from services.core.alerts.raising import AlertRequest, raise_alerts
from services.core.clock import now
from services.core.db import SessionMaker, unit_of_work
from services.core.ledger.counted import last_of_month
from services.core.ledger.schedule import StatementPeriod, last_ended, months_of
from services.core.models.attribution import Attribution
from services.core.models.contract import Contract, ContractStatus
from services.core.models.obligation import Obligation, StatementSchedule
from services.core.models.placement import Placement, PlacementStatus, StatementLine
from services.core.settings import Settings

QUARTERS = {1: "1er trimestre", 4: "2e trimestre", 7: "3e trimestre", 10: "4e trimestre"}
MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def period_label(schedule: StatementSchedule, period: StatementPeriod) -> str:
    if schedule is StatementSchedule.QUARTERLY:
        return f"{QUARTERS[period.start.month]} {period.start.year}"
    return f"{MONTHS[period.start.month - 1]} {period.start.year}"


async def _missing_months(
    session: AsyncSession, attribution_id: uuid.UUID, period: StatementPeriod
) -> int:
    """(placement, month) pairs of the period, while the placement runs, without a line."""
    placements = list(
        await session.scalars(
            select(Placement).where(
                col(Placement.attribution_id) == attribution_id,
                col(Placement.status) == PlacementStatus.ACTIVE,
                col(Placement.start_date) <= period.end,
                or_(col(Placement.end_date).is_(None), col(Placement.end_date) >= period.start),
            )
        )
    )
    if not placements:
        return 0
    declared: dict[uuid.UUID, set[date]] = defaultdict(set)
    for placement_id, month in await session.execute(
        select(col(StatementLine.placement_id), col(StatementLine.month)).where(
            col(StatementLine.placement_id).in_([p.id for p in placements]),
            col(StatementLine.month) >= period.start,
            col(StatementLine.month) <= period.end,
        )
    ):
        declared[placement_id].add(month)
    missing = 0
    for placement in placements:
        for month in months_of(period):
            runs = last_of_month(month) >= placement.start_date and (
                placement.end_date is None or month <= placement.end_date
            )
            if runs and month not in declared[placement.id]:
                missing += 1
    return missing


async def statement_reminders(session: AsyncSession, today: date, settings: Settings) -> int:
    """Raise the reminders due on ``today`` (in the caller's transaction); how many alerts."""
    rows = await session.execute(
        select(Attribution, Obligation, Contract)
        .join(Contract, col(Contract.id) == col(Attribution.contract_id))
        .join(
            Obligation,
            (col(Obligation.contract_id) == col(Attribution.contract_id))
            & (
                (col(Obligation.lot_id) == col(Attribution.lot_id))
                | (col(Obligation.lot_id).is_(None) & col(Attribution.lot_id).is_(None))
            ),
        )
        .where(
            col(Contract.status) == ContractStatus.ACTIVE,
            col(Attribution.referent_user_id).is_not(None),
        )
        .order_by(col(Attribution.id))
    )
    alerts: list[AlertRequest] = []
    base = settings.notification_link_base_url.rstrip("/")
    for attribution, obligation, contract in rows:
        schedule = StatementSchedule(obligation.statement_schedule)
        period = last_ended(schedule, today, obligation.statement_due_day)
        if period.end < contract.start_date:
            continue
        missing = await _missing_months(session, attribution.id, period)
        if not missing:
            continue
        late = today > period.due
        kind = AlertKind.STATEMENT_LATE if late else AlertKind.STATEMENT_DUE
        assert attribution.referent_user_id is not None
        alerts.append(
            AlertRequest(
                kind=kind,
                key=f"statement:{attribution.id}:{period.start.isoformat()}:{kind.value}",
                recipient_user_ids=[attribution.referent_user_id],
                organisation_id=attribution.organisation_id,
                subject_type="attribution",
                subject_id=attribution.id,
                context={
                    "contract_reference": contract.reference,
                    "period": period_label(schedule, period),
                    "due_on": period.due.strftime("%d/%m/%Y"),
                    "missing": missing,
                    "url": f"{base}/attributions/{attribution.id}/releves",
                },
            )
        )
    return await raise_alerts(session, alerts) if alerts else 0


async def run_statement_reminders(ctx: dict[str, Any]) -> dict[str, int]:
    """Daily cron job of the notifications worker."""
    settings = cast(Settings, ctx["settings"])
    async with unit_of_work(cast(SessionMaker, ctx["sessionmaker"])) as session:
        raised = await statement_reminders(session, now().date(), settings)
    return {"alerts": raised}
