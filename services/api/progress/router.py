"""A contract's progress (product.md §8.6, item 1; decisions 0074, 0076): aggregates only — no
participant — for the facilitators of the territory, the admin and the buyer."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlmodel import col

from services.api.access import READ
from services.api.auth.dependencies import CurrentPrincipal
from services.api.contracts.policy import policy as contracts_policy
from services.api.deps import SessionDep
from services.api.errors import Forbidden, NotFound
from services.api.obligations.policy import policy as obligations_policy
from services.api.progress.schemas import ContractProgressPublic
from services.api.validation import today
from services.core.ledger.progress import progress
from services.core.models.attribution import Attribution
from services.core.models.contract import Contract
from services.core.models.obligation import Obligation
from services.core.models.placement import Placement, StatementLine
from services.core.models.user import Role

router = APIRouter(tags=["heures d'insertion"])

# Aggregates leave the facilitator only for the buyer (§8.7); companies read their own rows.
PROGRESS_READERS = frozenset({Role.ADMIN, Role.FACILITATOR, Role.BUYER})


@router.get(
    "/contracts/{contract_id}/progress",
    summary="Avancement d'un marché : heures dues, comptées, en attente, par lot et entreprise",
    description="Au jour `on` (par défaut aujourd'hui) : heures dues, comptées (validées et "
    "retenues par les règles de l'obligation), déclarées en attente, taux, reste à faire, heures "
    "attendues au rythme régulier de l'exécution et `behind_schedule` (moins de 90 % de "
    "l'attendu, décision 0074). Aucun participant n'y figure.",
)
async def contract_progress(
    contract_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    on: Annotated[date | None, Query(description="Date d'arrêté (AAAA-MM-JJ).")] = None,
) -> ContractProgressPublic:
    obligations_policy.require_scope(principal, READ)
    if principal.role not in PROGRESS_READERS:
        raise Forbidden()
    contract = await session.scalar(
        select(Contract).where(col(Contract.id) == contract_id, contracts_policy.visible(principal))
    )
    if contract is None:
        raise NotFound()
    obligations = list(
        await session.scalars(select(Obligation).where(col(Obligation.contract_id) == contract.id))
    )
    attributions = list(
        await session.scalars(
            select(Attribution)
            .where(col(Attribution.contract_id) == contract.id)
            .order_by(col(Attribution.lot_id), col(Attribution.id))
        )
    )
    rows = await session.execute(
        select(Placement, StatementLine)
        .join(StatementLine, col(StatementLine.placement_id) == col(Placement.id))
        .join(Attribution, col(Attribution.id) == col(Placement.attribution_id))
        .where(col(Attribution.contract_id) == contract.id)
    )
    lot_ids: list[uuid.UUID | None] = [
        lot.id for lot in sorted(contract.lots, key=lambda lot: lot.number)
    ] or [None]
    result = progress(
        start=contract.start_date,
        end=contract.end_date,
        on=on or today(),
        lot_ids=lot_ids,
        obligations=obligations,
        attributions=attributions,
        lines=[(p, line) for p, line in rows],
    )
    return ContractProgressPublic.of(contract.id, result)
