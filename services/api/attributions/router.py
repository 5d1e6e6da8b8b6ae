"""Attributions: companies on lots, with their role, share and referent (product.md §8.2)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from starlette.status import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from services.api.access import CREATE, UPDATE
from services.api.attributions import service
from services.api.attributions.policy import policy
from services.api.attributions.schemas import (
    AttributionCreate,
    AttributionPublic,
    AttributionUpdate,
)
from services.api.auth.dependencies import CurrentPrincipal
from services.api.body import Partly, body_schema, partly
from services.api.conditional import IfMatchDep, IfNoneMatchDep, etag_of
from services.api.deps import SessionDep
from services.api.locations import location
from services.api.obligations.service import contract_in_reach
from services.api.pagination import Page, PaginationDep, paginate
from services.core.models.attribution import Attribution

router = APIRouter(tags=["heures d'insertion"])


def _respond(response: Response, attribution: Attribution) -> AttributionPublic:
    public = AttributionPublic.of(attribution)
    response.headers["ETag"] = etag_of(public)
    return public


@router.get(
    "/contracts/{contract_id}/attributions",
    summary="Lister les attributions d'un marché (entreprises par lot)",
    description="Les entreprises attributaires du marché, groupées par lot, dans l'ordre "
    "d'enregistrement. Une entreprise n'y voit que ses propres "
    "attributions ; l'acheteur, les facilitateurs du territoire et l'administrateur les voient "
    "toutes. Prescripteurs et accueil : 403 ; un marché hors de portée : 404.",
)
async def list_attributions(
    contract_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    pagination: PaginationDep,
) -> Page[AttributionPublic]:
    query = policy.query(principal)
    await contract_in_reach(session, principal, contract_id)
    rows, total = await paginate(session, service.of_contract(query, contract_id), pagination)
    return Page[AttributionPublic].build([AttributionPublic.of(r) for r in rows], total, pagination)


@router.post(
    "/contracts/{contract_id}/attributions",
    status_code=HTTP_201_CREATED,
    openapi_extra=body_schema(AttributionCreate),
    summary="Attribuer un lot (ou un marché sans lots) à une entreprise",
    description="Une entreprise devient titulaire, cotraitante ou sous-traitante d'un lot du "
    "marché (`lot_id` obligatoire si le marché a des lots, absent sinon). L'entreprise doit "
    "exister, le titulaire d'un sous-traitant être attributaire du même lot, le référent être un "
    "compte actif de l'entreprise : toutes les erreurs sont rendues ensemble (422). Une "
    "entreprise déjà attributaire du lot : 409 `attribution-exists` ; un marché clos : 409 "
    "`contract-closed`. Par l'administrateur ou un facilitateur du territoire. Répond 201 avec "
    "`Location` et `ETag`.",
)
async def create_attribution(
    contract_id: uuid.UUID,
    principal: CurrentPrincipal,
    body: Annotated[Partly[AttributionCreate], Depends(partly(AttributionCreate))],
    session: SessionDep,
    request: Request,
    response: Response,
) -> AttributionPublic:
    policy.authorize(principal, CREATE)
    contract = await contract_in_reach(session, principal, contract_id, for_update=True)
    attribution = await service.create(session, contract, body.readable(), refused=body.errors)
    response.headers["Location"] = location(
        request, "read_attribution", attribution_id=attribution.id
    )
    return _respond(response, attribution)


@router.get(
    "/attributions/{attribution_id}",
    summary="Lire une attribution",
    description="L'entreprise attributaire d'un lot, son rôle, sa part des heures dues, son "
    "titulaire (pour un sous-traitant) et son référent. Lisible par l'administrateur, les "
    "facilitateurs du territoire, l'acheteur du marché et l'entreprise elle-même (une autre "
    "entreprise : 404). Rend un `ETag`.",
)
async def read_attribution(
    attribution_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    if_none_match: IfNoneMatchDep,
    response: Response,
) -> AttributionPublic:
    attribution = AttributionPublic.of(await policy.get(session, principal, attribution_id))
    return if_none_match.answer(response, attribution)


@router.patch(
    "/attributions/{attribution_id}",
    openapi_extra=body_schema(AttributionUpdate),
    summary="Modifier une attribution (rôle, part, titulaire, référent)",
    description="Seuls les champs envoyés changent ; le marché, le lot et l'entreprise ne "
    "changent pas. Par l'administrateur ou un facilitateur du territoire. Exige `If-Match`.",
)
async def update_attribution(
    attribution_id: uuid.UUID,
    principal: CurrentPrincipal,
    body: Annotated[Partly[AttributionUpdate], Depends(partly(AttributionUpdate))],
    if_match: IfMatchDep,
    session: SessionDep,
    response: Response,
) -> AttributionPublic:
    attribution = await policy.get(
        session, principal, attribution_id, action=UPDATE, for_update=True
    )
    if_match.check(etag_of(AttributionPublic.of(attribution)))
    await service.update(session, attribution, body.readable(), refused=body.errors)
    return _respond(response, attribution)


@router.delete(
    "/attributions/{attribution_id}",
    status_code=HTTP_204_NO_CONTENT,
    summary="Supprimer une attribution sans mise en emploi",
    description="Exige `If-Match` ; 409 si des mises en emploi ou des sous-traitants y sont "
    "rattachés.",
)
async def delete_attribution(
    attribution_id: uuid.UUID,
    principal: CurrentPrincipal,
    if_match: IfMatchDep,
    session: SessionDep,
) -> Response:
    attribution = await policy.get(
        session, principal, attribution_id, action=UPDATE, for_update=True
    )
    if_match.check(etag_of(AttributionPublic.of(attribution)))
    await service.delete(session, attribution)
    return Response(status_code=HTTP_204_NO_CONTENT)
