"""Matches (decision 0017): an offer's ranked candidates, a candidate's offers, and the human
moves of a match. Each candidate shown is a read of personal data, audited like candidate reads:
a list names the candidates it showed, one entry per request."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.access import READ
from services.api.auth.dependencies import CurrentPrincipal
from services.api.candidates.policy import policy as candidates_policy
from services.api.conditional import etag_of
from services.api.deps import RequestIdDep, SessionDep
from services.api.errors import NotFound
from services.api.matches import service
from services.api.matches.policy import move, policy
from services.api.matches.schemas import MatchPublic, MatchTransitionCreate
from services.api.offers.policy import policy as offers_policy
from services.api.pagination import Page, PaginationDep, paginate
from services.core import audit
from services.core.models.candidate import Candidate
from services.core.models.match import Match, MatchStatus
from services.core.models.offer import Offer

router = APIRouter(tags=["rapprochements"])

StatusFilter = Annotated[MatchStatus | None, Query(description="État du rapprochement.")]
CurrentOnly = Annotated[
    bool,
    Query(
        description="Faux : aussi les rapprochements que le calcul ne propose plus, gardés parce "
        "qu'une personne a agi dessus."
    ),
]


async def _public(session: AsyncSession, matches: list[Match]) -> list[MatchPublic]:
    offers, candidates, communes = await service.related(session, matches)
    return [
        MatchPublic.of(
            match,
            offers[match.offer_id],
            candidates[match.candidate_id],
            communes.get(candidates[match.candidate_id].commune_insee or ""),
        )
        for match in matches
    ]


@router.get(
    "/offers/{offer_id}/matches",
    summary="Candidats rapprochés d'une offre",
    description="Les meilleurs d'abord (score décroissant). Seuls les candidats que vous voyez "
    "figurent ; un employeur voit les candidats qui lui ont été proposés pour ses offres. "
    "Chaque candidat montré est inscrit au journal d'audit.",
)
async def list_offer_matches(
    offer_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    request_id: RequestIdDep,
    pagination: PaginationDep,
    status: StatusFilter = None,
    current_only: CurrentOnly = True,
) -> Page[MatchPublic]:
    query = policy.query(principal)  # 403 for a role that never reads matches
    offer = await session.scalar(
        select(Offer).where(col(Offer.id) == offer_id, offers_policy.visible(principal))
    )
    if offer is None:
        raise NotFound()
    query = service.of_offer(query, offer.id, current_only=current_only)
    if status is not None:
        query = query.where(col(Match.status) == status)
    rows, total = await paginate(session, query, pagination)
    items = await _public(session, rows)
    if items:
        # As a list of candidates: one entry naming every person shown.
        shown = dict.fromkeys(str(item.candidate.id) for item in items)
        audit.record(
            session,
            principal,
            "list",
            candidates_policy.audit_type,
            None,
            request_id=request_id,
            details={"ids": list(shown), "offer_id": str(offer.id)},
        )
    return Page[MatchPublic].build(items, total, pagination)


@router.get(
    "/candidates/{candidate_id}/matches",
    summary="Offres rapprochées d'un candidat",
    description="Les rapprochements du candidat sur les offres que vous voyez, les meilleurs "
    "d'abord. La lecture est inscrite au journal d'audit.",
)
async def list_candidate_matches(
    candidate_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    request_id: RequestIdDep,
    pagination: PaginationDep,
    status: StatusFilter = None,
    current_only: CurrentOnly = True,
) -> Page[MatchPublic]:
    query = policy.query(principal)
    candidate = await session.scalar(
        select(Candidate).where(
            col(Candidate.id) == candidate_id, candidates_policy.visible(principal)
        )
    )
    if candidate is None:
        raise NotFound()
    query = service.of_candidate(query, candidate.id, current_only=current_only)
    if status is not None:
        query = query.where(col(Match.status) == status)
    rows, total = await paginate(session, query, pagination)
    candidates_policy.audit(session, principal, READ, candidate, request_id=request_id)
    return Page[MatchPublic].build(await _public(session, rows), total, pagination)


@router.post(
    "/matches/{match_id}/transitions",
    summary="Faire avancer un rapprochement",
    description="suggéré → contacté | décliné | retiré ; contacté → proposé à l'employeur | "
    "décliné | retiré ; proposé à l'employeur → recruté | décliné | retiré. Recruté, décliné et "
    "retiré sont définitifs. Un employeur recrute ou décline les candidats qui lui ont été "
    "proposés. Recruter place le candidat, retire un poste ouvert de l'offre (pourvue à zéro) et "
    "émet `candidate.placed` et `offer.updated`. Un changement refusé (409) n'écrit rien.",
)
async def transition_match(
    match_id: uuid.UUID,
    body: MatchTransitionCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
    request_id: RequestIdDep,
    response: Response,
) -> MatchPublic:
    to = MatchStatus(body.to)
    action = move(to)
    policy.authorize(principal, action)  # a role that never moves a match: 403 before look-up
    match = await policy.get(session, principal, match_id, action=action, for_update=True)
    offer, candidate = await service.move(
        session, principal, match, to, body.comment, request_id=request_id
    )
    communes = await service.commune_names(session, [candidate])
    public = MatchPublic.of(match, offer, candidate, communes.get(candidate.commune_insee or ""))
    candidates_policy.audit(session, principal, READ, candidate, request_id=request_id)
    response.headers["ETag"] = etag_of(public)
    return public
