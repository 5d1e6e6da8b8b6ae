"""Callback cases as the API shows them: the inbox row, the full case, and what clients send."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.api.validation import Moment
from services.core.callbacks.schedule import days_left
from services.core.clock import PARIS
from services.core.models.callback import (
    ATTEMPT_CHANNEL_LABELS,
    ATTEMPT_RESULT_LABELS,
    CALLBACK_ALERT_KIND_LABELS,
    CALLBACK_OUTCOME_LABELS,
    CALLBACK_STATUS_LABELS,
    MAX_ATTEMPTS,
    AttemptChannel,
    AttemptResult,
    CallbackAlertKind,
    CallbackAttempt,
    CallbackCase,
    CallbackOutcome,
    CallbackStatus,
)
from services.core.models.candidate import Candidate

Comment = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]

# What a counsellor may choose; ``unreachable`` is set by the third failed attempt only.
ChosenOutcome = Literal["job_offer", "training", "support", "advice", "referred", "not_interested"]


class CallbackPerson(BaseModel):
    """Who to call back (the name only: contact details are read on the candidate)."""

    model_config = ConfigDict(
        json_schema_extra={
            "description": "La personne à rappeler : son nom seulement (ses coordonnées se lisent "
            "sur le candidat)."
        }
    )

    id: uuid.UUID = Field(description="Identifiant du candidat.")
    first_name: str | None = Field(
        description="Prénom (absent si la personne n'est pas encore identifiée)."
    )
    last_name: str | None = Field(
        description="Nom (absent si la personne n'est pas encore identifiée)."
    )

    @classmethod
    def of(cls, candidate: Candidate | None, candidate_id: uuid.UUID) -> CallbackPerson:
        if candidate is None:
            return cls(id=candidate_id, first_name=None, last_name=None)
        return cls(id=candidate.id, first_name=candidate.first_name, last_name=candidate.last_name)


class CallbackSummary(BaseModel):
    """One row of the inbox."""

    model_config = ConfigDict(
        json_schema_extra={"description": "Un rappel, tel que la liste des rappels le montre."}
    )

    id: uuid.UUID = Field(description="Identifiant.")
    candidate: CallbackPerson = Field(description="La personne à rappeler.")
    status: CallbackStatus = Field(description="`open` (à rappeler) ou `closed`.")
    status_label: str = Field(description="L'état en toutes lettres, en français.")
    deposit_date: date = Field(description="Date du dépôt : le délai de 30 jours court d'elle.")
    due_date: date = Field(description="Jour où le délai est dépassé (dépôt + 30 jours).")
    days_left: int = Field(description="Jours restants ; 0 ou moins : délai dépassé.")
    is_overdue: bool = Field(
        description=("Le délai de 30 jours est dépassé sans que la personne ait été jointe.")
    )
    organisation_id: uuid.UUID = Field(description="Organisation chargée du rappel.")
    prescriber_id: uuid.UUID | None = Field(description="Prescripteur chargé du rappel.")
    attempt_count: int = Field(description="Nombre de tentatives d'appel enregistrées.")
    attempts_left: int = Field(description="Tentatives encore possibles (3 au plus).")
    came_back: bool = Field(
        description="La personne est revenue déposer pendant que le rappel était ouvert."
    )
    returned_count: int = Field(
        description=(
            "Nombre de fois où la personne est revenue déposer pendant que le rappel était ouvert."
        )
    )
    last_returned_on: date | None = Field(description="Date de son dernier retour.")
    outcome: CallbackOutcome | None = Field(
        description="Suite donnée, une fois la personne jointe."
    )
    outcome_label: str | None = Field(description="La suite donnée en toutes lettres, en français.")
    next_alert_kind: CallbackAlertKind | None = Field(
        description="Prochaine alerte prévue (relance, urgence, dépassement…)."
    )
    next_alert_label: str | None = Field(
        description="La prochaine alerte en toutes lettres, en français."
    )
    next_alert_at: datetime | None = Field(description="Moment de la prochaine alerte.")

    @classmethod
    def fields_of(
        cls, case: CallbackCase, candidate: Candidate | None, at: datetime
    ) -> dict[str, object]:
        left = days_left(case.due_at, at)
        return {
            "id": case.id,
            "candidate": CallbackPerson.of(candidate, case.candidate_id),
            "status": case.status,
            "status_label": CALLBACK_STATUS_LABELS[case.status],
            "deposit_date": case.deposit_date,
            "due_date": case.due_at.astimezone(PARIS).date(),
            "days_left": left,
            "is_overdue": case.status is CallbackStatus.OPEN and left <= 0,
            "organisation_id": case.organisation_id,
            "prescriber_id": case.prescriber_id,
            "attempt_count": case.attempt_count,
            "attempts_left": (
                MAX_ATTEMPTS - case.attempt_count if case.status is CallbackStatus.OPEN else 0
            ),
            "came_back": case.returned_count > 0,
            "returned_count": case.returned_count,
            "last_returned_on": case.last_returned_on,
            "outcome": case.outcome,
            "outcome_label": CALLBACK_OUTCOME_LABELS[case.outcome] if case.outcome else None,
            "next_alert_kind": case.next_alert_kind,
            "next_alert_label": (
                CALLBACK_ALERT_KIND_LABELS[case.next_alert_kind] if case.next_alert_kind else None
            ),
            "next_alert_at": case.next_alert_at,
        }

    @classmethod
    def of(cls, case: CallbackCase, candidate: Candidate | None, at: datetime) -> CallbackSummary:
        return cls.model_validate(cls.fields_of(case, candidate, at))


class AttemptPublic(BaseModel):
    number: int = Field(description="1 : premier appel ; 2 et 3 : relances.")
    channel: AttemptChannel = Field(
        description="Moyen utilisé : `phone`, `sms`, `email` ou `in_person`."
    )
    channel_label: str = Field(description="Le moyen en toutes lettres, en français.")
    result: AttemptResult = Field(
        description="Résultat : `reached`, `no_answer`, `wrong_number` ou `message_left`."
    )
    result_label: str = Field(description="Le résultat en toutes lettres, en français.")
    attempted_at: datetime = Field(description="Moment de la tentative.")
    comment: str | None = Field(description="Commentaire du conseiller.")

    @classmethod
    def of(cls, attempt: CallbackAttempt) -> AttemptPublic:
        return cls(
            number=attempt.number,
            channel=attempt.channel,
            channel_label=ATTEMPT_CHANNEL_LABELS[attempt.channel],
            result=attempt.result,
            result_label=ATTEMPT_RESULT_LABELS[attempt.result],
            attempted_at=attempt.attempted_at,
            comment=attempt.comment,
        )


class CallbackPublic(CallbackSummary):
    """A case with its attempts."""

    model_config = ConfigDict(json_schema_extra={"description": "Un rappel, avec ses tentatives."})

    intake_id: uuid.UUID = Field(description="Le dépôt qui a ouvert le rappel.")
    received_by_organisation_id: uuid.UUID = Field(
        description="Organisation qui a reçu le dépôt (la borne)."
    )
    place_organisation_id: uuid.UUID | None = Field(description="Lieu du dépôt (borne).")
    opened_at: datetime = Field(description="Ouverture du rappel (le dépôt).")
    assigned_at: datetime = Field(description="Dernière attribution.")
    first_attempt_at: datetime | None = Field(description="Première tentative d'appel.")
    reached_at: datetime | None = Field(description="Moment où la personne a été jointe.")
    closed_at: datetime | None = Field(description="Clôture du rappel.")
    attempts: list[AttemptPublic] = Field(
        description="Les tentatives, de la plus ancienne à la plus récente."
    )
    alerts_raised: list[str] = Field(
        description="Alertes déjà envoyées (`assigned:1`, `reminder`, `follow_up:2`…)."
    )

    @classmethod
    def build(
        cls,
        case: CallbackCase,
        candidate: Candidate | None,
        attempts: list[CallbackAttempt],
        at: datetime,
    ) -> CallbackPublic:
        return cls.model_validate(
            {
                **cls.fields_of(case, candidate, at),
                "intake_id": case.intake_id,
                "received_by_organisation_id": case.received_by_organisation_id,
                "place_organisation_id": case.place_organisation_id,
                "opened_at": case.opened_at,
                "assigned_at": case.assigned_at,
                "first_attempt_at": case.first_attempt_at,
                "reached_at": case.reached_at,
                "closed_at": case.closed_at,
                "attempts": [AttemptPublic.of(a) for a in attempts],
                "alerts_raised": case.alerts_raised,
            }
        )


class AttemptCreate(BaseModel):
    """An attempt to reach the person: the initial call, then at most two follow-ups."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "description": "Une tentative pour joindre la personne : l'appel initial, puis deux "
            "relances au plus.",
            "examples": [
                {
                    "channel": "phone",
                    "result": "no_answer",
                    "attempted_at": "2026-03-04T10:15:00+01:00",
                    "comment": "Pas de réponse, message laissé au standard.",
                }
            ],
        },
    )

    channel: AttemptChannel = Field(description="Téléphone, SMS, e-mail ou en personne.")
    result: AttemptResult = Field(
        description="`reached` (jointe), `no_answer`, `wrong_number`, `message_left`."
    )
    attempted_at: Moment | None = Field(
        default=None, description="Moment de la tentative (défaut : maintenant ; jamais futur)."
    )
    comment: Comment | None = Field(default=None, description="Note du conseiller.")


class OutcomeCreate(BaseModel):
    """The suite donnée to a person reached; it closes the case."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "description": "La suite donnée à une personne jointe ; elle clôt le rappel.",
            "examples": [{"outcome": "training"}],
        },
    )

    outcome: ChosenOutcome = Field(
        description="`job_offer` (proposition d'emploi), `training` (formation), `support` "
        "(accompagnement), `advice` (conseil), `referred` (orientation vers un partenaire), "
        "`not_interested` (pas intéressé)."
    )


class AssignmentCreate(BaseModel):
    """Who calls the person back: an organisation, and optionally one of its counsellors."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "description": "Qui rappelle la personne : une organisation et, si besoin, un de ses "
            "conseillers.",
            "examples": [
                {
                    "organisation_id": "0190a4c2-6f1e-7b3a-9c55-2d4e8f1a0b01",
                    "prescriber_id": "0190a4c2-6f1e-7b3a-9c55-2d4e8f1a0c01",
                }
            ],
        },
    )

    organisation_id: uuid.UUID | None = Field(
        default=None, description="Organisation chargée du rappel (défaut : celle d'aujourd'hui)."
    )
    prescriber_id: uuid.UUID | None = Field(
        default=None,
        description="Prescripteur ou facilitateur de cette organisation ; absent : "
        "toute l'organisation.",
    )


# One request assigns at most this many cases (a page of the inbox, and then some).
MAX_BULK_ASSIGNMENT = 500


class BulkAssignmentCreate(AssignmentCreate):
    """Many cases to the same organisation (and counsellor): all of them, or none."""

    model_config = ConfigDict(
        json_schema_extra={
            "description": "Plusieurs rappels confiés à la même organisation (et au même "
            "conseiller) : tous, ou aucun.",
            "examples": [
                {
                    "callback_ids": ["0190a4c2-6f1e-7b3a-9c55-2d4e8f1a0d01"],
                    "organisation_id": "0190a4c2-6f1e-7b3a-9c55-2d4e8f1a0b01",
                    "prescriber_id": "0190a4c2-6f1e-7b3a-9c55-2d4e8f1a0c01",
                }
            ],
        }
    )

    callback_ids: list[uuid.UUID] = Field(
        min_length=1,
        max_length=MAX_BULK_ASSIGNMENT,
        description=f"Les rappels à attribuer (au plus {MAX_BULK_ASSIGNMENT}, sans doublon).",
    )


class BulkAssignmentResult(BaseModel):
    assigned: int = Field(description="Rappels dont l'attribution a changé.")
    unchanged: int = Field(description="Rappels déjà attribués ainsi.")
    callback_ids: list[uuid.UUID] = Field(description="Les rappels attribués.")
