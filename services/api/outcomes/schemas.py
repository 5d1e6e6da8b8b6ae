"""Placement outcomes as the API shows them, and what clients send."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from services.core.models.outcome import (
    OUTCOME_CHECKPOINT_LABELS,
    OUTCOME_SITUATION_LABELS,
    OutcomeCheckpoint,
    OutcomeSituation,
    PlacementOutcome,
)


class OutcomeRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    situation: OutcomeSituation = Field(
        description="Situation de la personne (catégories de la statistique IAE)."
    )


class OutcomePublic(BaseModel):
    """One checkpoint of a placement: when it is due, and what was recorded (``null``: nothing
    yet)."""

    placement_id: uuid.UUID
    checkpoint: OutcomeCheckpoint
    checkpoint_label: str
    due_on: date | None = Field(description="Jour où la situation est due (`null` : sans fin).")
    situation: OutcomeSituation | None
    situation_label: str | None
    recorded_at: datetime | None

    @classmethod
    def of(
        cls,
        placement_id: uuid.UUID,
        checkpoint: OutcomeCheckpoint,
        due_on: date | None,
        outcome: PlacementOutcome | None,
    ) -> OutcomePublic:
        return cls(
            placement_id=placement_id,
            checkpoint=checkpoint,
            checkpoint_label=OUTCOME_CHECKPOINT_LABELS[checkpoint],
            due_on=due_on,
            situation=outcome.situation if outcome else None,
            situation_label=OUTCOME_SITUATION_LABELS[outcome.situation] if outcome else None,
            recorded_at=outcome.recorded_at if outcome else None,
        )


class OutcomeList(BaseModel):
    items: list[OutcomePublic]
