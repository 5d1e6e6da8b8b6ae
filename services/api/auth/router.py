"""``/v1/auth/token`` (OAuth2 password and refresh grants), ``/v1/auth/logout``, ``/v1/me``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from starlette.status import HTTP_204_NO_CONTENT

from services.api.auth import revocation, service, throttle
from services.api.auth.dependencies import (
    CurrentPrincipal,
    NotAuthenticated,
    access_claims,
    bearer_scheme,
)
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
from services.core.security.tokens import looks_like_api_key

router = APIRouter(tags=["authentification"])


class InvalidGrant(Unauthorized):
    code = "invalid-credentials"
    title = "Identifiants refusés"
    default_detail = "Adresse e-mail ou mot de passe incorrect."


class TooManyAttempts(MaillonError):
    status = 429
    code = "too-many-attempts"
    title = "Trop de tentatives"
    default_detail = "Trop de tentatives de connexion."

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Trop de tentatives de connexion : réessayez dans {retry_after} s.",
            headers={"Retry-After": str(retry_after)},
        )


@router.post(
    "/auth/token",
    response_model=TokenResponse,
    summary="Obtenir un jeton d'accès (mot de passe ou jeton de rafraîchissement)",
    description=(
        "Formulaire OAuth2 (`application/x-www-form-urlencoded`). Avec "
        "`grant_type=password`, `username` (l'adresse e-mail) et `password` ; avec "
        "`grant_type=refresh_token`, le `refresh_token` reçu précédemment, qui ne sert "
        "qu'une fois. Rend un jeton d'accès court et un nouveau jeton de "
        "rafraîchissement. Des échecs répétés pour un même compte ou une même adresse "
        "sont freinés (429 avec `Retry-After`)."
    ),
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {
                    "example": {
                        "grant_type": "password",
                        "username": "prescripteur.ft@demo.maillon.fr",
                        "password": "maillon-demo-2026",
                    }
                }
            }
        }
    },
)
async def token(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    redis: RedisDep,
    request_id: RequestIdDep,
    grant_type: Annotated[
        str,
        Form(
            pattern="^(password|refresh_token)$",
            description="`password` (connexion) ou `refresh_token` (nouvelle paire de jetons).",
        ),
    ],
    username: Annotated[
        str | None, Form(max_length=254, description="Adresse e-mail (avec `password`).")
    ] = None,
    password: Annotated[
        str | None, Form(max_length=200, description="Mot de passe (avec `password`).")
    ] = None,
    refresh_token: Annotated[
        str | None,
        Form(max_length=200, description="Jeton de rafraîchissement (avec `refresh_token`)."),
    ] = None,
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
        # Attempts counted before the password is checked, per client address and per account
        # (hashed e-mail: no address in Redis keys); a success forgets them.
        address = throttle.address_key(request.client.host if request.client else "")
        account = throttle.account_key(service.digest_email(username))
        try:
            await throttle.reserve(redis, address, throttle.ADDRESS)
            try:
                await throttle.reserve(redis, account, throttle.ACCOUNT)
            except throttle.Throttled:
                await throttle.give_back(redis, address)
                raise
        except throttle.Throttled as exc:
            raise TooManyAttempts(exc.retry_after) from None
        try:
            user = await service.authenticate(session, username, password)
        except service.InvalidCredentials:
            raise InvalidGrant() from None
        await throttle.forget(redis, account)
        await throttle.give_back(redis, address)
        issued = await service.issue_tokens(session, user, settings, request_id=request_id)
    return TokenResponse(
        access_token=issued.access_token,
        expires_in=issued.expires_in,
        refresh_token=issued.refresh_token,
    )


@router.post(
    "/auth/logout",
    status_code=HTTP_204_NO_CONTENT,
    summary="Se déconnecter : révoquer le jeton de rafraîchissement et le jeton d'accès",
    description="Le jeton de rafraîchissement envoyé est révoqué avec toute sa famille ; le jeton "
    "d'accès présenté dans `Authorization`, s'il y en a un, cesse d'être accepté (dans toute "
    "l'instance au plus tard après `MAILLON_AUTH_CACHE_SECONDS`).",
)
async def logout(
    request: Request,
    body: LogoutRequest,
    session: SessionDep,
    redis: RedisDep,
    bearer: Annotated[str | None, Depends(bearer_scheme)],
) -> Response:
    # Unknown tokens answer the same: nothing to learn from this endpoint.
    await service.logout(session, body.refresh_token)
    if bearer and not looks_like_api_key(bearer):
        try:
            claims = await access_claims(request.app, bearer)
        except NotAuthenticated:
            pass  # already unusable
        else:
            await revocation.revoke(redis, bearer, claims)
    return Response(status_code=HTTP_204_NO_CONTENT)


@router.get(
    "/me",
    summary="Mon compte",
    description=(
        "Le compte de l'appelant : identité, rôle, droits et organisation. Pour une clé "
        "d'API, 404 : une clé n'est pas un compte."
    ),
)
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
