"""Who is calling: ``CurrentPrincipal`` authenticates every protected route.

Credentials: ``Authorization: Bearer <access token>`` (users), ``Authorization: Bearer <API key>``
or ``X-API-Key: <API key>`` (HR systems). Anything else, or nothing, is a 401.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from starlette.applications import Starlette

from services.api.auth.cache import principals, verified_tokens
from services.api.auth.credentials import API_KEY_HEADER
from services.api.auth.revocation import is_revoked
from services.api.deps import SessionDep, resources_of, settings_of
from services.api.errors import Unauthorized
from services.core.clock import now
from services.core.models.api_key import ApiKey
from services.core.models.user import User
from services.core.security.principal import Principal, principal_for_user, territory_of
from services.core.security.tokens import (
    AccessClaims,
    InvalidToken,
    decode_access_token,
    digest,
    looks_like_api_key,
)

TOKEN_URL = "/v1/auth/token"  # noqa: S105  (a path, not a secret)
_INVALID_TOKEN = "Jeton d'accès invalide ou expiré."  # noqa: S105  (a message)
UNKNOWN_API_KEY = "Clé d'API inconnue, expirée ou révoquée."

# Declared for the OpenAPI document (the "Authorize" button); they do not reject by themselves.
bearer_scheme = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)
_api_key = APIKeyHeader(name=API_KEY_HEADER, auto_error=False)


class NotAuthenticated(Unauthorized):
    code = "unauthorized"
    default_detail = (
        "Identifiants absents ou invalides : connectez-vous ou fournissez une clé d'API."
    )

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="maillon"'})


async def usable_api_key(session: AsyncSession, key_hash: str) -> ApiKey | None:
    """The API key of this digest, unless it is unknown, revoked or expired."""
    row = await session.scalar(select(ApiKey).where(col(ApiKey.key_hash) == key_hash))
    if (
        row is None
        or row.revoked_at is not None
        or (row.expires_at is not None and row.expires_at <= now())
    ):
        return None
    return row


def cached_api_key(app: Starlette, key_hash: str) -> Principal | None:
    return principals.get(("api_key", key_hash), settings_of(app).auth_cache_seconds)


async def _from_api_key(request: Request, session: AsyncSession, key: str) -> Principal:
    key_hash = digest(key)
    ttl = settings_of(request.app).auth_cache_seconds
    cached = cached_api_key(request.app, key_hash)
    if cached is not None:
        return cached
    row = await usable_api_key(session, key_hash)
    moment = now()
    if row is None:
        raise NotAuthenticated(UNKNOWN_API_KEY)
    # Last use, to within the cache's few seconds (a Core update: not a change of access).
    await session.execute(
        update(ApiKey).where(col(ApiKey.id) == row.id).values(last_used_at=moment)
    )
    principal = Principal(
        kind="api_key",
        id=row.id,
        organisation_id=row.organisation_id,
        role=row.role,
        scopes=frozenset(row.scopes),
        territory=await territory_of(session, row.organisation_id, row.role),
    )
    # Expiry still applies between two lookups: never kept past it.
    if row.expires_at is None or (row.expires_at - moment).total_seconds() > ttl:
        principals.put(("api_key", key_hash), principal, ttl)
    return principal


async def access_claims(app: Starlette, token: str) -> AccessClaims:
    """The claims of a valid access token: signed here, not expired, not revoked at sign-out.

    Signature and revocation are checked once per ``auth_cache_seconds`` per token (decision
    0029); the expiry at every use."""
    settings = settings_of(app)
    ttl = settings.auth_cache_seconds
    key = digest(token)
    claims = verified_tokens.get(key, ttl)
    if claims is None:
        try:
            claims = decode_access_token(token, settings)
        except InvalidToken:
            raise NotAuthenticated(_INVALID_TOKEN) from None
        if await is_revoked(resources_of(app).redis, claims):
            raise NotAuthenticated("Jeton d'accès révoqué à la déconnexion : reconnectez-vous.")
        verified_tokens.put(key, claims, ttl)
    elif claims.expires_at <= now():
        raise NotAuthenticated(_INVALID_TOKEN)
    return claims


async def _from_access_token(request: Request, session: AsyncSession, token: str) -> Principal:
    settings = settings_of(request.app)
    claims = await access_claims(request.app, token)
    cached = principals.get(("user", str(claims.user_id)), settings.auth_cache_seconds)
    if cached is not None:
        return cached
    user = await session.get(User, claims.user_id)
    if user is None or not user.is_active:
        raise NotAuthenticated("Compte inconnu ou désactivé.")
    principal = await principal_for_user(session, user)
    principals.put(("user", str(claims.user_id)), principal, settings.auth_cache_seconds)
    return principal


async def get_principal(
    request: Request,
    session: SessionDep,
    bearer: Annotated[str | None, Depends(bearer_scheme)],
    api_key: Annotated[str | None, Depends(_api_key)],
) -> Principal:
    if api_key:
        principal = await _from_api_key(request, session, api_key)
    elif bearer and looks_like_api_key(bearer):
        principal = await _from_api_key(request, session, bearer)
    elif bearer:
        principal = await _from_access_token(request, session, bearer)
    else:
        raise NotAuthenticated()
    request.state.principal = principal.key
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
