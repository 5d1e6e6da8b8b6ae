"""Registering contracts, their lots and holders; moving them through their lifecycle.

Everything is checked before anything is written; a refusal raises, and the request's
transaction rolls back whatever was flushed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import Select, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.access import CREATE, UPDATE
from services.api.contracts.policy import policy
from services.api.contracts.schemas import ContractCreate, ContractUpdate, LotIn
from services.api.errors import Conflict, ValidationFailed
from services.api.integrity import unique_or_conflict
from services.api.validation import FieldError, merge_errors
from services.core.clock import now
from services.core.events import ContractConfirmed, OfferUpdated, emit
from services.core.ledger.obligations import refresh_contract
from services.core.models.contract import (
    CONTRACT_STATUS_LABELS,
    Contract,
    ContractHolder,
    ContractLot,
    ContractStatus,
)
from services.core.models.offer import PUBLISHED_STATUSES, Offer
from services.core.models.organisation import Organisation
from services.core.security.principal import Principal

_error = FieldError.of_body

REFERENCE_CONSTRAINT = "uq_contract_buyer_id_reference"

# Contract fields the matching worker reads when it ranks candidates for the contract's offers.
MATCHING_FIELDS = ("is_npnru", "qpv_priority")

TRANSITIONS: dict[ContractStatus, frozenset[ContractStatus]] = {
    ContractStatus.DISCOVERED: frozenset({ContractStatus.DRAFT}),
    ContractStatus.DRAFT: frozenset({ContractStatus.ACTIVE}),
    ContractStatus.ACTIVE: frozenset({ContractStatus.CLOSED}),
    ContractStatus.CLOSED: frozenset(),
}


class IllegalTransition(Conflict):
    code = "illegal-transition"
    title = "Changement d'état impossible"
    default_detail = "Cette action n'est pas possible dans l'état actuel de la ressource."


class ReferenceTaken(Conflict):
    code = "contract-reference-taken"
    title = "Référence déjà utilisée"
    default_detail = "Cet acheteur a déjà un marché avec cette référence."


class ContractClosed(Conflict):
    code = "contract-closed"
    title = "Marché clos"
    default_detail = "Un marché clos ne peut plus être modifié."


class LotInUse(Conflict):
    code = "lot-in-use"
    title = "Lot utilisé par des offres"


class ContractIncomplete(Conflict):
    code = "contract-incomplete"
    title = "Marché incomplet"


class OffersStillOpen(Conflict):
    code = "contract-has-open-offers"
    title = "Offres encore ouvertes"
    default_detail = (
        "Ce marché a encore des offres ouvertes ou pourvues : clôturez-les avant de clore le "
        "marché."
    )


async def _unknown_organisations(session: AsyncSession, ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    wanted = set(ids)
    if not wanted:
        return set()
    found = await session.scalars(
        select(col(Organisation.id)).where(col(Organisation.id).in_(sorted(wanted)))
    )
    return wanted - set(found)


async def _check(
    session: AsyncSession,
    *,
    start_date: date,
    end_date: date,
    buyer_id: uuid.UUID | None,
    holder_ids: list[uuid.UUID] | None,
    refused: Sequence[FieldError] = (),
) -> None:
    """The checks of a contract as it will be once written; ``None``: left as it is.

    ``refused``: the errors of the request's fields, reported with these (decision 0047)."""
    errors: list[FieldError] = []
    if end_date < start_date:
        errors.append(_error("end_date", "la date de fin précède la date de début"))
    unknown = await _unknown_organisations(
        session, [*([buyer_id] if buyer_id else []), *(holder_ids or [])]
    )
    if buyer_id in unknown:
        errors.append(_error("buyer_id", "organisation inconnue", "unknown"))
    for index, holder_id in enumerate(holder_ids or []):
        if holder_id in unknown:
            errors.append(
                FieldError(
                    loc=["body", "holder_ids", index],
                    message="organisation inconnue",
                    type="unknown",
                )
            )
    errors = merge_errors(refused, errors)
    if errors:
        raise ValidationFailed(errors)


def _lot(contract: Contract, data: LotIn) -> ContractLot:
    return ContractLot(
        contract_id=contract.id,
        number=data.number,
        title=data.title,
        clause_kind=data.clause_kind,
        required_insertion_hours=data.required_insertion_hours,
    )


async def create_contract(
    session: AsyncSession,
    data: ContractCreate,
    principal: Principal,
    *,
    refused: Sequence[FieldError] = (),
) -> Contract:
    """A draft contract; ``refused``: the errors of the request's fields ``data`` goes without
    (422 with those of the checks, nothing written)."""
    await _check(
        session,
        start_date=data.start_date,
        end_date=data.end_date,
        buyer_id=data.buyer_id,
        holder_ids=data.holder_ids,
        refused=refused,
    )
    contract = Contract(
        buyer_id=data.buyer_id,
        reference=data.reference,
        title=data.title,
        clause_kind=data.clause_kind,
        start_date=data.start_date,
        end_date=data.end_date,
        amount=data.amount,
        is_npnru=data.is_npnru,
        qpv_priority=data.qpv_priority,
        required_insertion_hours=data.required_insertion_hours,
        status=ContractStatus.DRAFT,
    )
    contract.lots = [_lot(contract, lot) for lot in data.lots]
    contract.holders = [
        ContractHolder(contract_id=contract.id, organisation_id=organisation_id)
        for organisation_id in data.holder_ids
    ]
    # A facilitator registers contracts of its territory only: the buyer or a holder in it.
    policy.authorize(principal, CREATE, contract)
    async with unique_or_conflict(session, {REFERENCE_CONSTRAINT: ReferenceTaken()}):
        session.add(contract)
    return contract


async def _published_offer_ids(session: AsyncSession, contract_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(col(Offer.id))
        .where(col(Offer.contract_id) == contract_id, col(Offer.status).in_(PUBLISHED_STATUSES))
        .order_by(col(Offer.id))
    )
    return list(rows)


async def _replace_lots(session: AsyncSession, contract: Contract, lots: list[LotIn]) -> bool:
    """Lots matched by number: kept ones are updated in place, missing ones deleted (refused
    while an offer points at them), new ones added. Whether anything changed."""
    wanted = {lot.number: lot for lot in lots}
    existing = {lot.number: lot for lot in contract.lots}
    removed = [lot for number, lot in existing.items() if number not in wanted]
    if removed:
        used = await session.scalars(
            select(col(ContractLot.number))
            .where(
                col(ContractLot.id).in_([lot.id for lot in removed]),
                exists().where(col(Offer.lot_id) == col(ContractLot.id)),
            )
            .order_by(col(ContractLot.number))
        )
        numbers = list(used)
        if numbers:
            listed = ", ".join(str(n) for n in numbers)
            raise LotInUse(
                f"Des offres sont rattachées au(x) lot(s) {listed} : rattachez-les ailleurs "
                "avant de retirer ces lots."
            )
    changed = bool(removed)
    for lot in removed:
        contract.lots.remove(lot)
    for number, data in wanted.items():
        kept = existing.get(number)
        if kept is None:
            contract.lots.append(_lot(contract, data))
            changed = True
            continue
        for field in ("title", "clause_kind", "required_insertion_hours"):
            value = getattr(data, field)
            if getattr(kept, field) != value:
                setattr(kept, field, value)
                changed = True
    return changed


def _replace_holders(contract: Contract, holder_ids: list[uuid.UUID]) -> bool:
    wanted = set(holder_ids)
    current = {holder.organisation_id: holder for holder in contract.holders}
    for organisation_id, holder in current.items():
        if organisation_id not in wanted:
            contract.holders.remove(holder)
    for organisation_id in sorted(wanted - current.keys()):
        contract.holders.append(
            ContractHolder(contract_id=contract.id, organisation_id=organisation_id)
        )
    return wanted != current.keys()


async def update_contract(
    session: AsyncSession,
    contract: Contract,
    data: ContractUpdate,
    principal: Principal,
    *,
    request_id: str | None = None,
    refused: Sequence[FieldError] = (),
) -> None:
    if contract.status == ContractStatus.CLOSED:
        raise ContractClosed()
    sent = data.model_fields_set
    columns = {name: getattr(data, name) for name in sent if name not in ("lots", "holder_ids")}
    changes = {name: value for name, value in columns.items() if getattr(contract, name) != value}
    await _check(
        session,
        start_date=changes.get("start_date", contract.start_date),
        end_date=changes.get("end_date", contract.end_date),
        buyer_id=changes.get("buyer_id"),
        holder_ids=data.holder_ids if "holder_ids" in sent else None,
        refused=refused,
    )
    async with unique_or_conflict(session, {REFERENCE_CONSTRAINT: ReferenceTaken()}):
        for name, value in changes.items():
            setattr(contract, name, value)
        children_changed = False
        if data.lots is not None:
            children_changed |= await _replace_lots(session, contract, data.lots)
        if data.holder_ids is not None:
            children_changed |= _replace_holders(contract, data.holder_ids)
        if not changes and not children_changed:
            return
        # The contract as it will be: still in the facilitator's territory?
        policy.authorize(principal, UPDATE, contract)
        if children_changed and not changes:
            contract.updated_at = now()  # a change of lots or holders is a change of the contract
    if "start_date" in changes or "end_date" in changes:
        # Hours owed per year of execution follow the contract's dates (decision 0074).
        await refresh_contract(session, contract.id)
    if any(name in changes for name in MATCHING_FIELDS):
        # Ranking weighs QPV residence by these: the open offers must be ranked again.
        for offer_id in await _published_offer_ids(session, contract.id):
            emit(session, OfferUpdated(offer_id=offer_id), request_id=request_id)


async def transition(session: AsyncSession, contract: Contract, target: ContractStatus) -> None:
    current = ContractStatus(contract.status)
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(
            f"Un marché « {CONTRACT_STATUS_LABELS[current]} » ne peut pas passer à l'état "
            f"« {CONTRACT_STATUS_LABELS[target]} »."
        )
    if target is ContractStatus.ACTIVE and not contract.holders:
        raise ContractIncomplete(
            "Un marché ne peut être mis en cours qu'avec au moins un attributaire (holder_ids)."
        )
    if target is ContractStatus.CLOSED and await _published_offer_ids(session, contract.id):
        raise OffersStillOpen()
    contract.status = target
    await session.flush()


async def confirm(
    session: AsyncSession, contract: Contract, *, request_id: str | None = None
) -> None:
    """A discovered contract becomes a draft Maillon follows; the open data no longer changes
    it (decision 0064)."""
    await transition(session, contract, ContractStatus.DRAFT)
    emit(session, ContractConfirmed(contract_id=contract.id), request_id=request_id)


def search(
    query: Select[Contract],
    *,
    status: ContractStatus | None = None,
    buyer_id: uuid.UUID | None = None,
    is_npnru: bool | None = None,
) -> Select[Contract]:
    if status is not None:
        query = query.where(col(Contract.status) == status)
    if buyer_id is not None:
        query = query.where(col(Contract.buyer_id) == buyer_id)
    if is_npnru is not None:
        query = query.where(col(Contract.is_npnru) == is_npnru)
    return query.order_by(col(Contract.id).desc())
