"""Standard Webhooks: secrets, signatures and the signed POST."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import httpx

SECRET_PREFIX = "whsec_"  # noqa: S105  (a prefix, not a secret)


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


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
    error: str | None


async def post(
    client: httpx.AsyncClient,
    url: str,
    *,
    secret: str,
    message_id: str,
    timestamp: int,
    body: bytes,
) -> PostResult:
    headers = {
        "content-type": "application/json",
        "user-agent": "Maillon-Webhooks/1",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id, timestamp, body),
    }
    try:
        response = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return PostResult(False, None, type(exc).__name__)
    ok = 200 <= response.status_code < 300
    return PostResult(ok, response.status_code, None if ok else f"HTTP {response.status_code}")
