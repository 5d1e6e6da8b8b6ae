"""``/v1/offers``: job offers, their publication and closing (decision 0009)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Query, Response
from fastapi.openapi.models import Example
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

CLOSE_EXAMPLES: dict[str, Example] = {
    "motif": {
        "summary": "Postes pourvus par un autre canal",
        "value": {"reason": "filled_elsewhere"},
    },
    "sans-motif": {"summary": "Sans motif", "value": {}},
}


@router.get(
    "",
    summary="Lister les offres",
    description="Les offres que l'appelant voit, de la dernière créée à la première : les offres "
    "publiées (`open`, `filled`) pour tout appelant authentifié ; les brouillons et les offres "
    "closes pour l'administrateur, les facilitateurs dont le territoire compte l'employeur et les "
    "comptes de l'employeur autres que l'accueil. Les filtres se cumulent ; `rome_code` et "
    "`commune_insee` se comparent sans tenir compte de la casse ni des espaces autour.",
)
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


offers.add_read(
    summary="Lire une offre",
    description="Une offre que l'appelant voit (mêmes règles que la liste ; sinon 404) : une "
    "offre publiée, tout appelant authentifié ; un brouillon ou une offre close, l'administrateur, "
    "les facilitateurs du territoire de l'employeur et ses comptes autres que l'accueil. Rend un "
    "`ETag` ; avec `If-None-Match`, 304 quand la copie du client est à jour.",
)
offers.add_create(
    OfferCreate,
    service.create_offer,
    summary="Créer une offre (en brouillon)",
    description="Une nouvelle offre à l'état `draft`, que seuls l'employeur et son territoire "
    "voient avant sa publication (`POST /v1/offers/{offer_id}/publish`). Par l'administrateur, "
    "un facilitateur pour un employeur de son territoire ou un compte `employer` pour sa propre "
    "organisation (403 pour les autres rôles). `employer_id` vaut par défaut "
    "l'organisation de l'appelant et doit être active. Le code ROME, l'appellation (de ce code), "
    "la commune et le marché (que l'appelant voit) sont vérifiés, le lot doit être de ce marché, "
    "les coordonnées en France : toutes les erreurs sont rendues ensemble (422). Un marché clos "
    "refuse l'offre (409 `contract-closed`). Sans `lon`/`lat`, le lieu de travail est le centre "
    "de la commune (`coordinates_source: commune_centroid`) ; sans `sector`, il est déduit du "
    "code ROME. Répond 201 avec `Location` et `ETag`.",
)
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
    description="Une offre `open` ou `filled` passe à `closed` (409 `illegal-transition` "
    "sinon) et n'est plus diffusée. Émet l'événement `offer.closed`. Le corps est facultatif : "
    "sans motif, `close_reason` reste `null`. Par l'administrateur, un facilitateur du "
    "territoire de l'employeur ou un compte `employer` de l'employeur.",
)
async def close_offer(
    offer_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    request_id: RequestIdDep,
    response: Response,
    body: Annotated[OfferClose | None, Body(openapi_examples=CLOSE_EXAMPLES)] = None,
) -> OfferPublic:
    offer = await offers.locked(session, principal, offer_id)
    reason = body.reason if body is not None else None
    await service.close(session, offer, reason, request_id=request_id)
    return offers.respond(response, offer)
