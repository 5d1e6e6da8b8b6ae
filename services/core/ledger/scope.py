"""What a progress report covers (product.md §8.6): a territory, a buyer, a contract, a lot or
a company, over a period — resolved to the contracts whose figures it adds up (decision 0078)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.models.attribution import Attribution
from services.core.models.contract import Contract, ContractHolder, ContractLot, ContractStatus
from services.core.models.organisation import Organisation
from services.core.models.user import Role
from services.core.security.principal import territory_of


class ScopeKind(StrEnum):
    TERRITORY = "territory"
    BUYER = "buyer"
    CONTRACT = "contract"
    LOT = "lot"
    COMPANY = "company"


SCOPE_KIND_LABELS: dict[ScopeKind, str] = {
    ScopeKind.TERRITORY: "Territoire",
    ScopeKind.BUYER: "Acheteur",
    ScopeKind.CONTRACT: "Marché",
    ScopeKind.LOT: "Lot",
    ScopeKind.COMPANY: "Entreprise",
}

# A territory's, a buyer's or a company's report adds up the contracts being executed or done:
# not those found in open data and not confirmed, nor drafts whose hours are not settled.
FOLLOWED = (ContractStatus.ACTIVE, ContractStatus.CLOSED)


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    @property
    def start_month(self) -> date:
        return self.start.replace(day=1)

    @property
    def label(self) -> str:
        return f"du {self.start:%d/%m/%Y} au {self.end:%d/%m/%Y}"

    @property
    def slug(self) -> str:
        return f"{self.start:%Y-%m-%d}_{self.end:%Y-%m-%d}"


_QUARTER = re.compile(r"^([1-9]\d{3})-Q([1-4])$")


def quarter(value: str) -> Period:
    """``2026-Q3`` → 1 July to 30 September 2026; ValueError otherwise."""
    found = _QUARTER.match(value.strip().upper())
    if found is None:
        raise ValueError("trimestre attendu sous la forme AAAA-Qn, par exemple 2026-Q3")
    year, number = int(found.group(1)), int(found.group(2))
    start = date(year, 3 * number - 2, 1)
    end = date(year + (number == 4), (3 * number) % 12 + 1, 1) - timedelta(days=1)
    return Period(start, end)


@dataclass(frozen=True)
class Scope:
    kind: ScopeKind
    id: uuid.UUID
    name: str
    contract_ids: tuple[uuid.UUID, ...]
    lot_id: uuid.UUID | None = None
    company_id: uuid.UUID | None = None


async def _followed(session: AsyncSession, condition: object) -> tuple[uuid.UUID, ...]:
    rows = await session.scalars(
        select(col(Contract.id))
        .where(condition, col(Contract.status).in_(FOLLOWED))  # type: ignore[arg-type]
        .order_by(col(Contract.reference))
    )
    return tuple(rows)


async def resolve(session: AsyncSession, kind: ScopeKind, scope_id: uuid.UUID) -> Scope | None:
    """The scope named by ``kind`` and ``scope_id``; None when no such thing exists."""
    if kind is ScopeKind.CONTRACT:
        contract = await session.get(Contract, scope_id)
        if contract is None:
            return None
        return Scope(kind, scope_id, f"{contract.reference} — {contract.title}", (scope_id,))
    if kind is ScopeKind.LOT:
        lot = await session.get(ContractLot, scope_id)
        if lot is None:
            return None
        return Scope(
            kind, scope_id, f"Lot {lot.number} — {lot.title}", (lot.contract_id,), scope_id
        )
    organisation = await session.get(Organisation, scope_id)
    if organisation is None:
        return None
    if kind is ScopeKind.BUYER:
        ids = await _followed(session, col(Contract.buyer_id) == scope_id)
        return Scope(kind, scope_id, organisation.name, ids)
    if kind is ScopeKind.COMPANY:
        attributed = select(col(Attribution.contract_id)).where(
            col(Attribution.organisation_id) == scope_id
        )
        ids = await _followed(session, col(Contract.id).in_(attributed))
        return Scope(kind, scope_id, organisation.name, ids, company_id=scope_id)
    territory = sorted(await territory_of(session, scope_id, Role.FACILITATOR))
    held = exists().where(
        col(ContractHolder.contract_id) == col(Contract.id),
        col(ContractHolder.organisation_id).in_(territory),
    )
    ids = await _followed(session, or_(col(Contract.buyer_id).in_(territory), held))
    return Scope(kind, scope_id, organisation.name, ids)
