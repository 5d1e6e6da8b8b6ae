"""Keeping an obligation's hours owed in step with what they derive from (decision 0074)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.ledger.owed import Declared, hours_owed
from services.core.models.contract import Contract
from services.core.models.obligation import Obligation, ObligationDeclaration


async def declared_totals(session: AsyncSession, obligation_id: uuid.UUID) -> Declared:
    row = (
        await session.execute(
            select(
                func.coalesce(func.sum(col(ObligationDeclaration.hours_worked)), 0),
                func.coalesce(func.sum(col(ObligationDeclaration.amount_invoiced)), 0),
            ).where(col(ObligationDeclaration.obligation_id) == obligation_id)
        )
    ).one()
    return Declared(hours_worked=Decimal(row[0] or 0), amount_invoiced=Decimal(row[1] or 0))


async def refresh_hours_owed(session: AsyncSession, obligation: Obligation) -> bool:
    """Recompute ``obligation.hours_owed`` from its parameters, its contract's dates and its
    declarations (flushed first); whether it changed."""
    await session.flush()
    contract = await session.get(Contract, obligation.contract_id, populate_existing=True)
    assert contract is not None  # the foreign key
    owed = hours_owed(
        obligation,
        start=contract.start_date,
        end=contract.end_date,
        declared=await declared_totals(session, obligation.id),
    ).quantize(Decimal("0.01"))  # as stored: the same before and after a round trip
    changed = obligation.hours_owed is None or Decimal(obligation.hours_owed) != owed
    obligation.hours_owed = owed
    return changed


async def refresh_contract(session: AsyncSession, contract_id: uuid.UUID) -> None:
    """Recompute every obligation of a contract (its dates changed)."""
    rows = await session.scalars(
        select(Obligation).where(col(Obligation.contract_id) == contract_id)
    )
    for obligation in rows:
        await refresh_hours_owed(session, obligation)
