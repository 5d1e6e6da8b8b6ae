"""The insertion-hours obligation of a lot (or of a contract without lots), and what is declared
per period on the operation: hours worked in all, amounts invoiced (product.md §8.1).

The hours owed are derived from the method's parameters and the declarations, stored for reading
and recomputed by ``services.core.ledger.owed`` whenever one of them changes (decision 0074).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, Date, DateTime, Index, Numeric, SmallInteger, String, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field

from services.core.models.base import EnumText, TableBase
from services.core.schema_description import schema_description

HOURS = Numeric(12, 2)
MONEY = Numeric(14, 2)
PERCENT = Numeric(7, 4)  # 0–100, four decimals: 4.9 %, 12.5 %, 33.3333 %


class ObligationMethod(StrEnum):
    FIXED_HOURS = "fixed_hours"
    LABOUR_SHARE = "labour_share"
    PER_INVOICED_TRANCHE = "per_invoiced_tranche"
    SHARE_OF_HOURS_WORKED = "share_of_hours_worked"
    HOURS_PER_YEAR = "hours_per_year"


OBLIGATION_METHOD_LABELS: dict[ObligationMethod, str] = {
    ObligationMethod.FIXED_HOURS: "Nombre d'heures fixé",
    ObligationMethod.LABOUR_SHARE: "Part de main-d'œuvre du montant du marché",
    ObligationMethod.PER_INVOICED_TRANCHE: "Une heure par tranche facturée au-delà d'un seuil",
    ObligationMethod.SHARE_OF_HOURS_WORKED: "Part des heures travaillées sur l'opération",
    ObligationMethod.HOURS_PER_YEAR: "Heures par année d'exécution, au prorata",
}


class AnruFamily(StrEnum):
    NONE = "none"
    INVESTMENT = "investment"
    GUP = "gup"
    ENGINEERING = "engineering"


ANRU_FAMILY_LABELS: dict[AnruFamily, str] = {
    AnruFamily.NONE: "Hors ANRU",
    AnruFamily.INVESTMENT: "ANRU — investissement (5 % des heures travaillées)",
    AnruFamily.GUP: "ANRU — gestion urbaine de proximité (10 % des heures travaillées)",
    AnruFamily.ENGINEERING: "ANRU — ingénierie",
}


class StatementSchedule(StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


class Modality(StrEnum):
    """How a participant's work reaches the contract (modalité de réalisation, §8.3)."""

    __get_pydantic_json_schema__ = schema_description(
        "Modalité de réalisation : comment le travail d'un participant compte pour le marché. "
        "`direct_hire` (embauche directe par l'entreprise), `provision` (mise à disposition par "
        "une AI, une ETTI, un GEIQ ou une agence d'intérim), `subcontracting` (sous-traitance à "
        "une EI, un ACI, une EA ou un ESAT)."
    )

    DIRECT_HIRE = "direct_hire"
    PROVISION = "provision"  # mise à disposition by an AI, ETTI, GEIQ or temp agency
    SUBCONTRACTING = "subcontracting"  # to an EI, ACI, EA, ESAT


MODALITY_LABELS: dict[Modality, str] = {
    Modality.DIRECT_HIRE: "Embauche directe",
    Modality.PROVISION: "Mise à disposition",
    Modality.SUBCONTRACTING: "Sous-traitance",
}


class Obligation(TableBase, table=True):
    """One obligation per lot, or one for a contract that has no lots."""

    __tablename__ = "obligation"
    __table_args__ = (
        Index(
            "uq_obligation_lot_id",
            "lot_id",
            unique=True,
            postgresql_where=text("lot_id IS NOT NULL"),
        ),
        Index(
            "uq_obligation_contract_without_lot",
            "contract_id",
            unique=True,
            postgresql_where=text("lot_id IS NULL"),
        ),
        CheckConstraint("hours_owed >= 0", name="hours_owed_not_negative"),
        CheckConstraint(
            "cdi_cap_years IS NULL OR cdi_cap_years BETWEEN 1 AND 50", name="cdi_cap_range"
        ),
        CheckConstraint("statement_due_day BETWEEN 1 AND 28", name="due_day_range"),
    )

    contract_id: uuid.UUID = Field(
        foreign_key="contract.id", index=True, nullable=False, ondelete="CASCADE"
    )
    lot_id: uuid.UUID | None = Field(
        default=None, foreign_key="contract_lot.id", ondelete="CASCADE"
    )
    method: ObligationMethod = Field(sa_type=EnumText(ObligationMethod, 30), nullable=False)
    # -- the method's parameters (those of other methods stay NULL) ------------------------
    fixed_hours: Decimal | None = Field(default=None, sa_type=HOURS)  # fixed_hours
    amount: Decimal | None = Field(default=None, sa_type=MONEY)  # labour_share, € HT
    labour_share_percent: Decimal | None = Field(default=None, sa_type=PERCENT)  # labour_share
    insertion_rate_percent: Decimal | None = Field(default=None, sa_type=PERCENT)  # labour_share
    hourly_cost: Decimal | None = Field(default=None, sa_type=MONEY)  # labour_share, €/h
    tranche_amount: Decimal | None = Field(default=None, sa_type=MONEY)  # per_invoiced_tranche
    tranche_threshold: Decimal | None = Field(default=None, sa_type=MONEY)  # per_invoiced_tranche
    hours_share_percent: Decimal | None = Field(default=None, sa_type=PERCENT)  # share_of_hours…
    hours_per_year: Decimal | None = Field(default=None, sa_type=HOURS)  # hours_per_year
    # Derived (decision 0074): never written by a client.
    hours_owed: Decimal = Field(default=Decimal("0.00"), sa_type=HOURS, nullable=False)
    # -- what counts -----------------------------------------------------------------------
    # Eligibility criteria (EligibilityKind values) a participant must hold; empty: any one.
    eligible_publics: list[str] = Field(
        default_factory=list, sa_type=ARRAY(String(30)), nullable=False
    )
    allowed_modalities: list[Modality] = Field(
        default_factory=lambda: list(Modality),
        sa_type=ARRAY(EnumText(Modality, 20)),
        nullable=False,
    )
    training_counts: bool = Field(default=False, nullable=False)
    cdi_cap_years: int | None = Field(default=None, sa_type=SmallInteger)
    penalty_per_missing_hour: Decimal | None = Field(default=None, sa_type=MONEY)
    # -- ANRU ------------------------------------------------------------------------------
    anru_family: AnruFamily = Field(
        default=AnruFamily.NONE, sa_type=EnumText(AnruFamily, 20), nullable=False
    )
    budget_plan_line: str | None = Field(default=None, sa_type=String(100))
    # -- statements ------------------------------------------------------------------------
    statement_schedule: StatementSchedule = Field(
        default=StatementSchedule.QUARTERLY,
        sa_type=EnumText(StatementSchedule, 20),
        nullable=False,
    )
    statement_due_day: int = Field(default=15, sa_type=SmallInteger, nullable=False)


class ObligationDeclaration(TableBase, table=True):
    """What the facilitator records for the operation over one period: the hours worked in all
    (every worker, not only participants) and the amount invoiced in the period."""

    __tablename__ = "obligation_declaration"
    __table_args__ = (
        Index("uq_obligation_declaration_period", "obligation_id", "period_start", unique=True),
        CheckConstraint("period_end >= period_start", name="dates_in_order"),
        CheckConstraint("hours_worked IS NULL OR hours_worked >= 0", name="hours_not_negative"),
        CheckConstraint(
            "amount_invoiced IS NULL OR amount_invoiced >= 0", name="amount_not_negative"
        ),
    )

    obligation_id: uuid.UUID = Field(
        foreign_key="obligation.id", nullable=False, ondelete="CASCADE"
    )
    period_start: date = Field(sa_type=Date, nullable=False)
    period_end: date = Field(sa_type=Date, nullable=False)
    hours_worked: Decimal | None = Field(default=None, sa_type=HOURS)
    amount_invoiced: Decimal | None = Field(default=None, sa_type=MONEY)
    declared_by_user_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    declared_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
