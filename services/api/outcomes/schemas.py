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

SITUATION = (
    "`durable_employment` (emploi durable : CDI, CDD ou intérim de 6 mois et plus), "
    "`transitional_employment` (emploi de transition), `positive_exit` (sortie positive : "
    "formation qualifiante, autre structure d'insertion), `other` (autre situation) ou "
    "`unknown` (situation inconnue)."
)


class OutcomeRecord(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"situation": "durable_employment"}]}
    )

    situation: OutcomeSituation = Field(
        description=f"Situation de la personne (catégories de la statistique IAE) : {SITUATION}"
    )


class OutcomePublic(BaseModel):
    """One checkpoint of a placement: when it is due, and what was recorded (``null``: nothing
    yet)."""

    model_config = ConfigDict(
        json_schema_extra={
            "description": "Une échéance de suivi d'une mise en emploi : quand la situation est "
            "due, et ce qui a été saisi (`null` : rien encore)."
        }
    )

    placement_id: uuid.UUID = Field(description="La mise en emploi.")
    checkpoint: OutcomeCheckpoint = Field(
        description="L'échéance : `exit` (à la sortie, le jour de fin de la mise en emploi), "
        "`6m` (6 mois après) ou `12m` (12 mois après)."
    )
    checkpoint_label: str = Field(description="L'échéance en toutes lettres, en français.")
    due_on: date | None = Field(description="Jour où la situation est due (`null` : sans fin).")
    situation: OutcomeSituation | None = Field(
        description=f"La situation saisie : {SITUATION} `null` : rien de saisi encore."
    )
    situation_label: str | None = Field(
        description="La situation en toutes lettres, en français ; `null` : rien de saisi encore."
    )
    recorded_at: datetime | None = Field(
        description="Date et heure de la dernière saisie ; `null` : rien de saisi encore."
    )

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
    items: list[OutcomePublic] = Field(
        description="Les trois échéances, dans l'ordre : à la sortie, à 6 mois, à 12 mois."
    )
