"""Placements: a participant's work on a contract (product.md §8.3; decision 0076)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.status import HTTP_201_CREATED

from services.api.access import CREATE, UPDATE
from services.api.attributions.policy import policy as attributions_policy
from services.api.auth.dependencies import CurrentPrincipal
from services.api.body import Partly, body_schema, partly
from services.api.conditional import IfMatchDep, IfNoneMatchDep, etag_of
from services.api.deps import RequestIdDep, SessionDep
from services.api.locations import location
from services.api.pagination import Page, PaginationDep, paginate
from services.api.placements import service
from services.api.placements.policy import EXCEPTION, START, policy
from services.api.placements.schemas import (
    PlacementCreate,
    PlacementException,
    PlacementPublic,
    PlacementUpdate,
)
from services.core.clock import now
from services.core.models.candidate import Candidate
from services.core.models.placement import Placement, PlacementStatus
from services.core.security.principal import Principal

router = APIRouter(tags=["heures d'insertion"])


async def _public(session: AsyncSession, placement: Placement) -> PlacementPublic:
    candidate = await session.get(Candidate, placement.candidate_id, populate_existing=True)
    assert candidate is not None
    return PlacementPublic.of(placement, candidate)


def _respond(response: Response, public: PlacementPublic) -> PlacementPublic:
    response.headers["ETag"] = etag_of(public)
    return public


def _audit(
    session: AsyncSession,
    principal: Principal,
    action: str,
    placement: Placement,
    request_id: str,
) -> None:
    policy.audit(
        session,
        principal,
        action,
        placement,
        request_id=request_id,
        details={"candidate_id": str(placement.candidate_id)},
    )


@router.post(
    "/attributions/{attribution_id}/placements",
    status_code=HTTP_201_CREATED,
    openapi_extra=body_schema(PlacementCreate),
    summary="Enregistrer la mise en emploi d'un participant sur une attribution (brouillon)",
    description="Par un facilitateur du territoire. La mise en emploi naît brouillon (`draft`) : "
    "elle ne prend de relevés d'heures qu'une fois démarrée (`POST /v1/placements/{id}/start`). "
    "Une embauche sur une offre d'un marché clausé en crée aussi le brouillon. L'employeur doit "
    "convenir à la modalité (l'entreprise attributaire pour une embauche directe), et la "
    "modalité être admise par l'obligation du lot. Auditée ; rend un `ETag`.",
)
async def create_placement(
    attribution_id: uuid.UUID,
    principal: CurrentPrincipal,
    body: Annotated[Partly[PlacementCreate], Depends(partly(PlacementCreate))],
    session: SessionDep,
    request_id: RequestIdDep,
    request: Request,
    response: Response,
) -> PlacementPublic:
    policy.authorize(principal, CREATE)
    attribution = await attributions_policy.get(session, principal, attribution_id)
    placement, candidate = await service.create(
        session, principal, attribution, body.readable(), refused=body.errors
    )
    _audit(session, principal, "create", placement, request_id)
    response.headers["Location"] = location(request, "read_placement", placement_id=placement.id)
    return _respond(response, PlacementPublic.of(placement, candidate))


@router.get(
    "/placements",
    summary="Lister les mises en emploi",
    description="Données personnelles : un facilitateur voit celles des attributions de son "
    "territoire, une entreprise celles de ses attributions et celles des personnes qu'elle "
    "emploie (mise à disposition, sous-traitance) ; l'administrateur n'en voit aucune, "
    "l'acheteur, les prescripteurs et les accueils n'y ont pas accès (403). Filtres combinables ; "
    "chaque liste est auditée.",
)
async def list_placements(
    principal: CurrentPrincipal,
    session: SessionDep,
    pagination: PaginationDep,
    request_id: RequestIdDep,
    attribution_id: Annotated[uuid.UUID | None, Query(description="Attribution.")] = None,
    contract_id: Annotated[uuid.UUID | None, Query(description="Marché.")] = None,
    candidate_id: Annotated[uuid.UUID | None, Query(description="Participant.")] = None,
    status: Annotated[PlacementStatus | None, Query(description="État.")] = None,
) -> Page[PlacementPublic]:
    query = service.search(
        policy.query(principal),
        attribution_id=attribution_id,
        contract_id=contract_id,
        candidate_id=candidate_id,
        status=status,
    )
    rows, total = await paginate(session, query, pagination)
    placements = list(rows)
    policy.audit_list(session, principal, placements, request_id=request_id)
    candidates = await service.candidates_of(session, placements)
    return Page[PlacementPublic].build(
        [PlacementPublic.of(p, candidates[p.candidate_id]) for p in placements], total, pagination
    )


@router.get(
    "/placements/{placement_id}",
    summary="Lire une mise en emploi",
    description="Le participant, l'attribution, l'employeur, la modalité, le contrat et ce que "
    "la mise en emploi a figé à son démarrage (critères d'éligibilité, QPV, tranche d'âge, "
    "sexe, qualification). Pour un facilitateur du territoire, l'entreprise de l'attribution ou "
    "celle qui emploie la personne ; 404 pour les autres. Lecture auditée ; rend un `ETag`.",
)
async def read_placement(
    placement_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    request_id: RequestIdDep,
    if_none_match: IfNoneMatchDep,
    response: Response,
) -> PlacementPublic:
    placement = await policy.get(session, principal, placement_id, request_id=request_id)
    return if_none_match.answer(response, await _public(session, placement))


@router.patch(
    "/placements/{placement_id}",
    openapi_extra=body_schema(PlacementUpdate),
    summary="Modifier une mise en emploi",
    description="Par un facilitateur du territoire. Seuls les champs envoyés changent ; "
    "l'employeur, la modalité, la date de début et le niveau de qualification sont figés au "
    "démarrage (409 s'ils sont envoyés ensuite). Exige `If-Match`.",
)
async def update_placement(
    placement_id: uuid.UUID,
    principal: CurrentPrincipal,
    body: Annotated[Partly[PlacementUpdate], Depends(partly(PlacementUpdate))],
    if_match: IfMatchDep,
    session: SessionDep,
    request_id: RequestIdDep,
    response: Response,
) -> PlacementPublic:
    placement = await policy.get(session, principal, placement_id, action=UPDATE, for_update=True)
    if_match.check(etag_of(await _public(session, placement)))
    await service.update(session, placement, body.readable(), refused=body.errors)
    _audit(session, principal, "update", placement, request_id)
    return _respond(response, await _public(session, placement))


@router.post(
    "/placements/{placement_id}/start",
    summary="Démarrer une mise en emploi (fige ce pour quoi elle compte)",
    description="Fige les critères d'éligibilité validés à la date de début, la résidence QPV, "
    "la tranche d'âge, le sexe et le niveau de qualification ; signale la mise en emploi si aucun "
    "critère n'était validé.",
)
async def start_placement(
    placement_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    request_id: RequestIdDep,
    response: Response,
) -> PlacementPublic:
    placement = await policy.get(session, principal, placement_id, action=START, for_update=True)
    candidate = await service.start(session, placement, now())
    _audit(session, principal, "start", placement, request_id)
    return _respond(response, PlacementPublic.of(placement, candidate))


@router.post(
    "/placements/{placement_id}/exception",
    openapi_extra=body_schema(PlacementException),
    summary="Accepter en dérogation une mise en emploi sans critère validé",
    description="Par un facilitateur du territoire, pour une mise en emploi démarrée et signalée "
    "(`eligibility_flagged` : aucun critère d'éligibilité validé à son début) : ses heures "
    "comptent dès lors. Le motif, lu par l'entreprise, ne porte aucune donnée sensible. 409 si "
    "elle n'est pas signalée ; accordée de nouveau, le motif est remplacé.",
)
async def accept_exception(
    placement_id: uuid.UUID,
    principal: CurrentPrincipal,
    body: Annotated[Partly[PlacementException], Depends(partly(PlacementException))],
    session: SessionDep,
    request_id: RequestIdDep,
    response: Response,
) -> PlacementPublic:
    placement = await policy.get(
        session, principal, placement_id, action=EXCEPTION, for_update=True
    )
    data = body.readable()
    body.refuse()
    await service.accept_exception(session, principal, placement, data.reason, now())
    _audit(session, principal, "exception", placement, request_id)
    return _respond(response, await _public(session, placement))
