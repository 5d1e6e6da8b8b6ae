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

from pydantic import BaseModel
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


class AttemptExport(BaseModel):
    number: int
    channel: str
    result: str
    attempted_at: datetime
    actor_type: str
    actor_id: uuid.UUID | None
    comment: str | None


class CallbackExport(BaseModel):
    id: uuid.UUID
    intake_id: uuid.UUID
    organisation_id: uuid.UUID
    prescriber_id: uuid.UUID | None
    status: str
    deposit_date: date
    due_at: datetime
    opened_at: datetime
    closed_at: datetime | None
    reached_at: datetime | None
    outcome: str | None
    returned_count: int
    alerts_raised: list[str]
    attempts: list[AttemptExport]


class TransitionExport(BaseModel):
    from_status: str
    to_status: str
    occurred_at: datetime
    actor_type: str
    actor_id: uuid.UUID | None
    organisation_id: uuid.UUID | None
    comment: str | None


class MatchExport(BaseModel):
    id: uuid.UUID
    offer_id: uuid.UUID
    offer_title: str
    employer_id: uuid.UUID
    status: str
    score: float
    rank: int | None
    computed_at: datetime
    transitions: list[TransitionExport]


class NotificationExport(BaseModel):
    """A message sent about the person (to a counsellor, an employer): never its text, which is
    rebuilt from ``context`` and names nobody."""

    kind: str
    channel: str
    status: str
    recipient_user_id: uuid.UUID
    subject_type: str
    subject_id: uuid.UUID
    created_at: datetime
    sent_at: datetime | None
    context: dict[str, Any]


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
