"""``/v1/api-keys``: keys for external HR systems."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlmodel import col
from starlette.status import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from services.api.access import CREATE, DELETE
from services.api.api_keys import service
from services.api.api_keys.policy import policy
from services.api.api_keys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic
from services.api.auth.dependencies import CurrentPrincipal
from services.api.deps import RequestIdDep, SessionDep
from services.api.locations import location
from services.api.pagination import Page, PaginationDep, paginate
from services.core.models.api_key import ApiKey

router = APIRouter(prefix="/api-keys", tags=["clés d'API"])


@router.get(
    "",
    summary="Lister les clés d'API",
    description=(
        "Les clés de l'instance pour l'administrateur, celles de son organisation pour un"
        " facilitateur ; les autres rôles n'en gèrent pas (403)."
    ),
)
async def list_api_keys(
    principal: CurrentPrincipal,
    session: SessionDep,
    pagination: PaginationDep,
    revoked: Annotated[bool | None, Query(description="Clés révoquées ou non.")] = None,
) -> Page[ApiKeyPublic]:
    query = policy.query(principal)
    if revoked is not None:
        revoked_at = col(ApiKey.revoked_at)
        query = query.where(revoked_at.is_not(None) if revoked else revoked_at.is_(None))
    query = query.order_by(col(ApiKey.created_at).desc(), col(ApiKey.id).desc())
    rows, total = await paginate(session, query, pagination)
    return Page[ApiKeyPublic].build([ApiKeyPublic.of(row) for row in rows], total, pagination)


@router.get(
    "/{api_key_id}",
    summary="Lire une clé d'API (sans la clé elle-même)",
    description=(
        "Une clé par son identifiant : son nom, son rôle, ses portées et son début "
        "(`prefix`), jamais la clé elle-même."
    ),
)
async def read_api_key(
    api_key_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> ApiKeyPublic:
    return ApiKeyPublic.of(await policy.get(session, principal, api_key_id))


@router.post(
    "",
    status_code=HTTP_201_CREATED,
    summary="Créer une clé d'API",
    description="La réponse contient la clé complète (`key`), une seule fois.",
)
async def create_api_key(
    body: ApiKeyCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
    request_id: RequestIdDep,
    request: Request,
    response: Response,
) -> ApiKeyCreated:
    policy.authorize(principal, CREATE)
    key, secret = await service.create_api_key(session, body, principal, request_id=request_id)
    response.headers["Location"] = location(request, "read_api_key", api_key_id=key.id)
    # The secret must not be replayed from a cache either.
    response.headers["Cache-Control"] = "no-store"
    return ApiKeyCreated(**ApiKeyPublic.of(key).model_dump(), key=secret)


@router.delete(
    "/{api_key_id}",
    status_code=HTTP_204_NO_CONTENT,
    summary="Révoquer une clé d'API",
    description=(
        "Révoque la clé : elle est refusée dès la requête suivante. Une clé déjà révoquée le reste."
    ),
)
async def revoke_api_key(
    api_key_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    request_id: RequestIdDep,
) -> Response:
    key = await policy.get(session, principal, api_key_id, action=DELETE, for_update=True)
    service.revoke_api_key(session, key, principal, request_id=request_id)
    return Response(status_code=HTTP_204_NO_CONTENT)
