"""Placements: a participant's work on a contract, through an attribution (§8.3), and the hours
statement lines declared for it month by month (§8.4)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, Date, DateTime, Index, Numeric, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field

from services.core.models.base import EnumText, TableBase
from services.core.models.candidate import Sex
from services.core.models.obligation import Modality
from services.core.models.offer import ContractType
from services.core.schema_description import schema_description

# A month's hours above this are impossible for one person (refused at entry, §8.4).
MAX_HOURS_PER_MONTH = Decimal(220)


class PlacementStatus(StrEnum):
    DRAFT = "draft"  # created (e.g. by a hire), not started: nothing frozen yet
    ACTIVE = "active"  # started: what it counts for is frozen


PLACEMENT_STATUS_LABELS: dict[PlacementStatus, str] = {
    PlacementStatus.DRAFT: "Brouillon",
    PlacementStatus.ACTIVE: "Démarrée",
}


class AgeBracket(StrEnum):
    UNDER_26 = "<26"
    FROM_26_TO_49 = "26-49"
    FROM_50 = "50+"


class QualificationLevel(StrEnum):
    """French qualification levels (nomenclature of 2019)."""

    __get_pydantic_json_schema__ = schema_description(
        "Niveau de qualification (nomenclature nationale de 2019) : `below_3` (sans diplôme), "
        "`level_3` (CAP, BEP), `level_4` (baccalauréat), `level_5` (bac + 2), `level_6_plus` (bac "
        "+ 3 et au-delà)."
    )

    BELOW_3 = "below_3"  # no diploma
    LEVEL_3 = "level_3"  # CAP, BEP
    LEVEL_4 = "level_4"  # baccalauréat
    LEVEL_5 = "level_5"  # bac + 2
    LEVEL_6_PLUS = "level_6_plus"  # bac + 3 and above


class Placement(TableBase, table=True):
    """A participant (candidate) working on an attribution's lot, employed by ``employer_id``
    (the company itself, or the SIAE / GEIQ / temp agency that provides or subcontracts)."""

    __tablename__ = "placement"
    __table_args__ = (
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="dates_in_order"),
        CheckConstraint(
            "weekly_hours IS NULL OR (weekly_hours > 0 AND weekly_hours <= 48)",
            name="weekly_hours_range",
        ),
        CheckConstraint("status = 'draft' OR frozen_at IS NOT NULL", name="active_is_frozen"),
    )

    candidate_id: uuid.UUID = Field(
        foreign_key="candidate.id", index=True, nullable=False, ondelete="RESTRICT"
    )
    attribution_id: uuid.UUID = Field(
        foreign_key="attribution.id", index=True, nullable=False, ondelete="RESTRICT"
    )
    employer_id: uuid.UUID = Field(
        foreign_key="organisation.id", index=True, nullable=False, ondelete="RESTRICT"
    )
    # The hire that created it (at most one placement per match).
    match_id: uuid.UUID | None = Field(
        default=None, foreign_key="match.id", unique=True, ondelete="SET NULL"
    )
    modality: Modality = Field(sa_type=EnumText(Modality, 20), nullable=False)
    contract_type: ContractType | None = Field(default=None, sa_type=EnumText(ContractType, 30))
    rome_code: str | None = Field(default=None, sa_type=String(5))
    start_date: date = Field(sa_type=Date, nullable=False)
    end_date: date | None = Field(default=None, sa_type=Date)
    weekly_hours: Decimal | None = Field(default=None, sa_type=Numeric(4, 1))
    status: PlacementStatus = Field(
        default=PlacementStatus.DRAFT, sa_type=EnumText(PlacementStatus, 20), nullable=False
    )
    # -- frozen at the start: what the placement counts for (statistics only) ----------------
    frozen_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    eligibility_criteria: list[str] = Field(
        default_factory=list, sa_type=ARRAY(String(30)), nullable=False
    )
    qpv_resident: bool | None = Field(default=None)
    age_bracket: AgeBracket | None = Field(default=None, sa_type=EnumText(AgeBracket, 10))
    sex: Sex | None = Field(default=None, sa_type=EnumText(Sex, 10))
    # Given by whoever creates the placement (the candidate's profile has none), frozen too.
    qualification_level: QualificationLevel | None = Field(
        default=None, sa_type=EnumText(QualificationLevel, 20)
    )
    # No validated criterion at the start (§8.3): its hours count only once accepted as an
    # exception by a facilitator, with a reason.
    eligibility_flagged: bool = Field(default=False, nullable=False)
    exception_reason: str | None = Field(default=None, sa_type=String(1000))
    exception_by_user_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    exception_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class StatementSource(StrEnum):
    API = "api"
    IMPORT = "import"
    FACILITATOR = "facilitator"


class StatementStatus(StrEnum):
    DECLARED = "declared"
    VALIDATED = "validated"
    REJECTED = "rejected"


STATEMENT_STATUS_LABELS: dict[StatementStatus, str] = {
    StatementStatus.DECLARED: "Déclarée",
    StatementStatus.VALIDATED: "Validée",
    StatementStatus.REJECTED: "Rejetée",
}


class StatementLine(TableBase, table=True):
    """The hours of one placement in one month (``month``: its first day)."""

    __tablename__ = "statement_line"
    __table_args__ = (
        UniqueConstraint("placement_id", "month"),
        Index("ix_statement_line_month_status", "month", "status"),
        CheckConstraint("extract(day FROM month) = 1", name="month_first_day"),
        CheckConstraint(
            f"hours_worked >= 0 AND hours_worked <= {MAX_HOURS_PER_MONTH}", name="hours_range"
        ),
        CheckConstraint(
            "training_hours >= 0 AND training_hours <= hours_worked", name="training_range"
        ),
        CheckConstraint(
            "status <> 'rejected' OR rejection_reason IS NOT NULL", name="rejection_has_reason"
        ),
    )

    placement_id: uuid.UUID = Field(foreign_key="placement.id", nullable=False, ondelete="CASCADE")
    month: date = Field(sa_type=Date, nullable=False)
    hours_worked: Decimal = Field(sa_type=Numeric(6, 2), nullable=False)
    training_hours: Decimal = Field(default=Decimal(0), sa_type=Numeric(6, 2), nullable=False)
    source: StatementSource = Field(sa_type=EnumText(StatementSource, 20), nullable=False)
    status: StatementStatus = Field(
        default=StatementStatus.DECLARED, sa_type=EnumText(StatementStatus, 20), nullable=False
    )
    rejection_reason: str | None = Field(default=None, sa_type=String(1000))
    declared_by_type: str = Field(sa_type=String(20), nullable=False)  # user | api_key
    declared_by_id: uuid.UUID | None = Field(default=None)
    declared_at: datetime = Field(sa_type=DateTime(timezone=True), nullable=False)
    decided_by_user_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    decided_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
