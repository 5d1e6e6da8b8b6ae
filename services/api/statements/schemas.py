from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from services.api.validation import InvalidValue
from services.core.models.placement import (
    STATEMENT_STATUS_LABELS,
    StatementLine,
    StatementSource,
    StatementStatus,
)

if TYPE_CHECKING:
    from services.api.statements.store import Stored

MAX_BATCH_LINES = 1000
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(value: object) -> date:
    """``YYYY-MM`` → the month's first day."""
    if isinstance(value, date):
        return value.replace(day=1)
    match = _MONTH.match(str(value).strip()) if isinstance(value, str) else None
    if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 2000:
        raise InvalidValue("mois invalide (format AAAA-MM attendu)")
    return date(int(match.group(1)), int(match.group(2)), 1)


Month = Annotated[
    date,
    BeforeValidator(parse_month),
    Field(description="Le mois, au format AAAA-MM.", json_schema_extra={"format": "month"}),
]
Hours = Annotated[Decimal, Field(max_digits=8, decimal_places=2)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=1000)]


class StatementLineIn(BaseModel):
    """The hours of one placement in one month. Sent again for the same month: replaces the
    declared (or rejected) line; a validated line no longer changes."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "description": "Les heures d'une mise en emploi sur un mois. Renvoyée pour le même "
            "mois, la ligne remplace celle déclarée (ou rejetée) ; une ligne validée ne "
            "change plus."
        },
    )

    placement_id: uuid.UUID
    month: Month
    hours_worked: Hours = Field(description="Heures travaillées dans le mois (au plus 220).")
    training_hours: Hours = Field(default=Decimal(0), description="Dont heures de formation.")


class StatementBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lines: list[StatementLineIn] = Field(min_length=1, max_length=MAX_BATCH_LINES)


class StatementReject(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"reason": "Heures au-delà du planning du chantier pour ce mois : à vérifier."}
            ]
        },
    )

    reason: Reason = Field(description="Motif du rejet, lu par l'entreprise.")


class StatementLinePublic(BaseModel):
    id: uuid.UUID = Field(description="Identifiant de la ligne.")
    placement_id: uuid.UUID = Field(description="La mise en emploi.")
    month: str = Field(description="AAAA-MM")
    hours_worked: Decimal = Field(
        description="Heures travaillées dans le mois (0 à 220), heures de formation comprises."
    )
    training_hours: Decimal = Field(
        description="Dont heures de formation (au plus les heures travaillées) : comptées "
        "seulement si l'obligation admet la formation."
    )
    source: StatementSource = Field(
        description="Par où la ligne est arrivée : `api` (appel de l'API, par un logiciel RH ou "
        "de SIAE ou par une entreprise), `import` (fichier du relevé d'heures) ou `facilitator` "
        "(saisie d'un facilitateur)."
    )
    status: StatementStatus = Field(
        description="`declared` (déclarée, en attente de validation), `validated` (validée par "
        "un facilitateur : définitive, ses heures comptent) ou `rejected` (rejetée avec un "
        "motif : à déclarer de nouveau)."
    )
    status_label: str = Field(description="L'état en toutes lettres, en français.")
    rejection_reason: str | None = Field(
        description="Motif du rejet ; `null` sauf pour une ligne rejetée."
    )
    declared_by_type: str = Field(
        description="Qui l'a déclarée en dernier : `user` (un compte) ou `api_key` (une clé d'API)."
    )
    declared_by_id: uuid.UUID | None = Field(
        description="Le compte ou la clé d'API qui l'a déclarée en dernier."
    )
    declared_at: datetime = Field(description="Date et heure de la dernière déclaration.")
    decided_by_user_id: uuid.UUID | None = Field(
        description="Le facilitateur qui l'a validée ou rejetée ; `null` : pas encore décidée "
        "(ou décidée par une clé d'API)."
    )
    decided_at: datetime | None = Field(
        description="Date et heure de la validation ou du rejet ; `null` : pas encore décidée."
    )

    @classmethod
    def of(cls, line: StatementLine | Stored) -> StatementLinePublic:
        return cls(
            id=line.id,
            placement_id=line.placement_id,
            month=line.month.strftime("%Y-%m"),
            hours_worked=line.hours_worked,
            training_hours=line.training_hours,
            source=line.source,
            status=line.status,
            status_label=STATEMENT_STATUS_LABELS[line.status],
            rejection_reason=line.rejection_reason,
            declared_by_type=line.declared_by_type,
            declared_by_id=line.declared_by_id,
            declared_at=line.declared_at,
            decided_by_user_id=line.decided_by_user_id,
            decided_at=line.decided_at,
        )


class StatementBatchPublic(BaseModel):
    lines: list[StatementLinePublic] = Field(
        description="Les lignes enregistrées (`declared`), une par ligne envoyée."
    )


class ImportSummary(BaseModel):
    stored: int = Field(description="Lignes enregistrées.")
    skipped: int = Field(description="Lignes sans heures saisies, laissées de côté.")
