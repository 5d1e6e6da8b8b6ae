"""Listing matches and moving them from one status to the next (decision 0017).

A move is checked whole before anything is written: a refused move writes nothing. Hiring
places the candidate, takes one open position of the offer (``filled`` at zero, as a PATCH of
``open_positions`` would) and emits ``candidate.placed`` and ``offer.updated``; on an offer of a
clause contract it also creates the placement's draft (product.md §8.3).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import TypeVar

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.errors import Conflict
from services.api.validation import today
from services.core import audit
from services.core.clock import now
from services.core.events import CandidatePlaced, OfferUpdated, emit
from services.core.ledger.placements import draft_for_hire
from services.core.models.candidate import Candidate, CandidateStatus
from services.core.models.geo import Commune
from services.core.models.match import MATCH_STATUS_LABELS, Match, MatchStatus, MatchTransition
from services.core.models.offer import OFFER_STATUS_LABELS, Offer, OfferStatus
from services.core.security.principal import Principal

RowT = TypeVar("RowT", Offer, Candidate)

# The legal moves; hired, declined and withdrawn are final.
LEGAL_MOVES: dict[MatchStatus, tuple[MatchStatus, ...]] = {
    MatchStatus.SUGGESTED: (MatchStatus.CONTACTED, MatchStatus.DECLINED, MatchStatus.WITHDRAWN),
    MatchStatus.CONTACTED: (
        MatchStatus.PROPOSED_TO_EMPLOYER,
        MatchStatus.DECLINED,
        MatchStatus.WITHDRAWN,
    ),
    MatchStatus.PROPOSED_TO_EMPLOYER: (
        MatchStatus.HIRED,
        MatchStatus.DECLINED,
        MatchStatus.WITHDRAWN,
    ),
    MatchStatus.HIRED: (),
    MatchStatus.DECLINED: (),
    MatchStatus.WITHDRAWN: (),
}

# Moves that go on with the offer: only while it is open, only for a person still there.
FORWARD = frozenset({MatchStatus.CONTACTED, MatchStatus.PROPOSED_TO_EMPLOYER, MatchStatus.HIRED})


class IllegalMatchTransition(Conflict):
    code = "illegal-transition"
    title = "Changement d'état impossible"
    default_detail = "Ce rapprochement ne peut pas passer à cet état."


class OfferNotOpen(Conflict):
    code = "offer-not-open"
    title = "Offre non ouverte"
    default_detail = "L'offre n'est pas ouverte."


class CandidateAlreadyPlaced(Conflict):
    code = "candidate-already-placed"
    title = "Candidat déjà en poste"
    default_detail = "Ce candidat est déjà en poste : il ne peut pas être recruté une seconde fois."


class CandidateGone(Conflict):
    code = "candidate-anonymised"
    title = "Candidat anonymisé"
    default_detail = "Ce candidat a été anonymisé : on ne peut plus le positionner."


def _labels(statuses: Iterable[MatchStatus]) -> str:
    return ", ".join(f"« {MATCH_STATUS_LABELS[status]} »" for status in statuses)


def of_offer(query: Select[Match], offer_id: uuid.UUID, *, current_only: bool) -> Select[Match]:
    query = query.where(col(Match.offer_id) == offer_id)
    if current_only:
        query = query.where(col(Match.is_current))
    # The list's own order (``rank``: score, then earliest availability, then id, as the
    # matching worker numbered it); matches out of the list (acted on, kept) after it, best
    # first; ties by candidate, so that pages never overlap.
    return query.order_by(
        col(Match.rank).asc().nulls_last(),
        col(Match.score).desc(),
        col(Match.candidate_id).desc(),
    )


def of_candidate(
    query: Select[Match], candidate_id: uuid.UUID, *, current_only: bool
) -> Select[Match]:
    query = query.where(col(Match.candidate_id) == candidate_id)
    if current_only:
        query = query.where(col(Match.is_current))
    # The order of the candidate's offers in the ranking: score, then earliest start (none
    # last), then offer.
    start = (
        select(col(Offer.start_date)).where(col(Offer.id) == col(Match.offer_id)).scalar_subquery()
    )
    return query.order_by(
        col(Match.score).desc(), start.asc().nulls_last(), col(Match.offer_id).asc()
    )


async def related(
    session: AsyncSession, matches: Sequence[Match]
) -> tuple[dict[uuid.UUID, Offer], dict[uuid.UUID, Candidate], dict[str, str]]:
    """The offers, candidates and commune names a page of matches shows, in three queries."""
    offer_ids = {match.offer_id for match in matches}
    candidate_ids = {match.candidate_id for match in matches}
    offers = {
        offer.id: offer
        for offer in await session.scalars(select(Offer).where(col(Offer.id).in_(offer_ids)))
    }
    candidates = {
        candidate.id: candidate
        for candidate in await session.scalars(
            select(Candidate).where(col(Candidate.id).in_(candidate_ids))
        )
    }
    return offers, candidates, await commune_names(session, candidates.values())


async def commune_names(session: AsyncSession, candidates: Iterable[Candidate]) -> dict[str, str]:
    codes = {c.commune_insee for c in candidates if c.commune_insee is not None}
    if not codes:
        return {}
    rows = await session.execute(
        select(col(Commune.insee), col(Commune.name)).where(col(Commune.insee).in_(codes))
    )
    return {str(row[0]): str(row[1]) for row in rows}


async def _locked(session: AsyncSession, model: type[RowT], row_id: uuid.UUID) -> RowT:
    row = await session.scalar(
        select(model)
        .where(col(model.id) == row_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert row is not None  # the match's foreign keys
    return row


def check_move(match: Match, to: MatchStatus, offer: Offer, candidate: Candidate) -> None:
    """Raise the 409 that refuses moving ``match`` to ``to``; nothing written yet."""
    legal = LEGAL_MOVES[match.status]
    if to not in legal:
        current = MATCH_STATUS_LABELS[match.status]
        if not legal:
            raise IllegalMatchTransition(
                f"Ce rapprochement est « {current} » : c'est un état final, il ne change plus."
            )
        raise IllegalMatchTransition(
            f"Un rapprochement « {current} » ne peut passer qu'à {_labels(legal)}, pas à "
            f"« {MATCH_STATUS_LABELS[to]} »."
        )
    if to not in FORWARD:
        return
    if offer.status is not OfferStatus.OPEN or offer.open_positions < 1:
        raise OfferNotOpen(
            f"L'offre est « {OFFER_STATUS_LABELS[offer.status]} » : on ne peut y faire passer un "
            f"rapprochement à « {MATCH_STATUS_LABELS[to]} » que lorsqu'elle est ouverte."
        )
    if candidate.status is CandidateStatus.ANONYMISED:
        raise CandidateGone()
    if to is MatchStatus.HIRED and candidate.status is CandidateStatus.PLACED:
        raise CandidateAlreadyPlaced()


async def move(
    session: AsyncSession,
    principal: Principal,
    match: Match,
    to: MatchStatus,
    comment: str | None,
    *,
    request_id: str | None = None,
) -> tuple[Offer, Candidate]:
    """Move ``match`` (locked by the caller) to ``to``; the offer and candidate, locked too.

    Locks are taken match, offer, candidate: the same order for every move.
    """
    offer = await _locked(session, Offer, match.offer_id)
    candidate = await _locked(session, Candidate, match.candidate_id)
    check_move(match, to, offer, candidate)

    moment = now()
    session.add(
        MatchTransition(
            match_id=match.id,
            from_status=match.status,
            to_status=to,
            actor_type=principal.kind,
            actor_id=principal.id,
            organisation_id=principal.organisation_id,
            comment=comment,
            occurred_at=moment,
        )
    )
    audit.record(
        session,
        principal,
        "transition",
        "match",
        match.id,
        request_id=request_id,
        details={"from": match.status.value, "to": to.value, "candidate_id": str(candidate.id)},
    )
    match.status = to
    match.status_changed_at = moment
    candidate.last_activity_at = moment  # a step of the person's search (retention, §9)

    if to is MatchStatus.HIRED:
        candidate.status = CandidateStatus.PLACED
        audit.record(
            session,
            principal,
            "update",
            "candidate",
            candidate.id,
            request_id=request_id,
            details={"fields": ["status"], "match_id": str(match.id)},
        )
        offer.open_positions -= 1
        if offer.open_positions == 0:
            offer.status = OfferStatus.FILLED
        emit(
            session,
            CandidatePlaced(candidate_id=candidate.id, offer_id=offer.id),
            request_id=request_id,
        )
        emit(session, OfferUpdated(offer_id=offer.id), request_id=request_id)
        # A hire on a clause offer opens the placement the ledger counts (§8.3), in this
        # transaction: no hire without its draft, no draft without its hire.
        placement = await draft_for_hire(session, match, offer, today())
        if placement is not None:
            await session.flush()
            audit.record(
                session,
                principal,
                "create",
                "placement",
                placement.id,
                request_id=request_id,
                details={"candidate_id": str(candidate.id), "match_id": str(match.id)},
            )
    await session.flush()
    return offer, candidate
