"""Attributions: a company on a lot (§8.2), checked whole before anything is written."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Select, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.attributions.schemas import AttributionCreate, AttributionUpdate
from services.api.errors import Conflict, ValidationFailed
from services.api.integrity import unique_or_conflict
from services.api.obligations.service import ContractClosed, check_lot
from services.api.validation import FieldError, merge_errors
from services.core.models.attribution import Attribution
from services.core.models.contract import Contract, ContractStatus
from services.core.models.organisation import Organisation
from services.core.models.placement import Placement
from services.core.models.user import User

_error = FieldError.of_body


class AttributionExists(Conflict):
    code = "attribution-exists"
    title = "Attribution déjà enregistrée"
    default_detail = "Cette entreprise est déjà attributaire de ce lot."


class AttributionInUse(Conflict):
    code = "attribution-in-use"
    title = "Attribution utilisée"
    default_detail = (
        "Des mises en emploi ou des sous-traitants sont rattachés à cette attribution : elle ne "
        "peut pas être supprimée."
    )


UNIQUE = {
    "uq_attribution_lot_organisation": AttributionExists(),
    "uq_attribution_contract_organisation_without_lot": AttributionExists(),
}


async def _check_links(
    session: AsyncSession,
    *,
    contract_id: uuid.UUID,
    lot_id: uuid.UUID | None,
    organisation_id: uuid.UUID,
    parent_attribution_id: uuid.UUID | None,
    referent_user_id: uuid.UUID | None,
    self_id: uuid.UUID | None = None,
) -> list[FieldError]:
    errors: list[FieldError] = []
    if await session.get(Organisation, organisation_id, populate_existing=True) is None:
        errors.append(_error("organisation_id", "organisation inconnue", "unknown"))
    if parent_attribution_id is not None:
        parent = await session.get(Attribution, parent_attribution_id, populate_existing=True)
        if (
            parent is None
            or parent.contract_id != contract_id
            or parent.lot_id != lot_id
            or parent.id == self_id
        ):
            errors.append(
                _error(
                    "parent_attribution_id",
                    "attribution inconnue sur ce lot de ce marché",
                    "unknown",
                )
            )
    if referent_user_id is not None:
        user = await session.get(User, referent_user_id, populate_existing=True)
        if user is None or user.organisation_id != organisation_id or not user.is_active:
            errors.append(
                _error(
                    "referent_user_id",
                    "le référent doit être un compte actif de l'entreprise attributaire",
                    "unknown",
                )
            )
    return errors


async def create(
    session: AsyncSession,
    contract: Contract,
    data: AttributionCreate,
    *,
    refused: Sequence[FieldError] = (),
) -> Attribution:
    if contract.status is ContractStatus.CLOSED:
        raise ContractClosed()
    errors = check_lot(contract, data.lot_id) + await _check_links(
        session,
        contract_id=contract.id,
        lot_id=data.lot_id,
        organisation_id=data.organisation_id,
        parent_attribution_id=data.parent_attribution_id,
        referent_user_id=data.referent_user_id,
    )
    errors = merge_errors(refused, errors)
    if errors:
        raise ValidationFailed(errors)
    attribution = Attribution(contract_id=contract.id, **data.model_dump())
    async with unique_or_conflict(session, UNIQUE):
        session.add(attribution)
    return attribution


async def update(
    session: AsyncSession,
    attribution: Attribution,
    data: AttributionUpdate,
    *,
    refused: Sequence[FieldError] = (),
) -> None:
    sent = {name: getattr(data, name) for name in data.model_fields_set}
    errors = await _check_links(
        session,
        contract_id=attribution.contract_id,
        lot_id=attribution.lot_id,
        organisation_id=attribution.organisation_id,
        parent_attribution_id=sent.get("parent_attribution_id"),
        referent_user_id=sent.get("referent_user_id"),
        self_id=attribution.id,
    )
    errors = merge_errors(refused, errors)
    if errors:
        raise ValidationFailed(errors)
    for name, value in sent.items():
        setattr(attribution, name, value)
    await session.flush()


async def delete(session: AsyncSession, attribution: Attribution) -> None:
    used = await session.scalar(
        select(
            exists().where(col(Placement.attribution_id) == attribution.id)
            | exists().where(col(Attribution.parent_attribution_id) == attribution.id)
        )
    )
    if used:
        raise AttributionInUse()
    await session.delete(attribution)
    await session.flush()


def of_contract(query: Select[Attribution], contract_id: uuid.UUID) -> Select[Attribution]:
    return query.where(col(Attribution.contract_id) == contract_id).order_by(
        col(Attribution.lot_id).nulls_first(), col(Attribution.id)
    )
