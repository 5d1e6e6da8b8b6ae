"""What became of a participant at a placement's end and at +6 and +12 months (§8.5), in the
categories of the IAE statistics."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, String, UniqueConstraint
from sqlmodel import Field

from services.core.models.base import EnumText, TableBase


class OutcomeCheckpoint(StrEnum):
    EXIT = "exit"  # the placement's end date
    SIX_MONTHS = "6m"  # end date + 6 months
    TWELVE_MONTHS = "12m"  # end date + 12 months


OUTCOME_CHECKPOINT_LABELS: dict[OutcomeCheckpoint, str] = {
    OutcomeCheckpoint.EXIT: "À la sortie",
    OutcomeCheckpoint.SIX_MONTHS: "À 6 mois",
    OutcomeCheckpoint.TWELVE_MONTHS: "À 12 mois",
}


class OutcomeSituation(StrEnum):
    DURABLE_EMPLOYMENT = "durable_employment"  # CDI, CDD or temp work of 6 months or more
    TRANSITIONAL_EMPLOYMENT = "transitional_employment"
    POSITIVE_EXIT = "positive_exit"  # qualifying training, another insertion structure
    OTHER = "other"
    UNKNOWN = "unknown"


OUTCOME_SITUATION_LABELS: dict[OutcomeSituation, str] = {
    OutcomeSituation.DURABLE_EMPLOYMENT: "Emploi durable (CDI, CDD ou intérim de 6 mois et plus)",
    OutcomeSituation.TRANSITIONAL_EMPLOYMENT: "Emploi de transition",
    OutcomeSituation.POSITIVE_EXIT: "Sortie positive (formation qualifiante, autre SIAE…)",
    OutcomeSituation.OTHER: "Autre situation",
    OutcomeSituation.UNKNOWN: "Situation inconnue",
}


class PlacementOutcome(TableBase, table=True):
    """The situation recorded for one placement at one checkpoint (recorded again: replaced)."""

    __tablename__ = "placement_outcome"
    __table_args__ = (UniqueConstraint("placement_id", "checkpoint"),)

    placement_id: uuid.UUID = Field(foreign_key="placement.id", nullable=False, ondelete="CASCADE")
    checkpoint: OutcomeCheckpoint = Field(sa_type=EnumText(OutcomeCheckpoint, 10), nullable=False)
    situation: OutcomeSituation = Field(sa_type=EnumText(OutcomeSituation, 30), nullable=False)
    recorded_by_type: str = Field(sa_type=String(20), nullable=False)  # user | api_key
    recorded_by_id: uuid.UUID | None = Field(default=None)
    recorded_at: datetime = Field(sa_type=DateTime(timezone=True), nullable=False)
