from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from services.api.patch import refuse_null
from services.api.validation import Day, InvalidValue, NotBoolean, insee_code
from services.core.models.offer import (
    CLOSE_REASON_LABELS,
    CONTRACT_TYPE_LABELS,
    MAX_HOURS_PER_WEEK,
    OFFER_STATUS_LABELS,
    CloseReason,
    ContractType,
    CoordinatesSource,
    Offer,
    OfferStatus,
)
from services.core.referentials.sectors import SectorCode, get_sector

UNPAIRED = "lon et lat s'envoient ensemble"
_ROME = re.compile(r"^[A-N]\d{4}$")
MAX_POSITIONS = 1000


def _rome(value: str | None) -> str | None:
    if value is None:
        return None
    code = value.strip().upper()
    if not _ROME.match(code):
        raise InvalidValue("code ROME invalide (une lettre de A à N et 4 chiffres, ex. F1703)")
    return code


def _appellation(value: str | None) -> str | None:
    if value is None:
        return None
    code = value.strip()
    if not (code.isascii() and code.isdigit() and 1 <= len(code) <= 10):
        raise InvalidValue("code d'appellation ROME invalide (chiffres, ex. 11573)")
    return code


def _tenths(value: Decimal) -> Decimal:
    # Stored as NUMERIC(4, 1): same representation before and after a round trip (ETags).
    return value.quantize(Decimal("0.1"))


Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
RomeCode = Annotated[str, Field(max_length=10, description="Code ROME v4 (fiche), ex. F1703.")]
AppellationCode = Annotated[str, Field(max_length=10, description="Code OGR de l'appellation.")]
CommuneInsee = Annotated[str, Field(max_length=5, description="Commune du lieu de travail.")]
HoursPerWeek = Annotated[
    Decimal,
    Field(gt=0, le=MAX_HOURS_PER_WEEK, max_digits=3, decimal_places=1),
    AfterValidator(_tenths),
]
Positions = Annotated[
    int, Field(ge=1, le=MAX_POSITIONS, description="Nombre de postes."), NotBoolean
]
OpenPositions = Annotated[
    int, Field(ge=0, le=MAX_POSITIONS, description="Postes restant à pourvoir."), NotBoolean
]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False), NotBoolean]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False), NotBoolean]
CONTRACT_TYPE_DESCRIPTION = (
    "Type de contrat : "
    + " ; ".join(f"`{t.value}` ({label})" for t, label in CONTRACT_TYPE_LABELS.items())
    + ". Obligatoire pour publier."
)
PUBLIC_DESCRIPTION = (
    "Diffusée sans authentification aux sites d'emploi et partenaires tant qu'elle est ouverte "
    "(`/v1/public/offers`), sans aucune donnée personnelle."
)


class _OfferFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Declared by both subclasses.
    _rome = field_validator("rome_code", check_fields=False)(_rome)
    _appellation = field_validator("appellation_code", check_fields=False)(_appellation)
    _insee = field_validator("commune_insee", check_fields=False)(insee_code)

    @model_validator(mode="after")
    def _paired_coordinates(self) -> Self:
        if ("lon" in self.model_fields_set) != ("lat" in self.model_fields_set):
            raise InvalidValue(UNPAIRED)
        return self


class OfferCreate(_OfferFields):
    """A new offer, in draft. Publishing it needs the contract type, weekly hours, start date and
    work site (commune or coordinates)."""

    model_config = ConfigDict(
        json_schema_extra={
            "description": "Une nouvelle offre, créée en brouillon. Pour la publier, il lui faut "
            "le type de contrat, les heures par semaine, la date de début et le lieu de "
            "travail (commune ou coordonnées).",
            "examples": [
                {
                    "contract_id": "0190a4c2-6f1e-7b3a-9c55-2d4e8f1a0e01",
                    "employer_id": "0190a4c2-6f1e-7b3a-9c55-2d4e8f1a0b04",
                    "title": "Peintre en bâtiment",
                    "rome_code": "F1606",
                    "contract_type": "CDD",
                    "hours_per_week": "35",
                    "positions": 2,
                    "start_date": "2026-05-04",
                    "end_date": "2026-10-30",
                    "commune_insee": "93066",
                    "requires_eligibility": True,
                    "is_public": True,
                }
            ],
        }
    )

    contract_id: uuid.UUID | None = Field(default=None, description="Marché clausé d'origine.")
    lot_id: uuid.UUID | None = Field(default=None, description="Lot du marché.")
    employer_id: uuid.UUID | None = Field(
        default=None, description="Organisation employeuse ; par défaut, la vôtre."
    )
    title: Title = Field(description="Intitulé du poste.")
    rome_code: RomeCode
    appellation_code: AppellationCode | None = Field(
        default=None, description="Code de l'appellation ROME (de la fiche `rome_code`)."
    )
    sector: SectorCode | None = Field(
        default=None, description="Secteur de la borne ; par défaut, déduit du code ROME."
    )
    contract_type: ContractType | None = Field(
        default=None,
        description=CONTRACT_TYPE_DESCRIPTION,
    )
    hours_per_week: HoursPerWeek | None = Field(
        default=None, description="Heures de travail par semaine."
    )
    positions: Positions = 1
    open_positions: OpenPositions | None = Field(
        default=None, description="Par défaut, le nombre de postes."
    )
    start_date: Day | None = Field(default=None, description="Date de début.")
    end_date: Day | None = Field(default=None, description="Date de fin.")
    commune_insee: CommuneInsee | None = Field(
        default=None, description="Code INSEE de la commune du poste."
    )
    lon: Longitude | None = Field(
        default=None, description="Longitude du lieu de travail (WGS 84), avec `lat`."
    )
    lat: Latitude | None = Field(
        default=None, description="Latitude du lieu de travail (WGS 84), avec `lon`."
    )
    requires_eligibility: bool = Field(
        default=False, description="Les personnes recrutées doivent être des publics éligibles."
    )
    is_public: bool = Field(default=False, description=PUBLIC_DESCRIPTION)


class OfferUpdate(_OfferFields):
    """Only the fields sent change. Sending ``rome_code`` without ``sector`` derives the sector
    again; sending ``contract_id`` without ``lot_id`` detaches the lot; ``lon`` and ``lat`` go
    together, and ``null`` for both puts the work site back at the commune's centre."""

    model_config = ConfigDict(
        json_schema_extra={
            "description": "Seuls les champs envoyés changent. `rome_code` envoyé sans `sector` "
            "déduit de nouveau le secteur ; `contract_id` envoyé sans `lot_id` détache "
            "l'offre de son lot ; `lon` et `lat` vont ensemble, et `null` pour les deux "
            "ramène le lieu de travail au centre de la commune.",
            "examples": [{"positions": 3, "start_date": "2026-05-11"}],
        }
    )

    contract_id: uuid.UUID | None = Field(default=None, description="Marché clausé d'origine.")
    lot_id: uuid.UUID | None = Field(default=None, description="Lot du marché.")
    employer_id: uuid.UUID | None = Field(default=None, description="Employeur.")
    title: Title | None = Field(default=None, description="Intitulé du poste.")
    rome_code: RomeCode | None = Field(default=None, description="Code ROME du métier.")
    appellation_code: AppellationCode | None = Field(
        default=None, description="Code de l'appellation ROME."
    )
    sector: SectorCode | None = Field(
        default=None, description="Secteur de la borne, si le métier ne suffit pas à le dire."
    )
    contract_type: ContractType | None = Field(default=None, description="Type de contrat.")
    hours_per_week: HoursPerWeek | None = Field(
        default=None, description="Heures de travail par semaine."
    )
    positions: Positions | None = Field(default=None, description="Nombre de postes.")
    open_positions: OpenPositions | None = Field(
        default=None, description="Postes encore à pourvoir."
    )
    start_date: Day | None = Field(default=None, description="Date de début.")
    end_date: Day | None = Field(default=None, description="Date de fin.")
    commune_insee: CommuneInsee | None = Field(
        default=None, description="Code INSEE de la commune du poste."
    )
    lon: Longitude | None = Field(
        default=None, description="Longitude du lieu de travail (WGS 84)."
    )
    lat: Latitude | None = Field(default=None, description="Latitude du lieu de travail (WGS 84).")
    requires_eligibility: bool | None = Field(
        default=None, description="Le poste demande une éligibilité à l'insertion."
    )
    is_public: bool | None = Field(default=None, description=PUBLIC_DESCRIPTION)

    _not_null = field_validator(
        "employer_id",
        "title",
        "rome_code",
        "positions",
        "open_positions",
        "requires_eligibility",
        "is_public",
    )(refuse_null)


class OfferClose(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "filled_elsewhere"}]}
    )

    reason: CloseReason | None = Field(
        default=None,
        description="Motif de clôture, dans une liste fermée (pas de texte libre, qui pourrait "
        "contenir des données personnelles) : "
        + " ; ".join(f"`{r.value}` : {label}" for r, label in CLOSE_REASON_LABELS.items())
        + ".",
    )


class OfferPublic(BaseModel):
    id: uuid.UUID = Field(description="Identifiant.")
    contract_id: uuid.UUID | None = Field(
        description="Marché qui crée le poste ; `null` hors marché."
    )
    lot_id: uuid.UUID | None = Field(description="Lot du marché.")
    employer_id: uuid.UUID = Field(description="Employeur (organisation).")
    title: str = Field(description="Intitulé du poste.")
    rome_code: str = Field(description="Code ROME du métier.")
    appellation_code: str | None = Field(description="Code de l'appellation ROME.")
    sector: SectorCode | None = Field(description="Secteur de la borne correspondant au métier.")
    sector_label: str | None = Field(description="Le secteur en toutes lettres, en français.")
    contract_type: ContractType | None = Field(description="Type de contrat.")
    contract_type_label: str | None = Field(
        description="Le type de contrat en toutes lettres, en français."
    )
    hours_per_week: Decimal | None = Field(description="Heures de travail par semaine.")
    positions: int = Field(description="Nombre de postes.")
    open_positions: int = Field(description="Postes encore à pourvoir.")
    start_date: date | None = Field(description="Date de début.")
    end_date: date | None = Field(description="Date de fin.")
    commune_insee: str | None = Field(description="Code INSEE de la commune du poste.")
    lon: float | None = Field(description="Longitude du lieu de travail (WGS 84).")
    lat: float | None = Field(description="Latitude du lieu de travail (WGS 84).")
    coordinates_source: CoordinatesSource | None = Field(
        description="`given` : le lieu de travail ; `commune_centroid` : le centre de la commune."
    )
    requires_eligibility: bool = Field(
        description=("Le poste demande une éligibilité à l'insertion (critères du candidat).")
    )
    is_public: bool = Field(description=PUBLIC_DESCRIPTION)
    status: OfferStatus = Field(
        description="État de l'offre (`draft`, `open`, `filled`, `closed`)."
    )
    status_label: str = Field(description="L'état en toutes lettres, en français.")
    published_at: datetime | None = Field(description="Date de publication.")
    closed_at: datetime | None = Field(description="Date de clôture.")
    close_reason: CloseReason | None = Field(description="Motif de clôture.")
    close_reason_label: str | None = Field(description="Le motif en toutes lettres, en français.")
    created_at: datetime = Field(description="Date et heure de création.")
    updated_at: datetime = Field(description="Date et heure de la dernière modification.")

    @classmethod
    def of(cls, offer: Offer) -> OfferPublic:
        return cls(
            id=offer.id,
            contract_id=offer.contract_id,
            lot_id=offer.lot_id,
            employer_id=offer.employer_id,
            title=offer.title,
            rome_code=offer.rome_code,
            appellation_code=offer.appellation_code,
            sector=offer.sector,
            sector_label=get_sector(offer.sector).label if offer.sector else None,
            contract_type=offer.contract_type,
            contract_type_label=(
                CONTRACT_TYPE_LABELS[offer.contract_type] if offer.contract_type else None
            ),
            hours_per_week=offer.hours_per_week,
            positions=offer.positions,
            open_positions=offer.open_positions,
            start_date=offer.start_date,
            end_date=offer.end_date,
            commune_insee=offer.commune_insee,
            lon=offer.lon,
            lat=offer.lat,
            coordinates_source=offer.coordinates_source,
            requires_eligibility=offer.requires_eligibility,
            is_public=offer.is_public,
            status=offer.status,
            status_label=OFFER_STATUS_LABELS[offer.status],
            published_at=offer.published_at,
            closed_at=offer.closed_at,
            close_reason=offer.close_reason,
            close_reason_label=(
                CLOSE_REASON_LABELS[offer.close_reason] if offer.close_reason else None
            ),
            created_at=offer.created_at,
            updated_at=offer.updated_at,
        )
