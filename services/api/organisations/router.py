"""``/v1/organisations``: the structures of the network."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.status import HTTP_201_CREATED

from services.api.access import CREATE, UPDATE
from services.api.auth.dependencies import CurrentPrincipal
from services.api.conditional import IfMatchDep, IfNoneMatchDep, etag_of
from services.api.deps import RequestIdDep, SessionDep
from services.api.locations import location
from services.api.organisations import service
from services.api.organisations.policy import policy
from services.api.organisations.schemas import (
    OrganisationCreate,
    OrganisationPublic,
    OrganisationUpdate,
)
from services.api.pagination import Page, PaginationDep, paginate
from services.core.models.organisation import OrganisationKind

router = APIRouter(prefix="/organisations", tags=["organisations"])


def _respond(response: Response, organisation: OrganisationPublic) -> OrganisationPublic:
    response.headers["ETag"] = etag_of(organisation)
    return organisation


@router.get(
    "",
    summary="Lister les organisations",
    description=(
        "Toutes les organisations de l'instance : leur nom et leur SIRET sont publics, "
        "tout appelant authentifié les lit."
    ),
)
async def list_organisations(
    principal: CurrentPrincipal,
    session: SessionDep,
    pagination: PaginationDep,
    kind: Annotated[OrganisationKind | None, Query(description="Type de structure.")] = None,
    q: Annotated[
        str | None,
        Query(min_length=1, max_length=100, description="Nom, sans tenir compte des accents."),
    ] = None,
    parent_id: Annotated[
        uuid.UUID | None, Query(description="Organisations rattachées directement à celle-ci.")
    ] = None,
) -> Page[OrganisationPublic]:
    query = service.search(policy.query(principal), kind=kind, name=q, parent_id=parent_id)
    rows, total = await paginate(session, query, pagination)
    return Page[OrganisationPublic].build(
        [OrganisationPublic.of(row) for row in rows], total, pagination
    )


@router.get(
    "/{organisation_id}",
    summary="Lire une organisation",
    description=("Une organisation par son identifiant."),
)
async def read_organisation(
    organisation_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    if_none_match: IfNoneMatchDep,
    response: Response,
) -> OrganisationPublic:
    organisation = OrganisationPublic.of(await policy.get(session, principal, organisation_id))
    return if_none_match.answer(response, organisation)


@router.post(
    "",
    status_code=HTTP_201_CREATED,
    summary="Créer une organisation",
    description=(
        "Crée une organisation. L'administrateur crée partout ; un facilitateur, dans son"
        " territoire seulement (elle lui est rattachée). Un SIRET déjà enregistré est "
        "refusé (409 `siret-taken`)."
    ),
)
async def create_organisation(
    body: OrganisationCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
    request_id: RequestIdDep,
    request: Request,
    response: Response,
) -> OrganisationPublic:
    policy.authorize(principal, CREATE)
    organisation = await service.create_organisation(
        session, body, principal, request_id=request_id
    )
    response.headers["Location"] = location(
        request, "read_organisation", organisation_id=organisation.id
    )
    return _respond(response, OrganisationPublic.of(organisation))


@router.patch(
    "/{organisation_id}",
    summary="Modifier une organisation",
    description=(
        "Ne change que les champs envoyés (`null` efface le SIRET, l'adresse ou le "
        "rattachement). Exige `If-Match` avec l'ETag lu. Un rattachement qui ferait une "
        "boucle est refusé (409 `organisation-cycle`)."
    ),
)
async def update_organisation(
    organisation_id: uuid.UUID,
    body: OrganisationUpdate,
    principal: CurrentPrincipal,
    if_match: IfMatchDep,
    session: SessionDep,
    request_id: RequestIdDep,
    response: Response,
) -> OrganisationPublic:
    organisation = await policy.get(
        session, principal, organisation_id, action=UPDATE, for_update=True
    )
    if_match.check(etag_of(OrganisationPublic.of(organisation)))
    await service.update_organisation(session, organisation, body, principal, request_id=request_id)
    return _respond(response, OrganisationPublic.of(organisation))
