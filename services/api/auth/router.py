"""``/v1/auth/token`` (OAuth2 password and refresh grants), ``/v1/auth/logout``, ``/v1/me``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from starlette.status import HTTP_204_NO_CONTENT

from services.api.auth import service
from services.api.auth.dependencies import CurrentPrincipal
from services.api.auth.schemas import LogoutRequest, Me, MeOrganisation, TokenResponse
from services.api.deps import RedisDep, RequestIdDep, SessionDep, SettingsDep
from services.api.errors import (
    BadRequest,
    MaillonError,
    NotFound,
    Unauthorized,
    problem_response,
)
from services.core.models.organisation import Organisation
from services.core.models.user import ROLE_LABELS, User

router = APIRouter(tags=["authentification"])

MAX_FAILURES = 10
FAILURE_WINDOW_SECONDS = 15 * 60


class InvalidGrant(Unauthorized):
    code = "invalid-credentials"
    title = "Identifiants refusés"
    default_detail = "Adresse e-mail ou mot de passe incorrect."


class TooManyAttempts(MaillonError):
    status = 429
    code = "too-many-attempts"
    title = "Trop de tentatives"
    default_detail = "Trop de tentatives de connexion pour ce compte. Réessayez dans 15 minutes."

    def __init__(self) -> None:
        super().__init__(headers={"Retry-After": str(FAILURE_WINDOW_SECONDS)})


@router.post(
    "/auth/token",
    response_model=TokenResponse,
    summary="Obtenir un jeton d'accès (mot de passe ou jeton de rafraîchissement)",
)
async def token(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    redis: RedisDep,
    request_id: RequestIdDep,
    grant_type: Annotated[str, Form(pattern="^(password|refresh_token)$")],
    username: Annotated[str | None, Form(max_length=254)] = None,
    password: Annotated[str | None, Form(max_length=200)] = None,
    refresh_token: Annotated[str | None, Form(max_length=200)] = None,
) -> TokenResponse | Response:
    if grant_type == "refresh_token":
        if not refresh_token:
            raise BadRequest("refresh_token est obligatoire pour grant_type=refresh_token.")
        rotated = await service.rotate(session, refresh_token, settings)
        if rotated is None:
            # Returned, not raised: a revocation made on the way must be committed.
            refused = InvalidGrant("Jeton de rafraîchissement invalide, expiré ou révoqué.")
            return problem_response(request, refused)
        issued = rotated
    else:
        if not username or not password:
            raise BadRequest("username et password sont obligatoires pour grant_type=password.")
        # Failures counted per account (hashed e-mail: no address in Redis keys).
        counter = f"maillon:login-failures:{service.digest_email(username)}"
        if int(await redis.get(counter) or 0) >= MAX_FAILURES:
            raise TooManyAttempts()
        try:
            user = await service.authenticate(session, username, password)
        except service.InvalidCredentials:
            failures = await redis.incr(counter)
            if failures == 1:
                await redis.expire(counter, FAILURE_WINDOW_SECONDS)
            raise InvalidGrant() from None
        await redis.delete(counter)
        issued = await service.issue_tokens(session, user, settings, request_id=request_id)
    return TokenResponse(
        access_token=issued.access_token,
        expires_in=issued.expires_in,
        refresh_token=issued.refresh_token,
    )


@router.post(
    "/auth/logout", status_code=HTTP_204_NO_CONTENT, summary="Révoquer un jeton de rafraîchissement"
)
async def logout(body: LogoutRequest, session: SessionDep) -> Response:
    # Unknown tokens answer the same: nothing to learn from this endpoint.
    await service.logout(session, body.refresh_token)
    return Response(status_code=HTTP_204_NO_CONTENT)


@router.get("/me", summary="Mon compte")
async def me(principal: CurrentPrincipal, session: SessionDep) -> Me:
    if principal.kind != "user":
        raise NotFound("Une clé d'API n'a pas de compte utilisateur.")
    user = await session.get(User, principal.id)
    organisation = await session.get(Organisation, principal.organisation_id)
    if user is None or organisation is None:
        raise NotFound()
    return Me(
        id=user.id,
        email=user.email,
        full_name=user.full_name,
        role=user.role,
        role_label=ROLE_LABELS[user.role],
        is_manager=user.is_manager,
        permissions=sorted(principal.permissions),
        organisation=MeOrganisation(
            id=organisation.id, name=organisation.name, kind=organisation.kind
        ),
        territory_size=len(principal.territory),
    )
