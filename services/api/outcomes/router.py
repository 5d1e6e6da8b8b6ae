"""``/v1/placements/{id}/outcomes``: what became of a participant at the placement's end and at
+6 and +12 months (§8.5, decision 0080)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from services.api.access import UPDATE
from services.api.auth.dependencies import CurrentPrincipal
from services.api.deps import RequestIdDep, SessionDep
from services.api.errors import NotFound
from services.api.outcomes import service
from services.api.outcomes.policy import policy
from services.api.outcomes.schemas import OutcomeList, OutcomePublic, OutcomeRecord
from services.core.clock import now
from services.core.ledger.outcomes import due_on
from services.core.models.outcome import OutcomeCheckpoint, PlacementOutcome
from services.core.models.placement import Placement

router = APIRouter(prefix="/placements", tags=["sorties"])


def _public(
    placement: Placement, checkpoint: OutcomeCheckpoint, outcome: PlacementOutcome | None
) -> OutcomePublic:
    due = due_on(placement.end_date, checkpoint) if placement.end_date else None
    return OutcomePublic.of(placement.id, checkpoint, due, outcome)


@router.get(
    "/{placement_id}/outcomes",
    summary="Lire les situations à la sortie, à 6 et à 12 mois",
    description="Les trois échéances, avec leur date et la situation saisie (`null` sinon).",
)
async def list_outcomes(
    placement_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    request_id: RequestIdDep,
) -> OutcomeList:
    placement = await policy.get(session, principal, placement_id, request_id=request_id)
    found = await service.outcomes_of(session, placement)
    return OutcomeList(items=[_public(placement, c, found.get(c)) for c in OutcomeCheckpoint])


@router.get(
    "/{placement_id}/outcomes/{checkpoint}",
    summary="Lire la situation à une échéance",
    description="404 tant que rien n'a été saisi pour cette échéance.",
)
async def read_outcome(
    placement_id: uuid.UUID,
    checkpoint: OutcomeCheckpoint,
    principal: CurrentPrincipal,
    session: SessionDep,
    request_id: RequestIdDep,
) -> OutcomePublic:
    placement = await policy.get(session, principal, placement_id, request_id=request_id)
    outcome = (await service.outcomes_of(session, placement)).get(checkpoint)
    if outcome is None:
        raise NotFound("Aucune situation n'a été saisie pour cette échéance.")
    return _public(placement, checkpoint, outcome)


@router.put(
    "/{placement_id}/outcomes/{checkpoint}",
    summary="Saisir la situation à une échéance",
    description="Par l'entreprise de l'attribution (son référent) ou le facilitateur, à partir "
    "du jour de l'échéance : la fin de la mise en emploi, puis 6 et 12 mois après (409 avant, "
    "ou pour une mise en emploi non démarrée ou sans fin). Saisie de nouveau : remplacée.",
)
async def record_outcome(
    placement_id: uuid.UUID,
    checkpoint: OutcomeCheckpoint,
    body: OutcomeRecord,
    principal: CurrentPrincipal,
    session: SessionDep,
    request_id: RequestIdDep,
) -> OutcomePublic:
    placement = await policy.get(session, principal, placement_id, action=UPDATE, for_update=True)
    await policy.check_recorder(session, principal, placement)
    outcome = await service.record(session, placement, checkpoint, body.situation, principal, now())
    policy.audit(
        session,
        principal,
        UPDATE,
        placement,
        request_id=request_id,
        details={"checkpoint": checkpoint.value},
    )
    return _public(placement, checkpoint, outcome)
