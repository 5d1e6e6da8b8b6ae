"""The hours ledger's reminders (decision 0081): a statement due or late, to the attribution's
referent; a placement's outcome due, to the same referent. Daily jobs of the notifications
worker, on working days; each reminder is raised once (its key names the attribution and period,
or the placement and checkpoint, and :func:`raise_alerts` writes a key once per recipient)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, cast

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.alerts.kinds import AlertKind
from services.core.alerts.raising import AlertRequest, raise_alerts
from services.core.calendar import is_working_day
from services.core.clock import PARIS, now
from services.core.db import SessionMaker, unit_of_work
from services.core.ledger.outcomes import CHECKPOINT_MONTHS, add_months, due_on
from services.core.ledger.reminders import (
    OUTCOME_LOOKBACK,
    outcome_reminded,
)
from services.core.logging import get_logger
from services.core.models.attribution import Attribution
from services.core.models.contract import Contract
from services.core.models.outcome import OUTCOME_CHECKPOINT_LABELS, PlacementOutcome
from services.core.models.placement import Placement, PlacementStatus

log = get_logger(__name__)


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


async def remind_outcomes(ctx: dict[str, Any]) -> int:
    """Daily: outcomes due at exit, +6 and +12 months (decision 0081)."""
    today = _today()
    if today is None:
        return 0
    async with unit_of_work(cast(SessionMaker, ctx["sessionmaker"])) as session:
        written = await remind_outcomes_on(session, today)
    log.info("outcome_reminders", notifications=written)
    return written
