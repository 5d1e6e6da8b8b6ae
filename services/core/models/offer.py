"""Job offers: positions out of a clause contract (and lot), or standing alone."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, Date, DateTime, Double, Index, Numeric, String, text
from sqlmodel import Field

from services.core.models.base import EnumText, TableBase
from services.core.referentials.sectors import SectorCode
from services.core.schema_description import schema_description


class ContractType(StrEnum):
    """France Travail contract codes, plus the insertion contracts."""

    __get_pydantic_json_schema__ = schema_description(
        "Type de contrat : codes de France Travail (`CDI`, `CDD`, `MIS` mission d'intérim, `SAI` "
        "saisonnier) et contrats de l'insertion et de l'alternance (`CDDI`, `CDI_CHANTIER` CDI de "
        "chantier ou d'opération, `APPRENTISSAGE`, `PROFESSIONNALISATION`)."
    )

    CDI = "CDI"
    CDD = "CDD"
    MIS = "MIS"
    SAI = "SAI"
    CDDI = "CDDI"
    CDI_CHANTIER = "CDI_CHANTIER"
    APPRENTISSAGE = "APPRENTISSAGE"
    PROFESSIONNALISATION = "PROFESSIONNALISATION"


CONTRACT_TYPE_LABELS: dict[ContractType, str] = {
    ContractType.CDI: "Contrat à durée indéterminée",
    ContractType.CDD: "Contrat à durée déterminée",
    ContractType.MIS: "Mission d'intérim",
    ContractType.SAI: "Contrat saisonnier",
    ContractType.CDDI: "Contrat à durée déterminée d'insertion",
    ContractType.CDI_CHANTIER: "CDI de chantier ou d'opération",
    ContractType.APPRENTISSAGE: "Contrat d'apprentissage",
    ContractType.PROFESSIONNALISATION: "Contrat de professionnalisation",
}


class OfferStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    FILLED = "filled"
    CLOSED = "closed"


OFFER_STATUS_LABELS: dict[OfferStatus, str] = {
    OfferStatus.DRAFT: "Brouillon",
    OfferStatus.OPEN: "Ouverte",
    OfferStatus.FILLED: "Pourvue",
    OfferStatus.CLOSED: "Close",
}

PUBLISHED_STATUSES = (OfferStatus.OPEN, OfferStatus.FILLED)


class CloseReason(StrEnum):
    """Why an offer was closed: a fixed list, so that no free text (which could name a person)
    is kept on the offer."""

    __get_pydantic_json_schema__ = schema_description(
        "Motif de clôture d'une offre, pris dans une liste fixe (jamais de texte libre, qui "
        "pourrait nommer une personne) : `filled` (postes pourvus par Maillon), "
        "`filled_elsewhere` (pourvus par un autre canal), `cancelled` (besoin annulé par "
        "l'employeur), `contract_ended` (marché terminé ou résilié), `no_suitable_candidate` "
        "(aucune candidature adaptée), `duplicate` (offre en double), `other` (autre motif)."
    )

    FILLED = "filled"  # the positions were filled through Maillon
    FILLED_ELSEWHERE = "filled_elsewhere"
    CANCELLED = "cancelled"
    CONTRACT_ENDED = "contract_ended"
    NO_SUITABLE_CANDIDATE = "no_suitable_candidate"
    DUPLICATE = "duplicate"
    OTHER = "other"


CLOSE_REASON_LABELS: dict[CloseReason, str] = {
    CloseReason.FILLED: "Postes pourvus",
    CloseReason.FILLED_ELSEWHERE: "Postes pourvus par un autre canal",
    CloseReason.CANCELLED: "Besoin annulé par l'employeur",
    CloseReason.CONTRACT_ENDED: "Marché terminé ou résilié",
    CloseReason.NO_SUITABLE_CANDIDATE: "Aucune candidature adaptée",
    CloseReason.DUPLICATE: "Offre en double",
    CloseReason.OTHER: "Autre motif",
}


class CoordinatesSource(StrEnum):
    GIVEN = "given"  # sent by the client: the work site itself
    COMMUNE_CENTROID = "commune_centroid"  # only the commune is known


MAX_HOURS_PER_WEEK = 48  # Code du travail, art. L3121-20


class Offer(TableBase, table=True):
    """An offer. ``status`` moves ``draft → open ⇄ filled → closed`` through the API's actions;
    the matching worker ranks candidates for open ones (indexes on status, sector, ROME code)."""

    __tablename__ = "offer"
    __table_args__ = (
        CheckConstraint(
            f"hours_per_week IS NULL OR (hours_per_week > 0 AND hours_per_week <= "
            f"{MAX_HOURS_PER_WEEK})",
            name="hours_per_week_range",
        ),
        CheckConstraint("positions >= 1", name="positions_positive"),
        CheckConstraint(
            "open_positions >= 0 AND open_positions <= positions", name="open_positions_range"
        ),
        CheckConstraint(
            "end_date IS NULL OR start_date IS NULL OR end_date >= start_date",
            name="dates_in_order",
        ),
        CheckConstraint("(lon IS NULL) = (lat IS NULL)", name="coordinates_paired"),
        CheckConstraint("lot_id IS NULL OR contract_id IS NOT NULL", name="lot_needs_contract"),
        CheckConstraint(
            "close_reason IS NULL OR close_reason IN ("
            + ", ".join(f"'{reason.value}'" for reason in CloseReason)
            + ")",
            name="close_reason_known",
        ),
        # Open offers whose work site lies in a candidate's reach box (matching, decision 0016).
        Index(
            "ix_offer_open_site",
            text("point(lon, lat)"),
            postgresql_using="gist",
            postgresql_where=text("status = 'open'"),
        ),
        # The public feed (decision 0062): open offers marked public, newest first.
        Index(
            "ix_offer_public_open",
            "published_at",
            "id",
            postgresql_where=text("is_public AND status = 'open'"),
        ),
    )

    contract_id: uuid.UUID | None = Field(
        default=None, foreign_key="contract.id", index=True, ondelete="RESTRICT"
    )
    lot_id: uuid.UUID | None = Field(
        default=None, foreign_key="contract_lot.id", index=True, ondelete="RESTRICT"
    )
    employer_id: uuid.UUID = Field(
        foreign_key="organisation.id", index=True, nullable=False, ondelete="RESTRICT"
    )
    title: str = Field(sa_type=String(200), nullable=False)
    # ROME and commune codes are checked against the referentials on write; no foreign key, so
    # that a new official edition never blocks on old rows (as for organisations).
    rome_code: str = Field(sa_type=String(5), nullable=False, index=True)
    appellation_code: str | None = Field(default=None, sa_type=String(10))
    # A borne sector, derived from the ROME code unless given; None outside every sector.
    sector: SectorCode | None = Field(default=None, sa_type=EnumText(SectorCode, 30), index=True)
    contract_type: ContractType | None = Field(default=None, sa_type=EnumText(ContractType, 30))
    hours_per_week: Decimal | None = Field(default=None, sa_type=Numeric(4, 1))
    positions: int = Field(default=1, nullable=False)
    open_positions: int = Field(default=1, nullable=False)
    start_date: date | None = Field(default=None, sa_type=Date)
    end_date: date | None = Field(default=None, sa_type=Date)
    commune_insee: str | None = Field(default=None, sa_type=String(5), index=True)
    lon: float | None = Field(default=None, sa_type=Double)
    lat: float | None = Field(default=None, sa_type=Double)
    coordinates_source: CoordinatesSource | None = Field(
        default=None, sa_type=EnumText(CoordinatesSource, 20)
    )
    requires_eligibility: bool = Field(default=False, nullable=False)
    # Served without authentication to job boards and partners while open (decision 0062).
    is_public: bool = Field(
        default=False, nullable=False, sa_column_kwargs={"server_default": text("false")}
    )
    status: OfferStatus = Field(
        default=OfferStatus.DRAFT, sa_type=EnumText(OfferStatus, 20), nullable=False, index=True
    )
    published_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    closed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    close_reason: CloseReason | None = Field(default=None, sa_type=EnumText(CloseReason, 30))
