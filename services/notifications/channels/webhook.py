"""Standard Webhooks: signatures and the signed POST (secrets: :mod:`services.core.webhooks`)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network

import httpx

from services.core.egress import (
    NameNotResolved,
    RefusedAddress,
    Resolver,
    normalise_host,
    resolve_checked,
)
from services.core.models.notification import WebhookDeliveryError
from services.core.webhooks import SECRET_PREFIX


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body`` (the exact bytes sent)."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """What a subscriber does (used by the tests' receiver)."""
    expected = sign(secret, headers["webhook-id"], int(headers["webhook-timestamp"]), body)
    return any(
        hmac.compare_digest(expected, candidate)
        for candidate in headers["webhook-signature"].split()
    )


@dataclass(frozen=True)
class PostResult:
    ok: bool
    status_code: int | None
    error: WebhookDeliveryError | None


@dataclass
class PinnedClients:
    """HTTP clients of one sweep, one per (origin, checked address): a connection kept alive
    for one name is never reused for another name on the same address, whose certificate was
    not checked on it. No proxy from the environment: the request goes to the checked address."""

    timeout: float
    # Certificates trusted: the system's, unless given (tests trust their own authority).
    tls: ssl.SSLContext | None = None
    _clients: dict[tuple[str, str, int, str], httpx.AsyncClient] = field(default_factory=dict)

    def get(self, scheme: str, host: str, port: int, address: str) -> httpx.AsyncClient:
        key = (scheme, host, port, address)
        if key not in self._clients:
            self._clients[key] = httpx.AsyncClient(
                timeout=self.timeout,
                follow_redirects=False,
                trust_env=False,
                verify=self.tls if self.tls is not None else True,
            )
        return self._clients[key]

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()


def _failure(exc: httpx.HTTPError) -> WebhookDeliveryError:
    """The kind of a transport failure. A refused port and a filtered one (a connect timeout)
    are the same kind: the log must not map the network behind an address."""
    if isinstance(exc, httpx.ConnectTimeout):
        return WebhookDeliveryError.CONNECTION_FAILED
    if isinstance(exc, httpx.TimeoutException):
        return WebhookDeliveryError.TIMEOUT
    if isinstance(exc, httpx.ConnectError):
        cause: BaseException | None = exc
        while cause is not None:
            if isinstance(cause, ssl.SSLError):
                return WebhookDeliveryError.TLS_ERROR
            cause = cause.__cause__ or cause.__context__
        return WebhookDeliveryError.CONNECTION_FAILED
    return WebhookDeliveryError.REQUEST_FAILED


async def post(
    clients: PinnedClients,
    url: str,
    *,
    secret: str,
    message_id: str,
    timestamp: int,
    body: bytes,
    networks: Sequence[IPv4Network | IPv6Network],
    resolver: Resolver,
) -> PostResult:
    """Resolve the URL's host, refuse an internal address before connecting (decision 0042),
    then POST to the address that was checked, the name kept for ``Host`` and TLS (SNI and
    certificate)."""
    target = httpx.URL(url)
    host = target.raw_host.decode("ascii")  # IDNA-encoded: what DNS, Host and SNI carry
    scheme = target.scheme
    port = target.port or (443 if scheme == "https" else 80)
    try:
        async with asyncio.timeout(clients.timeout):
            address = await resolve_checked(host, port, networks, resolver)
    except RefusedAddress:
        return PostResult(False, None, WebhookDeliveryError.REFUSED_ADDRESS)
    except NameNotResolved:
        return PostResult(False, None, WebhookDeliveryError.NAME_NOT_RESOLVED)
    except TimeoutError:
        return PostResult(False, None, WebhookDeliveryError.TIMEOUT)
    name = normalise_host(host)
    headers = {
        "host": target.netloc.decode("ascii"),
        "content-type": "application/json",
        "user-agent": "Maillon-Webhooks/1",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id, timestamp, body),
    }
    client = clients.get(scheme, name, port, str(address))
    try:
        response = await client.post(
            target.copy_with(host=str(address)),
            content=body,
            headers=headers,
            extensions={"sni_hostname": name} if scheme == "https" else {},
        )
    except httpx.HTTPError as exc:
        return PostResult(False, None, _failure(exc))
    ok = 200 <= response.status_code < 300
    return PostResult(ok, response.status_code, None if ok else WebhookDeliveryError.HTTP_STATUS)
