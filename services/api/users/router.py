"""``/v1/users``: accounts. Personal data: each read and list is written to the audit log."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlmodel import col
from starlette.status import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from services.api.access import CREATE, UPDATE
from services.api.auth.dependencies import CurrentPrincipal
from services.api.conditional import IfMatchDep, IfNoneMatchDep, etag_of
from services.api.deps import RequestIdDep, SessionDep
from services.api.locations import location
from services.api.pagination import Page, PaginationDep, paginate
from services.api.users import service
from services.api.users.policy import CHANGE_PASSWORD, policy
from services.api.users.schemas import PasswordChange, UserCreate, UserPublic, UserUpdate
from services.core.models.user import Role, User

router = APIRouter(prefix="/users", tags=["utilisateurs"])


def _respond(response: Response, user: UserPublic) -> UserPublic:
    response.headers["ETag"] = etag_of(user)
    return user


@router.get(
    "",
    summary="Lister les comptes",
    description=(
        "Les comptes que l'appelant peut voir : tous pour l'administrateur, ceux de son "
        "territoire pour un facilitateur, ceux de son organisation pour les autres rôles,"
        " le sien seul pour un agent d'accueil. Chaque lecture est tracée."
    ),
)
async def list_users(
    principal: CurrentPrincipal,
    session: SessionDep,
    request_id: RequestIdDep,
    pagination: PaginationDep,
    organisation_id: Annotated[uuid.UUID | None, Query(description="Organisation.")] = None,
    role: Annotated[Role | None, Query(description="Rôle.")] = None,
    is_active: Annotated[bool | None, Query(description="Comptes actifs ou non.")] = None,
) -> Page[UserPublic]:
    query = policy.query(principal)
    if organisation_id is not None:
        query = query.where(col(User.organisation_id) == organisation_id)
    if role is not None:
        query = query.where(col(User.role) == role)
    if is_active is not None:
        query = query.where(col(User.is_active) == is_active)
    rows, total = await paginate(
        session, query.order_by(col(User.full_name), col(User.id)), pagination
    )
    policy.audit_list(session, principal, rows, request_id=request_id)
    return Page[UserPublic].build([UserPublic.of(row) for row in rows], total, pagination)


@router.get(
    "/{user_id}",
    summary="Lire un compte",
    description=("Un compte visible de l'appelant (sinon 404). La lecture est tracée."),
)
async def read_user(
    user_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    request_id: RequestIdDep,
    if_none_match: IfNoneMatchDep,
    response: Response,
) -> UserPublic:
    user = UserPublic.of(await policy.get(session, principal, user_id, request_id=request_id))
    return if_none_match.answer(response, user)


@router.post(
    "",
    status_code=HTTP_201_CREATED,
    summary="Créer un compte",
    description=(
        "Crée un compte avec son mot de passe initial. L'administrateur crée partout ; un"
        " facilitateur, dans son territoire et jamais un administrateur. Seul "
        "l'administrateur donne le rôle `admin` ou le droit `sensitive_data`. Une adresse"
        " déjà utilisée est refusée (409 `email-taken`)."
    ),
)
async def create_user(
    body: UserCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
    request_id: RequestIdDep,
    request: Request,
    response: Response,
) -> UserPublic:
    policy.authorize(principal, CREATE)
    user = await service.create_user(session, body, principal, request_id=request_id)
    response.headers["Location"] = location(request, "read_user", user_id=user.id)
    return _respond(response, UserPublic.of(user))


@router.patch(
    "/{user_id}",
    summary="Modifier un compte",
    description="Désactiver un compte (`is_active: false`) le déconnecte partout.",
)
async def update_user(
    user_id: uuid.UUID,
    body: UserUpdate,
    principal: CurrentPrincipal,
    if_match: IfMatchDep,
    session: SessionDep,
    request_id: RequestIdDep,
    response: Response,
) -> UserPublic:
    user = await policy.get(session, principal, user_id, action=UPDATE, for_update=True)
    if_match.check(etag_of(UserPublic.of(user)))
    await service.update_user(session, user, body, principal, request_id=request_id)
    return _respond(response, UserPublic.of(user))


@router.post(
    "/{user_id}/password",
    status_code=HTTP_204_NO_CONTENT,
    summary="Changer un mot de passe",
    description="Le titulaire du compte donne son mot de passe actuel ; un administrateur peut "
    "le réinitialiser sans. Toutes les sessions du compte sont fermées.",
)
async def change_password(
    user_id: uuid.UUID,
    body: PasswordChange,
    principal: CurrentPrincipal,
    session: SessionDep,
    request_id: RequestIdDep,
) -> Response:
    user = await policy.get(session, principal, user_id, action=CHANGE_PASSWORD, for_update=True)
    await service.change_password(session, user, body, principal, request_id=request_id)
    return Response(status_code=HTTP_204_NO_CONTENT)
