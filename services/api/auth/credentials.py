"""Reading credentials from headers, without the database (for middlewares)."""

from __future__ import annotations

from starlette.datastructures import Headers

from services.core.security.tokens import (
    InvalidToken,
    decode_access_token,
    digest,
    looks_like_api_key,
)
from services.core.settings import Settings

API_KEY_HEADER = "X-API-Key"
ANONYMOUS = "anonymous"


def bearer_of(headers: Headers) -> str | None:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def caller_key(headers: Headers, settings: Settings) -> str:
    """``user:<id>`` for a valid access token, ``api_key:<digest>`` for an API key (checked
    later), ``anonymous`` otherwise."""
    api_key = headers.get(API_KEY_HEADER.lower())
    bearer = bearer_of(headers)
    if api_key or (bearer and looks_like_api_key(bearer)):
        return f"api_key:{digest(api_key or bearer or '')[:32]}"
    if bearer:
        try:
            return f"user:{decode_access_token(bearer, settings).user_id}"
        except InvalidToken:
            return ANONYMOUS
    return ANONYMOUS
