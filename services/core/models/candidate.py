"""Candidates (personal data), the organisations they are shared with, and their QPV residence.

Identity, contact and address columns are nullable: erasure (anonymisation) wipes them and keeps
the row for statistics (sex, birth year, commune, QPV status, sectors, dates).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    Column,
    Computed,
    Date,
    DateTime,
    Double,
    Index,
    SmallInteger,
    String,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlmodel import Field, SQLModel

from services.core.clock import now
from services.core.models.base import EnumText, TableBase
from services.core.referentials.sectors import SectorCode
from services.core.schema_description import schema_description


class CandidateStatus(StrEnum):
    NEW = "new"
    ACTIVE = "active"
    PLACED = "placed"
    INACTIVE = "inactive"
    ANONYMISED = "anonymised"


CANDIDATE_STATUS_LABELS: dict[CandidateStatus, str] = {
    CandidateStatus.NEW: "Nouveau",
    CandidateStatus.ACTIVE: "Suivi en cours",
    CandidateStatus.PLACED: "En poste",
    CandidateStatus.INACTIVE: "Inactif",
    CandidateStatus.ANONYMISED: "Anonymisé",
}


class Need(StrEnum):
    """ "Votre besoin aujourd'hui" on the borne form."""

    __get_pydantic_json_schema__ = schema_description(
        "Réponse à « Votre besoin aujourd'hui » du formulaire de la borne : `job` (un emploi), "
        "`training` (une formation), `support` (un accompagnement), `advice` (un conseil)."
    )

    JOB = "job"
    TRAINING = "training"
    SUPPORT = "support"
    ADVICE = "advice"


NEED_LABELS: dict[Need, str] = {
    Need.JOB: "UN EMPLOI",
    Need.TRAINING: "UNE FORMATION",
    Need.SUPPORT: "UN ACCOMPAGNEMENT",
    Need.ADVICE: "UN CONSEIL",
}


class Sex(StrEnum):
    """Statistics only (clause reporting counts women and men)."""

    __get_pydantic_json_schema__ = schema_description(
        "Sexe, pour les seules statistiques de la clause (nombre de femmes et d'hommes) : "
        "`female`, `male`."
    )

    FEMALE = "female"
    MALE = "male"


class QpvStatus(StrEnum):
    IN_QPV = "in_qpv"
    OUTSIDE_QPV = "outside_qpv"
    UNKNOWN = "unknown"


QPV_STATUS_LABELS: dict[QpvStatus, str] = {
    QpvStatus.IN_QPV: "Réside en QPV",
    QpvStatus.OUTSIDE_QPV: "Ne réside pas en QPV",
    QpvStatus.UNKNOWN: "Résidence QPV inconnue",
}


class QpvMethod(StrEnum):
    GEOCODED_ADDRESS = "geocoded_address"
    COORDINATES = "coordinates"
    DECLARED = "declared"
    COMMUNE_ONLY = "commune_only"


MAX_HOURS_PER_WEEK = 48  # Code du travail, art. L3121-20


class Candidate(TableBase, table=True):
    """A person looking for work. Found again by normalised phone or e-mail (product.md §4.1)."""

    __tablename__ = "candidate"
    __table_args__ = (
        # Likely duplicates: same normalised name in the same commune.
        Index("ix_candidate_search_name_commune", "search_name", "commune_insee"),
        # Name search by word prefix ("dup:* & je:*"): full-text GIN, no extension needed.
        Index("ix_candidate_search_vector", "search_vector", postgresql_using="gin"),
        # Addresses waiting for the geocoder (new, or retried after an outage).
        Index(
            "ix_candidate_geocoding_due_at",
            "geocoding_due_at",
            postgresql_where=text("geocoding_due_at IS NOT NULL"),
        ),
        Index("ix_candidate_sectors_wanted", "sectors_wanted", postgresql_using="gin"),
        CheckConstraint("(lon IS NULL) = (lat IS NULL)", name="coordinates_paired"),
        CheckConstraint(
            f"hours_per_week IS NULL OR (hours_per_week > 0 AND hours_per_week <= "
            f"{MAX_HOURS_PER_WEEK})",
            name="hours_per_week_range",
        ),
        CheckConstraint(
            "mobility_radius_km IS NULL OR (mobility_radius_km >= 0 AND mobility_radius_km <= 500)",
            name="mobility_radius_range",
        ),
        CheckConstraint(
            "birth_year IS NULL OR (birth_year >= 1900 AND birth_year <= 2100)",
            name="birth_year_range",
        ),
        CheckConstraint(
            "geocoding_score IS NULL OR (geocoding_score >= 0 AND geocoding_score <= 1)",
            name="geocoding_score_range",
        ),
    )

    # -- identity and contact (wiped by erasure) ---------------------------------------------
    first_name: str | None = Field(default=None, sa_type=String(100))
    last_name: str | None = Field(default=None, sa_type=String(100))
    # "last first", lower case, no accents (services.core.geo.communes.normalise_name).
    search_name: str | None = Field(default=None, sa_type=String(201))
    phone_e164: str | None = Field(default=None, sa_type=String(16), index=True)
    email: str | None = Field(default=None, sa_type=String(254), index=True)  # lower case
    # The words of ``search_name`` for word-prefix search, kept by the database itself.
    search_vector: str | None = Field(
        default=None,
        sa_column=Column(
            TSVECTOR,
            Computed("to_tsvector('simple'::regconfig, coalesce(search_name, ''))", persisted=True),
        ),
    )
    address: str | None = Field(default=None, sa_type=String(300))
    lon: float | None = Field(default=None, sa_type=Double)
    lat: float | None = Field(default=None, sa_type=Double)

    # -- residence (kept by erasure) ---------------------------------------------------------
    # Checked against the commune referential on write; no foreign key (see Organisation).
    commune_insee: str | None = Field(default=None, sa_type=String(5), index=True)
    qpv_status: QpvStatus = Field(
        default=QpvStatus.UNKNOWN, sa_type=EnumText(QpvStatus, 20), nullable=False, index=True
    )
    qpv_code: str | None = Field(default=None, sa_type=String(10))
    qpv_method: QpvMethod | None = Field(default=None, sa_type=EnumText(QpvMethod, 20))
    geocoding_score: float | None = Field(default=None, sa_type=Double)
    qpv_polygon_version: str | None = Field(default=None, sa_type=String(64))
    qpv_checked_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    qpv_near_boundary: bool = Field(default=False, nullable=False)
    # What the person says of their residence (decision 0047): kept beside the decision, which
    # it never makes (0013); ``None`` when nothing was said.
    qpv_declared: bool | None = Field(default=None)
    qpv_declared_code: str | None = Field(default=None, sa_type=String(10))
    # Set when the address must go through the geocoder: on a new or changed address, and again
    # (later, with backoff) when the geocoder was down. Cleared once an answer is stored.
    geocoding_due_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    geocoding_attempts: int = Field(default=0, sa_type=SmallInteger, nullable=False)

    # -- wishes and availability -------------------------------------------------------------
    sectors_worked: list[SectorCode] = Field(
        default_factory=list, sa_type=ARRAY(EnumText(SectorCode, 30)), nullable=False
    )
    sectors_worked_other: str | None = Field(default=None, sa_type=String(200))
    sectors_wanted: list[SectorCode] = Field(
        default_factory=list, sa_type=ARRAY(EnumText(SectorCode, 30)), nullable=False
    )
    sectors_wanted_other: str | None = Field(default=None, sa_type=String(200))
    needs: list[Need] = Field(
        default_factory=list, sa_type=ARRAY(EnumText(Need, 20)), nullable=False
    )
    rome_wishes: list[str] = Field(default_factory=list, sa_type=ARRAY(String(5)), nullable=False)
    available_from: date | None = Field(default=None, sa_type=Date)
    hours_per_week: int | None = Field(default=None, sa_type=SmallInteger)
    mobility_radius_km: int | None = Field(default=None, sa_type=SmallInteger)
    has_driving_licence: bool | None = Field(default=None)
    has_vehicle: bool | None = Field(default=None)

    # -- statistics only ---------------------------------------------------------------------
    sex: Sex | None = Field(default=None, sa_type=EnumText(Sex, 10))
    birth_year: int | None = Field(default=None, sa_type=SmallInteger)

    # -- follow-up ---------------------------------------------------------------------------
    status: CandidateStatus = Field(
        default=CandidateStatus.NEW,
        sa_type=EnumText(CandidateStatus, 20),
        nullable=False,
        index=True,
    )
    referent_organisation_id: uuid.UUID | None = Field(
        default=None, foreign_key="organisation.id", index=True, ondelete="RESTRICT"
    )
    referent_prescriber_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", index=True, ondelete="SET NULL"
    )
    # Retention (product.md §9) counts from here: creation, intakes, changes.
    last_activity_at: datetime = Field(
        default_factory=now, sa_type=DateTime(timezone=True), nullable=False, index=True
    )
    # When the organisation was warned that the candidate will be anonymised for want of
    # activity (§9); a warning older than the last activity no longer counts.
    retention_warned_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    anonymised_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    # Set on the duplicate absorbed by a merge (it is anonymised); the kept candidate's id.
    merged_into_id: uuid.UUID | None = Field(
        default=None, foreign_key="candidate.id", index=True, ondelete="SET NULL"
    )


class ShareReason(StrEnum):
    CREATED = "created"  # the organisation that created the candidate
    INTAKE = "intake"  # an intake received by the organisation
    REFERRAL = "referral"  # shared by hand (referent, orientation)
    MERGE = "merge"  # carried over from a merged duplicate


class CandidateShare(SQLModel, table=True):
    """An organisation the candidate is visible to (product.md §9). Every candidate has at least
    the share of the organisation that created it; a second intake elsewhere adds one."""

    __tablename__ = "candidate_share"

    candidate_id: uuid.UUID = Field(
        foreign_key="candidate.id", primary_key=True, ondelete="CASCADE"
    )
    organisation_id: uuid.UUID = Field(
        foreign_key="organisation.id", primary_key=True, index=True, ondelete="RESTRICT"
    )
    reason: ShareReason = Field(sa_type=EnumText(ShareReason, 20), nullable=False)
    created_at: datetime = Field(
        default_factory=now, sa_type=DateTime(timezone=True), nullable=False
    )
