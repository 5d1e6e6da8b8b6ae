"""Recording and reading a placement's outcomes (§8.5, decision 0080)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.errors import Conflict
from services.core.alerts.raising import cancel_alerts
from services.core.clock import PARIS
from services.core.ledger.outcomes import due_on
from services.core.models.outcome import OutcomeCheckpoint, OutcomeSituation, PlacementOutcome
from services.core.models.placement import Placement, PlacementStatus
from services.core.security.principal import Principal


def reminder_key(placement: Placement, checkpoint: OutcomeCheckpoint) -> str:
    """The key of the reminder raised for this checkpoint (decision 0081)."""
    return f"outcome:{placement.id}:{checkpoint.value}"


async def outcomes_of(
    session: AsyncSession, placement: Placement
) -> dict[OutcomeCheckpoint, PlacementOutcome]:
    rows = await session.scalars(
        select(PlacementOutcome).where(col(PlacementOutcome.placement_id) == placement.id)
    )
    return {row.checkpoint: row for row in rows}


async def record(
    session: AsyncSession,
    placement: Placement,
    checkpoint: OutcomeCheckpoint,
    situation: OutcomeSituation,
    principal: Principal,
    at: datetime,
) -> PlacementOutcome:
    """Record (or correct) the situation at ``checkpoint``: only for a started placement with an
    end date, from the day the checkpoint is due (409 otherwise). Cancels its pending reminder."""
    if placement.status is not PlacementStatus.ACTIVE:
        raise Conflict("La mise en emploi n'a pas démarré : aucune situation de sortie à saisir.")
    if placement.end_date is None:
        raise Conflict("La mise en emploi n'a pas de date de fin : sa sortie n'est pas connue.")
    due = due_on(placement.end_date, checkpoint)
    if at.astimezone(PARIS).date() < due:
        raise Conflict(f"Cette situation se saisit à partir du {due.strftime('%d/%m/%Y')}.")
    outcome = await session.scalar(
        select(PlacementOutcome)
        .where(
            col(PlacementOutcome.placement_id) == placement.id,
            col(PlacementOutcome.checkpoint) == checkpoint,
        )
        .with_for_update()
    )
    if outcome is None:
        outcome = PlacementOutcome(
            placement_id=placement.id,
            checkpoint=checkpoint,
            situation=situation,
            recorded_by_type=principal.kind,
            recorded_by_id=principal.id,
            recorded_at=at,
        )
        session.add(outcome)
    else:
        outcome.situation = situation
        outcome.recorded_by_type = principal.kind
        outcome.recorded_by_id = principal.id
        outcome.recorded_at = at
        outcome.updated_at = at
    await session.flush()
    await cancel_alerts(session, key_prefix=reminder_key(placement, checkpoint))
    return outcome
