"""Matches: a candidate ranked for an open offer, with the points of each criterion (§5).

The matching worker keeps the top of each offer's list current. A match moves past
``suggested`` only by a human action, recorded in :class:`MatchTransition`; a recomputation
refreshes the score of such a match but never its status, and never deletes it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import REAL, CheckConstraint, DateTime, Index, Integer, String, UniqueConstraint
from sqlmodel import Field

from services.core.clock import now
from services.core.models.base import EnumText, TableBase


class MatchStatus(StrEnum):
    SUGGESTED = "suggested"
    CONTACTED = "contacted"
    PROPOSED_TO_EMPLOYER = "proposed_to_employer"
    HIRED = "hired"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


MATCH_STATUS_LABELS: dict[MatchStatus, str] = {
    MatchStatus.SUGGESTED: "Suggéré",
    MatchStatus.CONTACTED: "Contacté",
    MatchStatus.PROPOSED_TO_EMPLOYER: "Proposé à l'employeur",
    MatchStatus.HIRED: "Recruté",
    MatchStatus.DECLINED: "Décliné",
    MatchStatus.WITHDRAWN: "Retiré",
}


class Match(TableBase, table=True):
    """One (offer, candidate) pair. ``score`` is the sum of the five criterion points."""

    __tablename__ = "match"
    __table_args__ = (
        UniqueConstraint("offer_id", "candidate_id"),
        # An offer's list, best first; a candidate's list.
        Index("ix_match_offer_rank", "offer_id", "score", "candidate_id"),
        CheckConstraint("score >= 0", name="score_not_negative"),
    )

    offer_id: uuid.UUID = Field(foreign_key="offer.id", nullable=False, ondelete="CASCADE")
    candidate_id: uuid.UUID = Field(
        foreign_key="candidate.id", nullable=False, index=True, ondelete="CASCADE"
    )
    status: MatchStatus = Field(
        default=MatchStatus.SUGGESTED, sa_type=EnumText(MatchStatus, 30), nullable=False
    )
    score: float = Field(sa_type=REAL, nullable=False)
    sector_points: float = Field(default=0, sa_type=REAL, nullable=False)
    qpv_points: float = Field(default=0, sa_type=REAL, nullable=False)
    availability_points: float = Field(default=0, sa_type=REAL, nullable=False)
    distance_points: float = Field(default=0, sa_type=REAL, nullable=False)
    eligibility_points: float = Field(default=0, sa_type=REAL, nullable=False)
    # Rounded distance between the candidate's home point and the work site, when both known.
    distance_km: float | None = Field(default=None, sa_type=REAL)
    # Position in the offer's list at the last computation (1 = best); None once out of it.
    rank: int | None = Field(default=None, sa_type=Integer)
    computed_at: datetime = Field(
        default_factory=now, sa_type=DateTime(timezone=True), nullable=False
    )
    # False when the candidate stopped being rankable or the offer closed: kept only because a
    # human acted on it (suggested matches are deleted instead).
    is_current: bool = Field(default=True, nullable=False)
    status_changed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class MatchTransition(TableBase, table=True):
    """A human action on a match: who, when, from which status to which, and why."""

    __tablename__ = "match_transition"

    match_id: uuid.UUID = Field(
        foreign_key="match.id", nullable=False, index=True, ondelete="CASCADE"
    )
    from_status: MatchStatus = Field(sa_type=EnumText(MatchStatus, 30), nullable=False)
    to_status: MatchStatus = Field(sa_type=EnumText(MatchStatus, 30), nullable=False)
    actor_type: str = Field(sa_type=String(20), nullable=False)  # user | api_key
    actor_id: uuid.UUID | None = Field(default=None)
    organisation_id: uuid.UUID | None = Field(
        default=None, foreign_key="organisation.id", index=True, ondelete="SET NULL"
    )
    comment: str | None = Field(default=None, sa_type=String(1000))
    occurred_at: datetime = Field(
        default_factory=now, sa_type=DateTime(timezone=True), nullable=False
    )
