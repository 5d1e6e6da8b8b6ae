"""Obligations and their declarations: checked whole, then written; the hours owed follow in the
same transaction (decision 0074)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.errors import Conflict, NotFound, ValidationFailed
from services.api.integrity import unique_or_conflict
from services.api.obligations.policy import contracts_in_reach
from services.api.obligations.schemas import (
    METHOD_PARAMETERS,
    PARAMETERS,
    DeclarationIn,
    ObligationCreate,
    ObligationUpdate,
)
from services.api.validation import FieldError, merge_errors
from services.core.ledger.obligations import refresh_hours_owed
from services.core.models.contract import Contract, ContractStatus
from services.core.models.obligation import (
    OBLIGATION_METHOD_LABELS,
    Obligation,
    ObligationDeclaration,
    ObligationMethod,
)
from services.core.security.principal import Principal

_error = FieldError.of_body


class ObligationExists(Conflict):
    code = "obligation-exists"
    title = "Obligation déjà fixée"
    default_detail = "Ce lot (ou ce marché sans lots) a déjà son obligation : modifiez-la."


class ContractClosed(Conflict):
    code = "contract-closed"
    title = "Marché clos"
    default_detail = "Un marché clos ne peut plus être modifié."


UNIQUE = {
    "uq_obligation_lot_id": ObligationExists(),
    "uq_obligation_contract_without_lot": ObligationExists(),
}


async def contract_in_reach(
    session: AsyncSession, principal: Principal, contract_id: uuid.UUID, *, for_update: bool = False
) -> Contract:
    """The contract if the caller reaches it for the ledger, else 404."""
    query = select(Contract).where(col(Contract.id) == contract_id, contracts_in_reach(principal))
    if for_update:
        query = query.with_for_update()
    contract = await session.scalar(query)
    if contract is None:
        raise NotFound()
    return contract


def check_lot(contract: Contract, lot_id: uuid.UUID | None) -> list[FieldError]:
    if lot_id is None:
        if contract.lots:
            return [_error("lot_id", "ce marché a des lots : indiquez le lot", "missing")]
        return []
    if lot_id not in {lot.id for lot in contract.lots}:
        return [_error("lot_id", "lot inconnu pour ce marché", "unknown")]
    return []


def _check_parameters(method: ObligationMethod, values: dict[str, object]) -> list[FieldError]:
    errors = []
    needed = METHOD_PARAMETERS[method]
    label = OBLIGATION_METHOD_LABELS[method]
    for name in PARAMETERS:
        if name in needed and values.get(name) is None:
            errors.append(_error(name, f"obligatoire pour la méthode « {label} »", "missing"))
        elif name not in needed and values.get(name) is not None:
            errors.append(_error(name, f"sans objet pour la méthode « {label} »"))
    return errors


async def create(
    session: AsyncSession,
    contract: Contract,
    data: ObligationCreate,
    *,
    refused: Sequence[FieldError] = (),
) -> Obligation:
    if contract.status is ContractStatus.CLOSED:
        raise ContractClosed()
    values = data.model_dump()
    errors = merge_errors(
        refused, check_lot(contract, data.lot_id) + _check_parameters(data.method, values)
    )
    if errors:
        raise ValidationFailed(errors)
    obligation = Obligation(contract_id=contract.id, **values)
    obligation.eligible_publics = sorted(str(k.value) for k in data.eligible_publics)
    obligation.allowed_modalities = sorted(set(data.allowed_modalities))
    async with unique_or_conflict(session, UNIQUE):
        session.add(obligation)
        await session.flush()
    await refresh_hours_owed(session, obligation)
    await session.flush()
    return obligation


async def update(
    session: AsyncSession,
    obligation: Obligation,
    data: ObligationUpdate,
    *,
    refused: Sequence[FieldError] = (),
) -> None:
    contract = await session.get(Contract, obligation.contract_id, populate_existing=True)
    assert contract is not None
    if contract.status is ContractStatus.CLOSED:
        raise ContractClosed()
    sent = {name: getattr(data, name) for name in data.model_fields_set}
    method = ObligationMethod(sent.get("method", obligation.method))
    values = {name: sent.get(name, getattr(obligation, name)) for name in PARAMETERS}
    if "method" in sent and sent["method"] != obligation.method:
        # A new method: the parameters of the old one go unless sent again.
        for name in PARAMETERS:
            if name not in METHOD_PARAMETERS[method] and name not in sent:
                values[name] = None
    errors = merge_errors(refused, _check_parameters(method, values))
    if errors:
        raise ValidationFailed(errors)
    for name, value in values.items():
        setattr(obligation, name, value)
    for name, value in sent.items():
        if name in PARAMETERS:
            continue
        if name == "eligible_publics":
            value = sorted(str(k.value) for k in value)
        elif name == "allowed_modalities":
            value = sorted(set(value))
        setattr(obligation, name, value)
    await refresh_hours_owed(session, obligation)
    await session.flush()


async def delete(session: AsyncSession, obligation: Obligation) -> None:
    await session.delete(obligation)
    await session.flush()


async def declare(
    session: AsyncSession,
    obligation: Obligation,
    data: DeclarationIn,
    principal: Principal,
    at: datetime,
    *,
    refused: Sequence[FieldError] = (),
) -> ObligationDeclaration:
    errors: list[FieldError] = []
    if data.period_end < data.period_start:
        errors.append(_error("period_end", "la fin de la période précède son début"))
    if data.hours_worked is None and data.amount_invoiced is None:
        errors.append(
            _error("hours_worked", "indiquez les heures travaillées et/ou le montant facturé")
        )
    errors = merge_errors(refused, errors)
    if errors:
        raise ValidationFailed(errors)
    declaration = await session.scalar(
        select(ObligationDeclaration)
        .where(
            col(ObligationDeclaration.obligation_id) == obligation.id,
            col(ObligationDeclaration.period_start) == data.period_start,
        )
        .with_for_update()
    )
    if declaration is None:
        declaration = ObligationDeclaration(
            obligation_id=obligation.id, period_start=data.period_start, period_end=data.period_end
        )
        session.add(declaration)
    declaration.period_end = data.period_end
    declaration.hours_worked = data.hours_worked
    declaration.amount_invoiced = data.amount_invoiced
    declaration.declared_by_user_id = principal.id if principal.kind == "user" else None
    declaration.declared_at = at
    await refresh_hours_owed(session, obligation)
    await session.flush()
    return declaration


def of_contract(query: Select[Obligation], contract_id: uuid.UUID) -> Select[Obligation]:
    return query.where(col(Obligation.contract_id) == contract_id).order_by(
        col(Obligation.lot_id).nulls_first(), col(Obligation.id)
    )


def declarations_of(obligation_id: uuid.UUID) -> Select[ObligationDeclaration]:
    return (
        select(ObligationDeclaration)
        .where(col(ObligationDeclaration.obligation_id) == obligation_id)
        .order_by(col(ObligationDeclaration.period_start))
    )
