"""``/v1/offers``: job offers, their publication and closing (decision 0009)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Query, Response
from starlette.status import HTTP_204_NO_CONTENT

from services.api.auth.dependencies import CurrentPrincipal
from services.api.conditional import IfMatchDep
from services.api.deps import RequestIdDep, SessionDep
from services.api.offers import service
from services.api.offers.policy import policy
from services.api.offers.schemas import (
    CommuneInsee,
    OfferClose,
    OfferCreate,
    OfferPublic,
    OfferUpdate,
    RomeCode,
)
from services.api.pagination import Page, PaginationDep, paginate
from services.api.resources import Resource
from services.core.models.offer import OfferStatus
from services.core.referentials.sectors import SectorCode

router = APIRouter(prefix="/offers", tags=["offres"])
offers = Resource(router, policy, OfferPublic, OfferPublic.of, name="offer")


@router.get("", summary="Lister les offres")
async def list_offers(
    principal: CurrentPrincipal,
    session: SessionDep,
    pagination: PaginationDep,
    status: Annotated[OfferStatus | None, Query(description="État de l'offre.")] = None,
    sector: Annotated[SectorCode | None, Query(description="Secteur de la borne.")] = None,
    rome_code: Annotated[RomeCode | None, Query()] = None,
    contract_id: Annotated[uuid.UUID | None, Query(description="Marché d'origine.")] = None,
    employer_id: Annotated[uuid.UUID | None, Query(description="Employeur.")] = None,
    commune_insee: Annotated[CommuneInsee | None, Query()] = None,
) -> Page[OfferPublic]:
    query = service.search(
        policy.query(principal),
        status=status,
        sector=sector,
        rome_code=rome_code.strip().upper() if rome_code else None,
        contract_id=contract_id,
        employer_id=employer_id,
        commune_insee=commune_insee.strip().upper() if commune_insee else None,
    )
    rows, total = await paginate(session, query, pagination)
    return Page[OfferPublic].build([OfferPublic.of(row) for row in rows], total, pagination)


offers.add_read(summary="Lire une offre")
offers.add_create(OfferCreate, service.create_offer, summary="Créer une offre (en brouillon)")
offers.add_update(
    OfferUpdate,
    service.update_offer,
    summary="Modifier une offre",
    description="Seuls les champs envoyés changent. Exige `If-Match`. La modification d'une "
    "offre publiée émet l'événement `offer.updated` ; une offre close ne se modifie plus.",
)


@router.delete(
    "/{offer_id}",
    status_code=HTTP_204_NO_CONTENT,
    summary="Supprimer une offre en brouillon",
    description="Seule une offre jamais publiée (brouillon) se supprime ; une offre publiée se "
    "clôt (409 sinon). Exige `If-Match`.",
    responses={409: {"description": "L'offre n'est pas un brouillon."}},
)
async def delete_offer(
    offer_id: uuid.UUID,
    principal: CurrentPrincipal,
    if_match: IfMatchDep,
    session: SessionDep,
) -> Response:
    offer = await offers.locked(session, principal, offer_id, if_match)
    await service.delete_draft(session, offer)
    return Response(status_code=HTTP_204_NO_CONTENT)


@router.post(
    "/{offer_id}/publish",
    summary="Publier une offre (brouillon → ouverte)",
    description="Émet l'événement `offer.published`. L'offre doit être complète (type de "
    "contrat, heures hebdomadaires, date de début, lieu de travail) et son marché, s'il y en a "
    "un, en cours.",
)
async def publish_offer(
    offer_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    request_id: RequestIdDep,
    response: Response,
) -> OfferPublic:
    offer = await offers.locked(session, principal, offer_id)
    await service.publish(session, offer, request_id=request_id)
    return offers.respond(response, offer)


@router.post(
    "/{offer_id}/close",
    summary="Clore une offre (ouverte ou pourvue → close)",
    description="Émet l'événement `offer.closed`. Le motif est facultatif.",
)
async def close_offer(
    offer_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    request_id: RequestIdDep,
    response: Response,
    body: Annotated[OfferClose | None, Body()] = None,
) -> OfferPublic:
    offer = await offers.locked(session, principal, offer_id)
    reason = body.reason if body is not None else None
    await service.close(session, offer, reason, request_id=request_id)
    return offers.respond(response, offer)
