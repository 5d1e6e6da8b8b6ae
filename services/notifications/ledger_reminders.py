"""The hours ledger's reminders (decision 0081): a statement due or late, to the attribution's
referent; a placement's outcome due, to the same referent. Daily jobs of the notifications
worker, on working days; each reminder is raised once (its key names the attribution and period,
or the placement and checkpoint, and :func:`raise_alerts` writes a key once per recipient)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, cast

from sqlalchemy import and_, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.callbacks.schedule import is_working_day
from services.core.clock import PARIS, now
from services.core.db import SessionMaker, unit_of_work
from services.core.ledger.outcomes import CHECKPOINT_MONTHS, add_months, due_on
from services.core.ledger.reminders import (
    OUTCOME_LOOKBACK,
    OwedStatement,
    StatementReminder,
    outcome_reminded,
    owed_statements,
    period_label,
)
from services.core.logging import get_logger
from services.core.models.attribution import Attribution
from services.core.models.contract import Contract, ContractLot
from services.core.models.obligation import Obligation, StatementSchedule
from services.core.models.outcome import OUTCOME_CHECKPOINT_LABELS, PlacementOutcome
from services.core.models.placement import Placement, PlacementStatus
from services.notifications.alerts import AlertKind, AlertRequest, raise_alerts

log = get_logger(__name__)

_KINDS = {
    StatementReminder.DUE: AlertKind.STATEMENT_DUE,
    StatementReminder.LATE: AlertKind.STATEMENT_LATE,
}


@dataclass(frozen=True)
class _Attribution:
    id: uuid.UUID
    organisation_id: uuid.UUID
    referent_user_id: uuid.UUID
    contract_reference: str
    contract_title: str
    lot_number: int | None
    schedule: StatementSchedule
    due_day: int


# Per attribution and period: the (placement, month) pairs that should hold a line and do not (a
# rejected line must be sent again). Months run over the part of the period within the
# placement's dates; only started placements owe statements.
_MISSING = text(
    """
    SELECT w.attribution_id, w.period_start
    FROM unnest(CAST(:attributions AS uuid[]), CAST(:starts AS date[]), CAST(:ends AS date[]))
         AS w(attribution_id, period_start, period_end)
    JOIN placement p ON p.attribution_id = w.attribution_id AND p.status = 'active'
     AND p.start_date <= w.period_end AND (p.end_date IS NULL OR p.end_date >= w.period_start)
    CROSS JOIN LATERAL generate_series(
        greatest(date_trunc('month', p.start_date)::date, w.period_start),
        least(coalesce(p.end_date, w.period_end), w.period_end),
        interval '1 month'
    ) AS m(month)
    WHERE NOT EXISTS (
        SELECT 1 FROM statement_line s
        WHERE s.placement_id = p.id AND s.month = m.month::date AND s.status <> 'rejected'
    )
    GROUP BY w.attribution_id, w.period_start
    """
)


async def _attributions(session: AsyncSession) -> list[_Attribution]:
    """Attributions with a referent, with their obligation's schedule (quarterly by the 15th when
    no obligation is typed yet)."""
    rows = await session.execute(
        select(
            col(Attribution.id),
            col(Attribution.organisation_id),
            col(Attribution.referent_user_id),
            col(Contract.reference),
            col(Contract.title),
            col(ContractLot.number),
            col(Obligation.statement_schedule),
            col(Obligation.statement_due_day),
        )
        .join(Contract, col(Contract.id) == col(Attribution.contract_id))
        .outerjoin(ContractLot, col(ContractLot.id) == col(Attribution.lot_id))
        .outerjoin(
            Obligation,
            or_(
                col(Obligation.lot_id) == col(Attribution.lot_id),
                and_(
                    col(Attribution.lot_id).is_(None),
                    col(Obligation.lot_id).is_(None),
                    col(Obligation.contract_id) == col(Attribution.contract_id),
                ),
            ),
        )
        .where(col(Attribution.referent_user_id).is_not(None))
        .order_by(col(Attribution.id))
    )
    return [
        _Attribution(
            id=row[0],
            organisation_id=row[1],
            referent_user_id=cast(uuid.UUID, row[2]),  # filtered: not NULL
            contract_reference=row[3],
            contract_title=row[4],
            lot_number=row[5],
            schedule=row[6] or StatementSchedule.QUARTERLY,
            due_day=row[7] or 15,
        )
        for row in rows
    ]


async def remind_statements_on(session: AsyncSession, today: date) -> int:
    """Raise the statement reminders owed on ``today``; returns the notification rows written."""
    attributions = await _attributions(session)
    owed: dict[tuple[uuid.UUID, date], tuple[_Attribution, OwedStatement]] = {}
    by_schedule: dict[tuple[StatementSchedule, int], list[OwedStatement]] = {}
    for attribution in attributions:
        key = (attribution.schedule, attribution.due_day)
        if key not in by_schedule:
            by_schedule[key] = owed_statements(attribution.schedule, attribution.due_day, today)
        for statement in by_schedule[key]:
            owed[(attribution.id, statement.period.start)] = (attribution, statement)
    if not owed:
        return 0
    pending = list(owed.values())
    missing = await session.execute(
        _MISSING,
        {
            "attributions": [a.id for a, _ in pending],
            "starts": [s.period.start for _, s in pending],
            "ends": [s.period.end for _, s in pending],
        },
    )
    alerts: list[AlertRequest] = []
    for attribution_id, period_start in missing:
        attribution, statement = owed[(attribution_id, period_start)]
        period = statement.period
        alerts.append(
            AlertRequest(
                kind=_KINDS[statement.reminder],
                key=f"statement:{attribution.id}:{period.start.isoformat()}:{statement.reminder}",
                recipient_user_ids=[attribution.referent_user_id],
                organisation_id=attribution.organisation_id,
                subject_type="attribution",
                subject_id=attribution.id,
                context={
                    "contract_reference": attribution.contract_reference,
                    "contract_title": attribution.contract_title,
                    "lot_number": attribution.lot_number,
                    "period_label": period_label(period),
                    "period_start": period.start.isoformat(),
                    "due_on": period.due.strftime("%d/%m/%Y"),
                    "case_path": f"/v1/attributions/{attribution.id}/statement-template"
                    f"?period={period.start.strftime('%Y-%m')}",
                },
            )
        )
    return await raise_alerts(session, alerts)


async def remind_outcomes_on(session: AsyncSession, today: date) -> int:
    """Raise the reminders of outcomes due and not recorded on ``today``."""
    alerts: list[AlertRequest] = []
    for checkpoint, months in CHECKPOINT_MONTHS.items():
        # Ends whose checkpoint falls in the look-back (a few days' margin, checked exactly).
        lowest = add_months(today - OUTCOME_LOOKBACK, -months) - timedelta(days=3)
        highest = add_months(today, -months) + timedelta(days=3)
        rows = await session.execute(
            select(
                col(Placement.id),
                col(Placement.end_date),
                col(Attribution.id),
                col(Attribution.organisation_id),
                col(Attribution.referent_user_id),
                col(Contract.reference),
            )
            .join(Attribution, col(Attribution.id) == col(Placement.attribution_id))
            .join(Contract, col(Contract.id) == col(Attribution.contract_id))
            .outerjoin(
                PlacementOutcome,
                and_(
                    col(PlacementOutcome.placement_id) == col(Placement.id),
                    col(PlacementOutcome.checkpoint) == checkpoint,
                ),
            )
            .where(
                col(Placement.status) == PlacementStatus.ACTIVE,
                col(Placement.end_date).between(lowest, highest),
                col(Attribution.referent_user_id).is_not(None),
                col(PlacementOutcome.id).is_(None),
            )
            .order_by(col(Placement.id))
        )
        for placement_id, end_date, attribution_id, organisation_id, referent, reference in rows:
            if end_date is None or referent is None:  # filtered out by the query
                continue
            due = due_on(end_date, checkpoint)
            if not outcome_reminded(due, today):
                continue
            alerts.append(
                AlertRequest(
                    kind=AlertKind.OUTCOME_DUE,
                    key=f"outcome:{placement_id}:{checkpoint.value}",
                    recipient_user_ids=[referent],
                    organisation_id=organisation_id,
                    subject_type="placement",
                    subject_id=placement_id,
                    context={
                        "contract_reference": reference,
                        "attribution_id": str(attribution_id),
                        "placement_reference": str(placement_id).replace("-", "")[-8:].upper(),
                        "checkpoint": checkpoint.value,
                        "checkpoint_label": OUTCOME_CHECKPOINT_LABELS[checkpoint],
                        "due_on": due.strftime("%d/%m/%Y"),
                        "case_path": f"/v1/placements/{placement_id}/outcomes",
                    },
                )
            )
    return await raise_alerts(session, alerts)


def _today() -> date | None:
    """Today in Paris when it is a working day (reminders wait for the next one otherwise)."""
    today = now().astimezone(PARIS).date()
    return today if is_working_day(today) else None


async def remind_statements(ctx: dict[str, Any]) -> int:
    """Daily: statements due and late (decision 0081)."""
    today = _today()
    if today is None:
        return 0
    async with unit_of_work(cast(SessionMaker, ctx["sessionmaker"])) as session:
        written = await remind_statements_on(session, today)
    log.info("statement_reminders", notifications=written)
    return written


async def remind_outcomes(ctx: dict[str, Any]) -> int:
    """Daily: outcomes due at exit, +6 and +12 months (decision 0081)."""
    today = _today()
    if today is None:
        return 0
    async with unit_of_work(cast(SessionMaker, ctx["sessionmaker"])) as session:
        written = await remind_outcomes_on(session, today)
    log.info("outcome_reminders", notifications=written)
    return written
