"""Access tokens revoked at sign-out (decision 0055).

An access token is a signed JWT: valid until it expires unless something says otherwise. Sign-out
writes the token's ``jti`` to Redis for the rest of its life; a token is checked against that
list when its signature is checked, that is once per ``auth_cache_seconds`` per process (decision
0029). The process that signs out forgets the token at once; the others within that delay.
"""

from __future__ import annotations

import math

import redis.asyncio as aioredis

from services.api.auth.cache import verified_tokens
from services.core.clock import now
from services.core.security.tokens import AccessClaims, digest

_PREFIX = "maillon:revoked-access:"


async def revoke(redis: aioredis.Redis, token: str, claims: AccessClaims) -> None:
    remaining = math.ceil((claims.expires_at - now()).total_seconds())
    if remaining > 0:
        # Kept as long as the token could still be used, never longer.
        await redis.set(_PREFIX + claims.token_id, b"1", ex=remaining)
    verified_tokens.discard(digest(token))


async def is_revoked(redis: aioredis.Redis, claims: AccessClaims) -> bool:
    return bool(await redis.exists(_PREFIX + claims.token_id))
