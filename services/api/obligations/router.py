"""Insertion-hours obligations of lots and contracts, and what is declared on the operation per
period (product.md §8.1; decisions 0074, 0076)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from starlette.status import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from services.api.access import CREATE, UPDATE
from services.api.auth.dependencies import CurrentPrincipal
from services.api.body import Partly, body_schema, partly
from services.api.conditional import IfMatchDep, IfNoneMatchDep, etag_of
from services.api.deps import SessionDep
from services.api.locations import location
from services.api.obligations import service
from services.api.obligations.policy import policy
from services.api.obligations.schemas import (
    DeclarationIn,
    DeclarationPublic,
    ObligationCreate,
    ObligationPublic,
    ObligationUpdate,
)
from services.api.pagination import Page, PaginationDep, paginate
from services.core.clock import now
from services.core.models.obligation import Obligation

router = APIRouter(tags=["heures d'insertion"])


def _respond(response: Response, obligation: Obligation) -> ObligationPublic:
    public = ObligationPublic.of(obligation)
    response.headers["ETag"] = etag_of(public)
    return public


@router.get(
    "/contracts/{contract_id}/obligations",
    summary="Lister les obligations d'un marché",
    description="L'obligation d'heures de chaque lot (ou celle du marché s'il n'a pas de lots), "
    "avec sa méthode de calcul, ses paramètres et les heures dues qui en sont déduites. Lisible "
    "par quiconque voit le marché (administrateur, facilitateurs du territoire, acheteur, "
    "attributaires) et par les entreprises attributaires d'un de ses lots ; prescripteurs et "
    "accueil : 403 ; un marché hors de portée : 404.",
)
async def list_obligations(
    contract_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    pagination: PaginationDep,
) -> Page[ObligationPublic]:
    query = policy.query(principal)
    await service.contract_in_reach(session, principal, contract_id)
    rows, total = await paginate(session, service.of_contract(query, contract_id), pagination)
    return Page[ObligationPublic].build([ObligationPublic.of(r) for r in rows], total, pagination)


@router.post(
    "/contracts/{contract_id}/obligations",
    status_code=HTTP_201_CREATED,
    openapi_extra=body_schema(ObligationCreate),
    summary="Fixer l'obligation d'heures d'un lot (ou d'un marché sans lots)",
    description="Les heures dues sont déduites de la méthode et de ses paramètres, jamais "
    "saisies (décision 0074) : chaque méthode exige ses paramètres et refuse ceux des autres "
    "(422, toutes les erreurs ensemble). `lot_id` est obligatoire si le marché a des lots, absent "
    "sinon. Un lot (ou un marché sans lots) n'a qu'une obligation : 409 `obligation-exists` ; un "
    "marché clos : 409 `contract-closed`. Par l'administrateur ou un facilitateur du territoire. "
    "Répond 201 avec `Location` et `ETag`.",
)
async def create_obligation(
    contract_id: uuid.UUID,
    principal: CurrentPrincipal,
    body: Annotated[Partly[ObligationCreate], Depends(partly(ObligationCreate))],
    session: SessionDep,
    request: Request,
    response: Response,
) -> ObligationPublic:
    policy.authorize(principal, CREATE)
    contract = await service.contract_in_reach(session, principal, contract_id, for_update=True)
    obligation = await service.create(session, contract, body.readable(), refused=body.errors)
    response.headers["Location"] = location(request, "read_obligation", obligation_id=obligation.id)
    return _respond(response, obligation)


@router.get(
    "/obligations/{obligation_id}",
    summary="Lire une obligation",
    description="La méthode de calcul et ses paramètres, les heures dues qui en sont déduites, "
    "les publics éligibles, les modalités admises, les règles de comptage (formation, plafond "
    "CDI), la pénalité, la famille ANRU et l'échéancier des relevés d'heures. Lisible par "
    "quiconque voit le marché (administrateur, facilitateurs du territoire, acheteur, "
    "titulaires) et par les entreprises attributaires d'un de ses lots ; 404 pour les autres. "
    "Rend un `ETag`.",
)
async def read_obligation(
    obligation_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    if_none_match: IfNoneMatchDep,
    response: Response,
) -> ObligationPublic:
    obligation = ObligationPublic.of(await policy.get(session, principal, obligation_id))
    return if_none_match.answer(response, obligation)


@router.patch(
    "/obligations/{obligation_id}",
    openapi_extra=body_schema(ObligationUpdate),
    summary="Modifier une obligation",
    description="Seuls les champs envoyés changent ; les heures dues sont recalculées. Par "
    "l'administrateur ou un facilitateur du territoire ; 409 pour un marché clos. "
    "Exige `If-Match`.",
)
async def update_obligation(
    obligation_id: uuid.UUID,
    principal: CurrentPrincipal,
    body: Annotated[Partly[ObligationUpdate], Depends(partly(ObligationUpdate))],
    if_match: IfMatchDep,
    session: SessionDep,
    response: Response,
) -> ObligationPublic:
    obligation = await policy.get(session, principal, obligation_id, action=UPDATE, for_update=True)
    if_match.check(etag_of(ObligationPublic.of(obligation)))
    await service.update(session, obligation, body.readable(), refused=body.errors)
    return _respond(response, obligation)


@router.delete(
    "/obligations/{obligation_id}",
    status_code=HTTP_204_NO_CONTENT,
    summary="Supprimer une obligation (et ses déclarations)",
    description="Exige `If-Match`.",
)
async def delete_obligation(
    obligation_id: uuid.UUID,
    principal: CurrentPrincipal,
    if_match: IfMatchDep,
    session: SessionDep,
) -> Response:
    obligation = await policy.get(session, principal, obligation_id, action=UPDATE, for_update=True)
    if_match.check(etag_of(ObligationPublic.of(obligation)))
    await service.delete(session, obligation)
    return Response(status_code=HTTP_204_NO_CONTENT)


@router.get(
    "/obligations/{obligation_id}/declarations",
    summary="Lister les déclarations d'une obligation (heures travaillées, montants facturés)",
    description="Par période, de la plus ancienne à la plus récente : les heures travaillées "
    "sur l'opération par tous et le montant facturé, d'où se déduisent les heures dues des "
    "méthodes `share_of_hours_worked` et `per_invoiced_tranche` et la part ANRU. Lisible par "
    "quiconque lit l'obligation.",
)
async def list_declarations(
    obligation_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    pagination: PaginationDep,
) -> Page[DeclarationPublic]:
    obligation = await policy.get(session, principal, obligation_id)
    rows, total = await paginate(session, service.declarations_of(obligation.id), pagination)
    return Page[DeclarationPublic].build([DeclarationPublic.of(r) for r in rows], total, pagination)


@router.post(
    "/obligations/{obligation_id}/declarations",
    openapi_extra=body_schema(DeclarationIn),
    summary="Déclarer les heures travaillées et le montant facturé d'une période",
    description="Une période déjà déclarée (même `period_start`) est remplacée ; les heures "
    "dues sont recalculées. Par l'administrateur ou un facilitateur du territoire.",
)
async def declare(
    obligation_id: uuid.UUID,
    principal: CurrentPrincipal,
    body: Annotated[Partly[DeclarationIn], Depends(partly(DeclarationIn))],
    session: SessionDep,
) -> DeclarationPublic:
    obligation = await policy.get(session, principal, obligation_id, action=UPDATE, for_update=True)
    declaration = await service.declare(
        session, obligation, body.readable(), principal, now(), refused=body.errors
    )
    return DeclarationPublic.of(declaration)
