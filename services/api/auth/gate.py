"""The credentials of a request checked before its body is read (decision 0054).

FastAPI reads and parses a body before it solves a route's dependencies, authentication
included: without this gate anyone could make the API read (and hold) a large body. The gate
runs in the body-limit middleware, for routes that need a caller, and refuses what can be refused
without the database: no credential, an access token that is not valid (signature, expiry,
sign-out), something that is not an API key. An API key is looked up by the route (its body still
bounded by the route's limit), unless this process knows it already (decision 0029).
"""

from __future__ import annotations

from fastapi.routing import APIRoute
from starlette.applications import Starlette
from starlette.datastructures import Headers

from services.api.auth.credentials import API_KEY_HEADER, bearer_of
from services.api.auth.dependencies import NotAuthenticated, access_claims, get_principal
from services.core.security.tokens import looks_like_api_key

_UNKNOWN_KEY = "Clé d'API inconnue, expirée ou révoquée."


def requires_caller(route: APIRoute) -> bool:
    """Whether the route authenticates its caller (depends on ``get_principal``)."""
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        if dependant.call is get_principal:
            return True
        pending.extend(dependant.dependencies)
    return False


async def refusal(app: Starlette, headers: Headers) -> NotAuthenticated | None:
    """Why the request's credentials are refused, or ``None`` when they may be good."""
    api_key = headers.get(API_KEY_HEADER.lower())
    bearer = bearer_of(headers)
    if api_key:
        return None if looks_like_api_key(api_key) else NotAuthenticated(_UNKNOWN_KEY)
    if bearer is None:
        return NotAuthenticated()
    if looks_like_api_key(bearer):
        return None
    try:
        await access_claims(app, bearer)
    except NotAuthenticated as exc:
        return exc
    return None
