"""The checks of an offer as it will be (decision 0009): dates, positions, the work site, the
ROME code and appellation, the employer, the commune, the contract and its lot. References to
other tables are checked here rather than by foreign keys where those tables are replaced on
import (ROME, communes). Every problem is reported at once, after those of the request's fields
(decision 0047)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.contracts.policy import policy as contracts_policy
from services.api.contracts.service import ContractClosed
from services.api.errors import ValidationFailed
from services.api.validation import FieldError, merge_errors
from services.core.geo.france import in_france
from services.core.models.contract import Contract, ContractStatus
from services.core.models.geo import Commune
from services.core.models.offer import ContractType, CoordinatesSource, Offer
from services.core.models.organisation import Organisation
from services.core.models.referentials import RomeAppellation, RomeFiche
from services.core.referentials.sectors import SectorCode, sector_for_rome
from services.core.security.principal import Principal

_error = FieldError.of_body


@dataclass(frozen=True)
class OfferFields:
    """What a client sets on an offer. ``lon``/``lat``: coordinates the client gave (work site),
    ``None`` when it gave none (the commune's centre is used)."""

    contract_id: uuid.UUID | None
    lot_id: uuid.UUID | None
    employer_id: uuid.UUID
    title: str
    rome_code: str
    appellation_code: str | None
    sector: SectorCode | None
    contract_type: ContractType | None
    hours_per_week: Decimal | None
    positions: int
    open_positions: int
    start_date: date | None
    end_date: date | None
    commune_insee: str | None
    lon: float | None
    lat: float | None
    requires_eligibility: bool
    is_public: bool

    @classmethod
    def of(cls, offer: Offer) -> OfferFields:
        given = offer.coordinates_source == CoordinatesSource.GIVEN
        values = {f.name: getattr(offer, f.name) for f in fields(cls)}
        return cls(
            **{**values, "lon": offer.lon if given else None, "lat": offer.lat if given else None}
        )


@dataclass(frozen=True)
class Checked:
    """The stored form of checked fields: sector derived, location resolved."""

    values: OfferFields
    contract: Contract | None
    sector: SectorCode | None
    lon: float | None
    lat: float | None
    coordinates_source: CoordinatesSource | None

    def columns(self) -> dict[str, Any]:
        columns = {f.name: getattr(self.values, f.name) for f in fields(OfferFields)}
        columns.update(
            sector=self.sector,
            lon=self.lon,
            lat=self.lat,
            coordinates_source=self.coordinates_source,
        )
        return columns


async def check(
    session: AsyncSession,
    principal: Principal,
    values: OfferFields,
    *,
    new_contract: bool,
    refused: Sequence[FieldError] = (),
) -> Checked:
    """All the checks of an offer as it will be; every problem found is reported at once (422),
    after those of the request's fields (``refused``, decision 0047).

    ``new_contract``: the contract is being attached now, so the caller must see it and it must
    not be closed (an offer already attached keeps its contract).
    """
    errors: list[FieldError] = []
    if values.start_date and values.end_date and values.end_date < values.start_date:
        errors.append(_error("end_date", "la date de fin précède la date de début"))
    if values.open_positions > values.positions:
        errors.append(
            _error("open_positions", "ne peut pas dépasser le nombre de postes (positions)")
        )
    if values.lon is not None and values.lat is not None and not in_france(values.lon, values.lat):
        message = "coordonnées hors de France (métropole, Corse ou outre-mer)"
        errors += [
            _error("lon", message, "outside_france"),
            _error("lat", message, "outside_france"),
        ]

    fiche = await session.scalar(
        select(col(RomeFiche.id)).where(col(RomeFiche.code) == values.rome_code)
    )
    if fiche is None:
        errors.append(_error("rome_code", "code ROME inconnu", "unknown"))
    if values.appellation_code is not None:
        appellation_rome = await session.scalar(
            select(col(RomeAppellation.rome_code)).where(
                col(RomeAppellation.code) == values.appellation_code
            )
        )
        if appellation_rome is None:
            errors.append(_error("appellation_code", "appellation ROME inconnue", "unknown"))
        elif appellation_rome != values.rome_code:
            errors.append(
                _error("appellation_code", "cette appellation ne relève pas du code ROME donné")
            )

    employer_active = await session.scalar(
        select(col(Organisation.is_active)).where(col(Organisation.id) == values.employer_id)
    )
    if not employer_active:
        errors.append(_error("employer_id", "organisation inconnue ou désactivée", "unknown"))

    centre: tuple[float, float] | None = None
    if values.commune_insee is not None:
        row = (
            await session.execute(
                select(col(Commune.lon), col(Commune.lat)).where(
                    col(Commune.insee) == values.commune_insee
                )
            )
        ).first()
        if row is None:
            errors.append(_error("commune_insee", "commune inconnue", "unknown"))
        else:
            centre = (row[0], row[1])

    contract: Contract | None = None
    if values.contract_id is not None:
        query = select(Contract).where(col(Contract.id) == values.contract_id)
        if new_contract:
            # A contract the caller cannot see does not exist for it.
            query = query.where(contracts_policy.visible(principal))
        contract = await session.scalar(query)
        if contract is None:
            errors.append(_error("contract_id", "marché inconnu", "unknown"))
    if values.lot_id is not None:
        if values.contract_id is None:
            errors.append(_error("lot_id", "un lot ne se donne qu'avec son marché (contract_id)"))
        elif contract is not None and values.lot_id not in {lot.id for lot in contract.lots}:
            errors.append(_error("lot_id", "ce lot n'appartient pas au marché", "unknown"))

    errors = merge_errors(refused, errors)
    if errors:
        raise ValidationFailed(errors)
    if new_contract and contract is not None and contract.status == ContractStatus.CLOSED:
        raise ContractClosed("Ce marché est clos : on ne peut plus y rattacher d'offre.")

    checked = Checked(
        values=values,
        contract=contract,
        sector=values.sector or sector_for_rome(values.rome_code),
        lon=None,
        lat=None,
        coordinates_source=None,
    )
    if values.lon is not None and values.lat is not None:
        return replace(
            checked, lon=values.lon, lat=values.lat, coordinates_source=CoordinatesSource.GIVEN
        )
    if centre is not None:
        return replace(
            checked,
            lon=centre[0],
            lat=centre[1],
            coordinates_source=CoordinatesSource.COMMUNE_CENTROID,
        )
    return checked
