"""The credentials of a request checked before its body is read (decision 0054).

FastAPI reads and parses a body before it solves a route's dependencies, authentication
included: without this gate anyone could make the API read (and hold) a large body. The gate
runs in the body-limit middleware, for routes that need a caller, and refuses no credential, an
access token that is not valid (signature, expiry, sign-out), and an API key that is unknown,
revoked or expired: a key this process does not know already (decision 0029) is looked up, in a
short read of its own, before one byte of the body is read. The route loads the caller again,
in its own transaction, as for a request without a body.
"""

from __future__ import annotations

from fastapi.routing import APIRoute
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.types import Scope

from services.api.auth.credentials import API_KEY_HEADER, bearer_of
from services.api.auth.dependencies import (
    UNKNOWN_API_KEY,
    NotAuthenticated,
    access_claims,
    cached_api_key,
    get_principal,
    usable_api_key,
)
from services.api.deps import session_before_the_request
from services.core.security.tokens import digest, looks_like_api_key


def requires_caller(route: APIRoute) -> bool:
    """Whether the route authenticates its caller (depends on ``get_principal``)."""
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        if dependant.call is get_principal:
            return True
        pending.extend(dependant.dependencies)
    return False


async def refusal(app: Starlette, scope: Scope, headers: Headers) -> NotAuthenticated | None:
    """Why the request's credentials are refused, or ``None`` when they are good."""
    api_key = headers.get(API_KEY_HEADER.lower())
    bearer = bearer_of(headers)
    if api_key:
        return await _api_key_refusal(app, scope, api_key)
    if bearer is None:
        return NotAuthenticated()
    if looks_like_api_key(bearer):
        return await _api_key_refusal(app, scope, bearer)
    try:
        await access_claims(app, bearer)
    except NotAuthenticated as exc:
        return exc
    return None


async def _api_key_refusal(app: Starlette, scope: Scope, key: str) -> NotAuthenticated | None:
    if not looks_like_api_key(key):
        return NotAuthenticated(UNKNOWN_API_KEY)
    key_hash = digest(key)
    if cached_api_key(app, key_hash) is not None:
        return None
    async with session_before_the_request(app, scope) as session:
        known = await usable_api_key(session, key_hash)
    return None if known is not None else NotAuthenticated(UNKNOWN_API_KEY)
