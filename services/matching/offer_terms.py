"""What the ranking reads of an offer and its contract, in one prepared statement."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.models.contract import QpvPriority
from services.core.models.offer import OfferStatus
from services.core.referentials.sectors import SectorCode
from services.matching.statement_cache import driver, fetch


@dataclass(frozen=True, slots=True)
class OfferTerms:
    """What the ranking reads of an offer and its contract."""

    offer_id: uuid.UUID
    status: OfferStatus
    sector: SectorCode | None
    rome_code: str
    lon: float | None
    lat: float | None
    start_date: date | None
    hours_per_week: Decimal | None
    requires_eligibility: bool
    has_contract: bool
    is_npnru: bool
    qpv_priority: QpvPriority | None

    @property
    def qpv_prioritised(self) -> bool:
        return self.is_npnru or self.qpv_priority in (QpvPriority.PREFERRED, QpvPriority.REQUIRED)

    @property
    def eligibility_applies(self) -> bool:
        """Eligibility earns points on clause offers (a contract) and on offers requiring it."""
        return self.requires_eligibility or self.has_contract


_TERMS = (
    "SELECT o.id, o.status, o.sector, o.rome_code, o.lon, o.lat, o.start_date, "
    "o.hours_per_week, o.requires_eligibility, o.contract_id IS NOT NULL, "
    "coalesce(c.is_npnru, false), c.qpv_priority "
    "FROM offer o LEFT JOIN contract c ON c.id = o.contract_id WHERE o.id = :id"
)


async def load_offer_terms(session: AsyncSession, offer_id: uuid.UUID) -> OfferTerms | None:
    return await load_terms(await driver(session), offer_id)


async def load_terms(connection: asyncpg.Connection, offer_id: uuid.UUID) -> OfferTerms | None:
    found = await fetch(connection, _TERMS, {"id": offer_id})
    row = found[0] if found else None
    if row is None:
        return None
    return OfferTerms(
        offer_id=row[0],
        status=OfferStatus(row[1]),
        sector=SectorCode(row[2]) if row[2] is not None else None,
        rome_code=row[3],
        lon=row[4],
        lat=row[5],
        start_date=row[6],
        hours_per_week=row[7],
        requires_eligibility=row[8],
        has_contract=row[9],
        is_npnru=row[10],
        qpv_priority=QpvPriority(row[11]) if row[11] is not None else None,
    )
