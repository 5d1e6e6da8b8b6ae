"""The public feed's rows: open offers marked public, of active employers, with the public facts
around them (names of places, jobs and organisations; the clause), read in two queries: the
page's ids, then their rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from services.api.errors import ValidationFailed
from services.api.pagination import PaginationParams, paginate
from services.api.public.clause import ClauseFacts
from services.api.validation import FieldError
from services.core.geo.communes import with_arrondissements
from services.core.geo.distance import EARTH_RADIUS_KM, bounding_box
from services.core.models.contract import Contract, ContractLot
from services.core.models.geo import Commune, PostalCode
from services.core.models.offer import ContractType, CoordinatesSource, Offer, OfferStatus
from services.core.models.organisation import Organisation
from services.core.models.referentials import RomeAppellation, RomeFiche


@dataclass(frozen=True)
class Filters:
    rome_code: str | None = None
    commune_insee: str | None = None
    radius_km: int | None = None
    contract_type: ContractType | None = None


@dataclass(frozen=True)
class PublicRow:
    """One public offer and the public facts around it."""

    id: uuid.UUID
    title: str
    rome_code: str
    rome_label: str | None
    appellation_code: str | None
    appellation_label: str | None
    contract_type: ContractType | None
    hours_per_week: Decimal | None
    open_positions: int
    start_date: date | None
    end_date: date | None
    published_at: datetime
    updated_at: datetime
    employer_name: str
    commune_insee: str | None
    commune_name: str | None
    department: str | None
    postal_code: str | None
    lon: float | None
    lat: float | None
    coordinates_source: CoordinatesSource | None
    clause: ClauseFacts


def _published() -> ColumnElement[bool]:
    return and_(
        col(Offer.is_public).is_(True),
        col(Offer.status) == OfferStatus.OPEN,
        col(Organisation.is_active).is_(True),
    )


def _unknown_commune() -> ValidationFailed:
    return ValidationFailed(
        [FieldError(loc=["query", "commune_insee"], message="commune inconnue", type="unknown")]
    )


def radius_without_commune() -> ValidationFailed:
    return ValidationFailed(
        [
            FieldError(
                loc=["query", "radius_km"],
                message="le rayon se donne avec une commune (commune_insee), son centre",
                type="missing",
            )
        ]
    )


async def _within(
    session: AsyncSession, commune_insee: str, radius_km: int
) -> list[ColumnElement[bool]]:
    """Work sites within ``radius_km`` of the commune's centre: a box on the index, then the
    great-circle distance (the offer's own point, else its commune's centre)."""
    centre = (
        await session.execute(
            select(col(Commune.lon), col(Commune.lat)).where(col(Commune.insee) == commune_insee)
        )
    ).first()
    if centre is None:
        raise _unknown_commune()
    lon, lat = centre
    min_lon, min_lat, max_lon, max_lat = bounding_box(lon, lat, radius_km)
    site_lon = func.coalesce(col(Offer.lon), col(Commune.lon))
    site_lat = func.coalesce(col(Offer.lat), col(Commune.lat))
    half_chord = func.power(func.sin(func.radians(site_lat - lat) / 2), 2) + func.cos(
        func.radians(lat)
    ) * func.cos(func.radians(site_lat)) * func.power(func.sin(func.radians(site_lon - lon) / 2), 2)
    distance = 2 * EARTH_RADIUS_KM * func.asin(func.least(1.0, func.sqrt(half_chord)))
    return [
        site_lon.between(min_lon, max_lon),
        site_lat.between(min_lat, max_lat),
        distance <= radius_km,
    ]


async def _ids(session: AsyncSession, filters: Filters) -> Select[Any]:
    query = (
        select(col(Offer.id))
        .join(Organisation, col(Organisation.id) == col(Offer.employer_id))
        .outerjoin(Commune, col(Commune.insee) == col(Offer.commune_insee))
        .where(_published())
    )
    if filters.rome_code is not None:
        query = query.where(col(Offer.rome_code) == filters.rome_code)
    if filters.contract_type is not None:
        query = query.where(col(Offer.contract_type) == filters.contract_type)
    if filters.commune_insee is not None:
        if filters.radius_km is not None:
            query = query.where(*await _within(session, filters.commune_insee, filters.radius_km))
        else:
            if (
                await session.scalar(
                    select(col(Commune.id)).where(col(Commune.insee) == filters.commune_insee)
                )
                is None
            ):
                raise _unknown_commune()
            codes = with_arrondissements(filters.commune_insee)
            query = query.where(col(Offer.commune_insee).in_(codes))
    return query.order_by(col(Offer.published_at).desc(), col(Offer.id).desc())


async def page(
    session: AsyncSession, filters: Filters, pagination: PaginationParams
) -> tuple[list[PublicRow], int]:
    """One page of the public feed, newest first, and the feed's total count."""
    ids, total = await paginate(session, await _ids(session, filters), pagination)
    if not ids:
        return [], total
    rows = {row.id: row for row in await _rows(session, ids)}
    return [rows[offer_id] for offer_id in ids], total


async def _rows(session: AsyncSession, ids: list[uuid.UUID]) -> list[PublicRow]:
    buyer = aliased(Organisation)
    primary_postal_code = (
        select(col(PostalCode.code))
        .where(col(PostalCode.insee) == col(Offer.commune_insee), col(PostalCode.is_primary))
        .order_by(col(PostalCode.code))
        .limit(1)
        .scalar_subquery()
    )
    query = (
        select(
            Offer,
            col(Organisation.name),
            col(Commune.name),
            col(Commune.dept),
            col(Commune.lon),
            col(Commune.lat),
            primary_postal_code,
            col(RomeFiche.label),
            col(RomeAppellation.label),
            col(Contract.clause_kind),
            col(ContractLot.clause_kind),
            col(Contract.title),
            col(Contract.is_npnru),
            col(Contract.qpv_priority),
            col(buyer.name),
        )
        .join(Organisation, col(Organisation.id) == col(Offer.employer_id))
        .outerjoin(Commune, col(Commune.insee) == col(Offer.commune_insee))
        .outerjoin(RomeFiche, col(RomeFiche.code) == col(Offer.rome_code))
        .outerjoin(RomeAppellation, col(RomeAppellation.code) == col(Offer.appellation_code))
        .outerjoin(Contract, col(Contract.id) == col(Offer.contract_id))
        .outerjoin(ContractLot, col(ContractLot.id) == col(Offer.lot_id))
        .outerjoin(buyer, col(buyer.id) == col(Contract.buyer_id))
        .where(col(Offer.id).in_(ids))
    )
    result = await session.execute(query)
    rows: list[PublicRow] = []
    for (
        offer,
        employer_name,
        commune_name,
        department,
        commune_lon,
        commune_lat,
        postal_code,
        rome_label,
        appellation_label,
        contract_kind,
        lot_kind,
        contract_title,
        is_npnru,
        qpv_priority,
        buyer_name,
    ) in result.all():
        given = offer.lon is not None and offer.lat is not None
        rows.append(
            PublicRow(
                id=offer.id,
                title=offer.title,
                rome_code=offer.rome_code,
                rome_label=rome_label,
                appellation_code=offer.appellation_code,
                appellation_label=appellation_label,
                contract_type=offer.contract_type,
                hours_per_week=offer.hours_per_week,
                open_positions=offer.open_positions,
                start_date=offer.start_date,
                end_date=offer.end_date,
                # An open offer was published: the column is set by the publish action.
                published_at=offer.published_at or offer.created_at,
                updated_at=offer.updated_at,
                employer_name=employer_name,
                commune_insee=offer.commune_insee,
                commune_name=commune_name,
                department=department,
                postal_code=postal_code,
                lon=offer.lon if given else commune_lon,
                lat=offer.lat if given else commune_lat,
                coordinates_source=(
                    offer.coordinates_source
                    if given
                    else CoordinatesSource.COMMUNE_CENTROID
                    if commune_lon is not None
                    else None
                ),
                clause=ClauseFacts(
                    # A lot's own clause kind overrides its contract's (product.md §3).
                    kind=lot_kind or contract_kind,
                    contract_title=contract_title,
                    buyer_name=buyer_name,
                    is_npnru=bool(is_npnru),
                    qpv_priority=qpv_priority or ClauseFacts.qpv_priority,
                    requires_eligibility=offer.requires_eligibility,
                ),
            )
        )
    return rows
