"""Requests per client address on the public routes: a Redis counter per address and minute.

The counter is created with its expiry and incremented in one transaction, so a crash between
the two never leaves a counter without expiry. The address is keyed by an HMAC (no address in
Redis), an IPv6 client by its /64 (one host usually holds the whole prefix).
"""

from __future__ import annotations

import hashlib
import hmac
from ipaddress import IPv6Address, ip_address, ip_network
from typing import Annotated

from fastapi import Depends, Request

from services.api.deps import RedisDep, SettingsDep
from services.api.errors import MaillonError

WINDOW_SECONDS = 60
_KEY_PREFIX = "maillon:public-rate:"


class TooManyRequests(MaillonError):
    status = 429
    code = "too-many-requests"
    title = "Trop de requêtes"
    default_detail = "Trop de requêtes depuis votre adresse."

    def __init__(self, limit: int, retry_after: int) -> None:
        super().__init__(
            f"Trop de requêtes depuis votre adresse : au plus {limit} par minute sur les offres "
            f"publiques. Réessayez dans {retry_after} secondes.",
            headers={"Retry-After": str(retry_after)},
        )


def client_group(host: str | None) -> str:
    """The address a client is counted under: itself, or its /64 for IPv6."""
    if host is None:
        return "unknown"
    try:
        address = ip_address(host)
    except ValueError:
        return host
    if isinstance(address, IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ip_network(f"{address}/64", strict=False))
    return str(address)


async def limit_rate(request: Request, redis: RedisDep, settings: SettingsDep) -> None:
    """Count the request; past the limit, 429 with the seconds left in the window."""
    group = client_group(request.client.host if request.client else None)
    digest = hmac.new(
        settings.secret_key.get_secret_value().encode(), group.encode(), hashlib.sha256
    ).hexdigest()[:32]
    key = _KEY_PREFIX + digest
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(key, 0, ex=WINDOW_SECONDS, nx=True)
        pipe.incr(key)
        pipe.ttl(key)
        _, count, ttl = await pipe.execute()
    limit = settings.public_rate_limit_per_minute
    if int(count) > limit:
        raise TooManyRequests(limit, max(int(ttl), 1))


RateLimited = Annotated[None, Depends(limit_rate)]
