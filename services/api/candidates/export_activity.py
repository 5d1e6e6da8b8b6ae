"""What counsellors wrote and sent about a person, for the export (right of access, decision
0050): callback cases with their attempts and notes, matches with their moves and comments, and
the notifications sent about them — within what the exporting caller may read (the callbacks'
and matches' own policies), like the rest of the export.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.callbacks.policy import policy as callbacks_policy
from services.api.matches.policy import policy as matches_policy
from services.core.callbacks.schedule import case_key_prefix
from services.core.models.callback import CallbackAttempt, CallbackCase
from services.core.models.match import Match, MatchTransition
from services.core.models.notification import Notification
from services.core.models.offer import Offer
from services.core.security.principal import Principal

_ACTOR_TYPE = "Qui l'a enregistré : `user` (un compte) ou `api_key` (une clé d'API)."
_ACTOR_ID = "Identifiant du compte ou de la clé d'API ; null s'il n'est pas connu."
_MATCH_STATUSES = (
    "`suggested` (proposé par le calcul), `contacted`, `proposed_to_employer`, `hired`, "
    "`declined` ou `withdrawn`"
)


class AttemptExport(BaseModel):
    number: int = Field(description="1 : premier appel ; 2 et 3 : relances.")
    channel: str = Field(description="Moyen utilisé : `phone`, `sms`, `email` ou `in_person`.")
    result: str = Field(
        description="Résultat : `reached` (personne jointe), `no_answer`, `wrong_number` ou "
        "`message_left`."
    )
    attempted_at: datetime = Field(description="Moment de la tentative.")
    actor_type: str = Field(description=_ACTOR_TYPE)
    actor_id: uuid.UUID | None = Field(description=_ACTOR_ID)
    comment: str | None = Field(
        description="Note du conseiller ; null s'il n'en a pas écrit, ou après anonymisation."
    )


class CallbackExport(BaseModel):
    id: uuid.UUID = Field(description="Identifiant du rappel.")
    intake_id: uuid.UUID = Field(description="Le dépôt qui a ouvert le rappel.")
    organisation_id: uuid.UUID = Field(description="Organisation chargée du rappel.")
    prescriber_id: uuid.UUID | None = Field(
        description="Prescripteur chargé du rappel ; null : l'organisation entière."
    )
    status: str = Field(description="`open` (à rappeler) ou `closed`.")
    deposit_date: date = Field(description="Date du dépôt : le délai de 30 jours court d'elle.")
    due_at: datetime = Field(
        description="Fin du délai : minuit (heure de Paris) au début du 30e jour après le dépôt."
    )
    opened_at: datetime = Field(description="Ouverture du rappel.")
    closed_at: datetime | None = Field(description="Clôture ; null tant qu'il est ouvert.")
    reached_at: datetime | None = Field(
        description="Moment où la personne a été jointe ; null si elle ne l'a pas été."
    )
    outcome: str | None = Field(
        description="Suite donnée : `job_offer`, `training`, `support`, `advice`, `referred`, "
        "`not_interested`, ou `unreachable` (après la troisième tentative sans succès) ; null "
        "tant que rien n'est décidé."
    )
    returned_count: int = Field(
        description="Nombre de fois où la personne est revenue déposer pendant que le rappel "
        "était ouvert."
    )
    alerts_raised: list[str] = Field(
        description="Alertes déjà envoyées : `assigned:N` (N-ième attribution), `reminder` "
        "(aucune tentative au 14e jour), `urgent` (25e jour), `overdue` (délai dépassé), "
        "`follow_up:N` (nouvelle tentative après l'échec de la N-ième) ; les jours sont ceux "
        "par défaut, chaque organisation peut régler les siens."
    )
    attempts: list[AttemptExport] = Field(
        description="Les tentatives pour joindre la personne, dans l'ordre (3 au plus)."
    )


class TransitionExport(BaseModel):
    from_status: str = Field(description="État quitté : " + _MATCH_STATUSES + ".")
    to_status: str = Field(description="Nouvel état : " + _MATCH_STATUSES + ".")
    occurred_at: datetime = Field(description="Moment du changement.")
    actor_type: str = Field(description=_ACTOR_TYPE)
    actor_id: uuid.UUID | None = Field(description=_ACTOR_ID)
    organisation_id: uuid.UUID | None = Field(
        description="Organisation de qui a fait le changement ; null si elle n'existe plus."
    )
    comment: str | None = Field(
        description="Commentaire du changement ; null sans commentaire, ou après anonymisation."
    )


class MatchExport(BaseModel):
    id: uuid.UUID = Field(description="Identifiant du rapprochement.")
    offer_id: uuid.UUID = Field(description="L'offre.")
    offer_title: str = Field(description="Intitulé de l'offre.")
    employer_id: uuid.UUID = Field(description="L'entreprise qui propose l'offre.")
    status: str = Field(description="Où en est la mise en relation : " + _MATCH_STATUSES + ".")
    score: float = Field(
        description="Score au dernier calcul : somme des points des critères (secteur, QPV, "
        "disponibilité, distance, éligibilité)."
    )
    rank: int | None = Field(
        description="Place dans la liste de l'offre au dernier calcul (1 : la meilleure) ; null "
        "une fois sorti de la liste."
    )
    computed_at: datetime = Field(description="Dernier calcul du classement.")
    transitions: list[TransitionExport] = Field(
        description="Les changements d'état faits par des personnes, du plus ancien au plus "
        "récent, avec leurs commentaires."
    )


class NotificationExport(BaseModel):
    """A message sent about the person (to a counsellor, an employer): never its text, which is
    rebuilt from ``context`` and names nobody."""

    model_config = ConfigDict(
        json_schema_extra={
            "description": "Un message envoyé au sujet de la personne (à un conseiller, à un "
            "employeur) : jamais son texte, qui se reconstruit à partir de `context` et ne "
            "nomme personne."
        }
    )

    kind: str = Field(
        description="Sorte d'alerte : `callback.assigned`, `callback.reminder`, "
        "`callback.urgent`, `callback.overdue`, `callback.follow_up` (rappels) ou "
        "`candidate.retention` (anonymisation prochaine faute d'activité)."
    )
    channel: str = Field(description="Canal : `email` ou `sms`.")
    status: str = Field(
        description="État de l'envoi : `pending` (à envoyer), `held` (gardé pour le "
        "récapitulatif quotidien), `sent`, `delivered` (remise confirmée), `failed` ou "
        "`cancelled` (devenu sans objet)."
    )
    recipient_user_id: uuid.UUID = Field(description="Le compte destinataire.")
    subject_type: str = Field(
        description="Sorte d'objet dont parle le message : `callback_case` ou `candidate`."
    )
    subject_id: uuid.UUID = Field(description="Identifiant de cet objet.")
    created_at: datetime = Field(description="Date et heure de création du message.")
    sent_at: datetime | None = Field(description="Moment de l'envoi ; null s'il n'est pas parti.")
    context: dict[str, Any] = Field(
        description="Ce qui sert à écrire le message (identifiants, dates, lien), sans nom ni "
        "coordonnées."
    )


class Activity(BaseModel):
    callbacks: list[CallbackExport]
    matches: list[MatchExport]
    notifications: list[NotificationExport]

    @property
    def ids(self) -> list[uuid.UUID]:
        """The cases and matches, whose audit entries are about the person too."""
        return [*(case.id for case in self.callbacks), *(match.id for match in self.matches)]


async def _callbacks(
    session: AsyncSession, people: Sequence[uuid.UUID], principal: Principal
) -> list[CallbackExport]:
    cases = list(
        await session.scalars(
            select(CallbackCase)
            .where(col(CallbackCase.candidate_id).in_(people), callbacks_policy.visible(principal))
            .order_by(col(CallbackCase.opened_at), col(CallbackCase.id))
        )
    )
    attempts: dict[uuid.UUID, list[AttemptExport]] = {}
    rows = await session.scalars(
        select(CallbackAttempt)
        .where(col(CallbackAttempt.case_id).in_([case.id for case in cases]))
        .order_by(col(CallbackAttempt.case_id), col(CallbackAttempt.number))
    )
    for row in rows:
        attempts.setdefault(row.case_id, []).append(AttemptExport.model_validate(row.model_dump()))
    return [
        CallbackExport.model_validate({**case.model_dump(), "attempts": attempts.get(case.id, [])})
        for case in cases
    ]


async def _matches(
    session: AsyncSession, people: Sequence[uuid.UUID], principal: Principal
) -> list[MatchExport]:
    rows = list(
        await session.execute(
            select(Match, Offer)
            .join(Offer, col(Offer.id) == col(Match.offer_id))
            .where(col(Match.candidate_id).in_(people), matches_policy.visible(principal))
            .order_by(col(Match.computed_at), col(Match.id))
        )
    )
    moves: dict[uuid.UUID, list[TransitionExport]] = {}
    transitions = await session.scalars(
        select(MatchTransition)
        .where(col(MatchTransition.match_id).in_([match.id for match, _ in rows]))
        .order_by(col(MatchTransition.occurred_at), col(MatchTransition.id))
    )
    for move in transitions:
        moves.setdefault(move.match_id, []).append(
            TransitionExport.model_validate(move.model_dump())
        )
    return [
        MatchExport(
            id=match.id,
            offer_id=offer.id,
            offer_title=offer.title,
            employer_id=offer.employer_id,
            status=match.status.value,
            score=match.score,
            rank=match.rank,
            computed_at=match.computed_at,
            transitions=moves.get(match.id, []),
        )
        for match, offer in rows
    ]


async def activity(
    session: AsyncSession, people: Sequence[uuid.UUID], principal: Principal
) -> Activity:
    """``people``: the candidate and the duplicates merged into it."""
    callbacks = await _callbacks(session, people, principal)
    matches = await _matches(session, people, principal)
    # About the person: the notices about their record (retention) and their cases' alerts, by
    # the keys' indexed prefixes. Alerts about an offer's new matches are about the offer and
    # name nobody.
    prefixes = [
        *(f"retention:{person}:" for person in people),
        *(case_key_prefix(case.id) for case in callbacks),
    ]
    notifications = await session.scalars(
        select(Notification)
        .where(or_(*(col(Notification.key).startswith(prefix) for prefix in prefixes)))
        .order_by(col(Notification.created_at), col(Notification.id))
    )
    return Activity(
        callbacks=callbacks,
        matches=matches,
        notifications=[
            NotificationExport.model_validate(row.model_dump()) for row in notifications
        ],
    )
