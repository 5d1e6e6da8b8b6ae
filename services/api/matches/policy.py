"""Matches (decision 0017): a match is seen by whoever sees both its offer and its candidate.

Counsellors (admin, facilitator, prescriber) see a match when the offer is visible to them
(decision 0008) and the candidate too (its shares, decision 0011). Employers never see candidates
as such, but they see the shortlists sent to them: the matches of their own organisation's offers
that were once proposed to them (a ``proposed_to_employer`` transition exists), whatever became
of them since. Front desks (``reception``) key in intakes and never see matches.

Moves: counsellors make every legal move on a match they see; an employer only hires or declines
(the legality of the move itself is the service's, 409).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, literal, select
from sqlmodel import col

from services.api.access import READ, Policy
from services.api.candidates.policy import policy as candidates_policy
from services.api.offers.policy import policy as offers_policy
from services.core.models.candidate import Candidate
from services.core.models.match import Match, MatchStatus, MatchTransition
from services.core.models.offer import Offer
from services.core.models.user import Role
from services.core.security.principal import Principal

COUNSELLORS = frozenset({Role.ADMIN, Role.FACILITATOR, Role.PRESCRIBER})
# Front desks and buyers never see a match (a buyer sees aggregates only, decision 0076).
OUTSIDE_MATCHING = frozenset({Role.RECEPTION, Role.BUYER})

# What an employer may decide about a candidate proposed to it.
EMPLOYER_MOVES = frozenset({MatchStatus.HIRED, MatchStatus.DECLINED})

_MOVE = "move:"


def move(to: MatchStatus) -> str:
    """The action of moving a match to ``to`` (for :meth:`MatchesPolicy.permits`)."""
    return _MOVE + to.value


def was_proposed() -> ColumnElement[bool]:
    """SQL: the match was proposed to the employer at some point (its shortlist)."""
    return exists(
        select(col(MatchTransition.id)).where(
            col(MatchTransition.match_id) == col(Match.id),
            col(MatchTransition.to_status) == MatchStatus.PROPOSED_TO_EMPLOYER,
        )
    )


class MatchesPolicy(Policy[Match]):
    model = Match
    resource = "matches"
    audit_type = "match"
    # The candidate in a match is what is personal: handlers audit it as a candidate read.
    personal_data = False

    def visible(self, principal: Principal) -> ColumnElement[bool]:
        if principal.role in OUTSIDE_MATCHING:
            return literal(False)
        offers = select(col(Offer.id)).where(offers_policy.visible(principal))
        if principal.role is Role.EMPLOYER:
            own = select(col(Offer.id)).where(principal.in_territory(Offer.employer_id))
            return and_(col(Match.offer_id).in_(own), was_proposed())
        candidates = select(col(Candidate.id)).where(candidates_policy.visible(principal))
        return and_(col(Match.offer_id).in_(offers), col(Match.candidate_id).in_(candidates))

    def permits(self, principal: Principal, action: str, obj: Match | None) -> bool:
        if principal.role in OUTSIDE_MATCHING:
            return False
        if action == READ or principal.role in COUNSELLORS:
            return True
        if principal.role is Role.EMPLOYER and action.startswith(_MOVE):
            # ``obj is None``: before the look-up; the target is checked again with the match.
            return obj is None or MatchStatus(action.removeprefix(_MOVE)) in EMPLOYER_MOVES
        return False


policy = MatchesPolicy()
