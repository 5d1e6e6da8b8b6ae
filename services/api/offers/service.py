"""Creating and changing offers, publishing and closing them, with their events.

Every change is checked on the offer *as it will be* (the stored offer with the fields sent laid
over it, by :mod:`services.api.offers.checks`), so a PATCH cannot leave an inconsistent offer
behind. Events go to the outbox in the request's transaction: no event for a refused change.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.access import CREATE, UPDATE
from services.api.contracts.service import IllegalTransition
from services.api.errors import Conflict
from services.api.offers.checks import OfferFields, check
from services.api.offers.policy import policy
from services.api.offers.schemas import OfferCreate, OfferUpdate
from services.api.validation import FieldError
from services.core.clock import PARIS, now
from services.core.events import OfferClosed, OfferPublished, OfferUpdated, emit
from services.core.models.contract import Contract, ContractStatus
from services.core.models.offer import (
    OFFER_STATUS_LABELS,
    PUBLISHED_STATUSES,
    CloseReason,
    Offer,
    OfferStatus,
)
from services.core.referentials.sectors import SectorCode
from services.core.security.principal import Principal


class OfferIsClosed(Conflict):
    code = "offer-closed"
    title = "Offre close"
    default_detail = "Une offre close ne peut plus être modifiée."


class OfferIncomplete(Conflict):
    """The offer lacks what a published offer must have: listed in ``errors``."""

    code = "offer-incomplete"
    title = "Offre incomplète"
    default_detail = "Il manque des informations pour publier l'offre : voir « errors »."

    def __init__(self, errors: list[FieldError], detail: str | None = None) -> None:
        super().__init__(detail, extensions={"errors": [e.model_dump(mode="json") for e in errors]})


class ContractNotActive(Conflict):
    code = "contract-not-active"
    title = "Marché non en cours"
    default_detail = (
        "Le marché de cette offre n'est pas en cours : une offre n'est publiée que sur un marché "
        "en cours."
    )


def _missing(offer: Offer, *, publishing: bool) -> list[FieldError]:
    """What a published offer must have (matching ranks on it), as ``errors`` of a 409."""
    required = "obligatoire pour une offre publiée"
    errors = [
        FieldError(loc=[name], message=required, type="missing")
        for name in ("contract_type", "hours_per_week", "start_date")
        if getattr(offer, name) is None
    ]
    if offer.commune_insee is None and offer.lon is None:
        errors.append(
            FieldError(
                loc=["commune_insee"],
                message="lieu de travail obligatoire pour une offre publiée (commune ou "
                "coordonnées)",
                type="missing",
            )
        )
    if publishing:
        if offer.open_positions < 1:
            errors.append(
                FieldError(loc=["open_positions"], message="aucun poste à pourvoir", type="invalid")
            )
        if offer.end_date is not None and offer.end_date < now().astimezone(PARIS).date():
            errors.append(
                FieldError(loc=["end_date"], message="la date de fin est passée", type="invalid")
            )
    return errors


async def _require_publishable(
    session: AsyncSession, offer: Offer, contract: Contract | None, *, publishing: bool
) -> None:
    missing = _missing(offer, publishing=publishing)
    if missing:
        raise OfferIncomplete(missing)
    if offer.contract_id is None:
        return
    status: str | None
    if contract is not None and contract.id == offer.contract_id:
        status = contract.status
    else:
        status = await session.scalar(
            select(col(Contract.status)).where(col(Contract.id) == offer.contract_id)
        )
    if status != ContractStatus.ACTIVE:
        raise ContractNotActive()


async def create_offer(
    session: AsyncSession,
    data: OfferCreate,
    principal: Principal,
    *,
    refused: Sequence[FieldError] = (),
) -> Offer:
    """A draft offer; ``refused``: the errors of the request's fields ``data`` goes without
    (422 with those of the checks, nothing written)."""
    values = OfferFields(
        contract_id=data.contract_id,
        lot_id=data.lot_id,
        employer_id=data.employer_id or principal.organisation_id,
        title=data.title,
        rome_code=data.rome_code,
        appellation_code=data.appellation_code,
        sector=data.sector,
        contract_type=data.contract_type,
        hours_per_week=data.hours_per_week,
        positions=data.positions,
        open_positions=data.positions if data.open_positions is None else data.open_positions,
        start_date=data.start_date,
        end_date=data.end_date,
        commune_insee=data.commune_insee,
        lon=data.lon,
        lat=data.lat,
        requires_eligibility=data.requires_eligibility,
        is_public=data.is_public,
    )
    checked = await check(session, principal, values, new_contract=True, refused=refused)
    offer = Offer(**checked.columns(), status=OfferStatus.DRAFT)
    # An employer writes its own organisation's offers; a facilitator, those of its territory.
    policy.authorize(principal, CREATE, offer)
    session.add(offer)
    await session.flush()
    return offer


def _laid_over(offer: Offer, data: OfferUpdate) -> OfferFields:
    """The offer's fields with the ones sent laid over them, and what follows from them."""
    sent = data.model_fields_set
    changes: dict[str, Any] = {name: getattr(data, name) for name in sent}
    if "rome_code" in sent and "sector" not in sent:
        changes["sector"] = None  # derived again from the new code
    if "contract_id" in sent and "lot_id" not in sent and data.contract_id != offer.contract_id:
        changes["lot_id"] = None
    if "positions" in sent and "open_positions" not in sent and data.positions is not None:
        # Positions added are open; positions removed are taken from the open ones first.
        shifted = offer.open_positions + data.positions - offer.positions
        changes["open_positions"] = min(max(shifted, 0), data.positions)
    return replace(OfferFields.of(offer), **changes)


async def update_offer(
    session: AsyncSession,
    offer: Offer,
    data: OfferUpdate,
    principal: Principal,
    *,
    request_id: str | None = None,
    refused: Sequence[FieldError] = (),
) -> None:
    if offer.status == OfferStatus.CLOSED:
        raise OfferIsClosed()
    values = _laid_over(offer, data)
    checked = await check(
        session,
        principal,
        values,
        new_contract=values.contract_id != offer.contract_id,
        refused=refused,
    )
    changes = {
        name: value for name, value in checked.columns().items() if getattr(offer, name) != value
    }
    if not changes:
        return
    for name, value in changes.items():
        setattr(offer, name, value)
    # Another employer, perhaps: still one the caller may write for?
    policy.authorize(principal, UPDATE, offer)
    if offer.status in PUBLISHED_STATUSES:
        await _require_publishable(session, offer, checked.contract, publishing=False)
        offer.status = OfferStatus.FILLED if offer.open_positions == 0 else OfferStatus.OPEN
        emit(session, OfferUpdated(offer_id=offer.id), request_id=request_id)
    await session.flush()


async def publish(session: AsyncSession, offer: Offer, *, request_id: str | None = None) -> None:
    if offer.status != OfferStatus.DRAFT:
        raise IllegalTransition(
            "Seule une offre en brouillon peut être publiée ; celle-ci est "
            f"« {OFFER_STATUS_LABELS[offer.status]} »."
        )
    await _require_publishable(session, offer, None, publishing=True)
    offer.status = OfferStatus.OPEN
    offer.published_at = now()
    emit(session, OfferPublished(offer_id=offer.id), request_id=request_id)
    await session.flush()


async def close(
    session: AsyncSession,
    offer: Offer,
    reason: CloseReason | None,
    *,
    request_id: str | None = None,
) -> None:
    if offer.status not in PUBLISHED_STATUSES:
        raise IllegalTransition(
            "Seule une offre ouverte ou pourvue peut être close ; celle-ci est "
            f"« {OFFER_STATUS_LABELS[offer.status]} »."
        )
    offer.status = OfferStatus.CLOSED
    offer.closed_at = now()
    offer.close_reason = reason
    emit(session, OfferClosed(offer_id=offer.id), request_id=request_id)
    await session.flush()


async def delete_draft(session: AsyncSession, offer: Offer) -> None:
    """A draft was never published: no event, match or notification refers to it."""
    if offer.status != OfferStatus.DRAFT:
        advice = " : clôturez-la plutôt." if offer.status in PUBLISHED_STATUSES else "."
        raise IllegalTransition(
            "Seule une offre en brouillon peut être supprimée ; celle-ci est "
            f"« {OFFER_STATUS_LABELS[offer.status]} »{advice}"
        )
    await session.delete(offer)
    await session.flush()


def search(
    query: Select[Offer],
    *,
    status: OfferStatus | None = None,
    sector: SectorCode | None = None,
    rome_code: str | None = None,
    contract_id: uuid.UUID | None = None,
    employer_id: uuid.UUID | None = None,
    commune_insee: str | None = None,
) -> Select[Offer]:
    filters: tuple[tuple[Any, object], ...] = (
        (Offer.status, status),
        (Offer.sector, sector),
        (Offer.rome_code, rome_code),
        (Offer.contract_id, contract_id),
        (Offer.employer_id, employer_id),
        (Offer.commune_insee, commune_insee),
    )
    for column, value in filters:
        if value is not None:
            query = query.where(col(column) == value)
    return query.order_by(col(Offer.id).desc())
