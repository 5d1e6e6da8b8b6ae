"""Access tokens (short-lived JWT), refresh tokens and API keys (random secrets, stored hashed)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from services.core.clock import now
from services.core.settings import Settings

ISSUER = "maillon"
AUDIENCE = "maillon-api"
ALGORITHM = "HS256"
API_KEY_PREFIX = "mk_"


class InvalidToken(Exception):
    """The token is malformed, expired, or not signed by this instance."""


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    expires_at: datetime
    token_id: str  # ``jti``: what sign-out revokes


def create_access_token(user_id: uuid.UUID, settings: Settings) -> tuple[str, datetime]:
    issued = now()
    expires = issued + timedelta(minutes=settings.access_token_minutes)
    claims = {
        "sub": str(user_id),
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": int(issued.timestamp()),
        "exp": int(expires.timestamp()),
        "jti": uuid.uuid4().hex,
    }
    token = jwt.encode(claims, settings.secret_key.get_secret_value(), algorithm=ALGORITHM)
    return token, expires


def decode_access_token(token: str, settings: Settings) -> AccessClaims:
    try:
        claims = jwt.decode(
            token,
            settings.secret_key.get_secret_value(),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["sub", "exp", "iat", "jti"], "verify_exp": False},
        )
        expires = int(claims["exp"])
        user_id = uuid.UUID(str(claims["sub"]))
        token_id = str(claims["jti"])
    except (jwt.PyJWTError, ValueError, KeyError) as exc:
        raise InvalidToken from exc
    # Expiry against the injectable clock, not the wall clock, so tests can move time.
    if expires <= now().timestamp():
        raise InvalidToken
    return AccessClaims(
        user_id=user_id,
        expires_at=datetime.fromtimestamp(expires, now().tzinfo),
        token_id=token_id,
    )


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """SHA-256 of a high-entropy secret (refresh token, API key): enough, and indexable."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class NewApiKey:
    key: str  # shown once
    prefix: str
    key_hash: str


def new_api_key() -> NewApiKey:
    prefix = API_KEY_PREFIX + secrets.token_hex(4)
    key = f"{prefix}_{secrets.token_urlsafe(32)}"
    return NewApiKey(key=key, prefix=prefix, key_hash=digest(key))


def looks_like_api_key(value: str) -> bool:
    return value.startswith(API_KEY_PREFIX) and value.count("_") >= 2
