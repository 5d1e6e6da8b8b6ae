"""Signing in: password check, token issue, refresh token rotation and revocation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core import audit
from services.core.clock import now
from services.core.contact import email_key
from services.core.models.user import RefreshToken, User
from services.core.security.passwords import (
    hash_password_off_loop,
    needs_rehash,
    verify_password_off_loop,
)
from services.core.security.principal import principal_for_user
from services.core.security.tokens import create_access_token, digest, new_secret
from services.core.settings import Settings


class InvalidCredentials(Exception):
    pass


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    expires_in: int
    refresh_token: str


def digest_email(email: str) -> str:
    return digest(email_key(email))


async def authenticate(session: AsyncSession, email: str, password: str) -> User:
    user = await session.scalar(select(User).where(col(User.email) == email_key(email)))
    # verify_password runs even for an unknown e-mail: same cost, no account enumeration.
    valid = await verify_password_off_loop(user.password_hash if user else None, password)
    if user is None or not valid or not user.is_active:
        raise InvalidCredentials
    if needs_rehash(user.password_hash):
        user.password_hash = await hash_password_off_loop(password)
    user.last_login_at = now()
    return user


async def issue_tokens(
    session: AsyncSession,
    user: User,
    settings: Settings,
    *,
    family_id: uuid.UUID | None = None,
    request_id: str | None = None,
) -> IssuedTokens:
    access, expires = create_access_token(user.id, settings)
    refresh = new_secret()
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id or uuid.uuid4(),
            token_hash=digest(refresh),
            expires_at=now() + timedelta(days=settings.refresh_token_days),
        )
    )
    if family_id is None:  # a sign-in, not a rotation
        audit.record(
            session,
            await principal_for_user(session, user),
            "login",
            "user",
            user.id,
            request_id=request_id,
        )
    return IssuedTokens(
        access_token=access,
        expires_in=int((expires - now()).total_seconds()),
        refresh_token=refresh,
    )


async def rotate(
    session: AsyncSession, refresh_token: str, settings: Settings
) -> IssuedTokens | None:
    """Exchange a refresh token for new tokens; ``None`` when refused.

    A token used twice revokes its whole family: that revocation must be committed, so refusal
    is a return value here, not an exception that would roll it back.
    """
    row = await session.scalar(
        select(RefreshToken)
        .where(col(RefreshToken.token_hash) == digest(refresh_token))
        .with_for_update()
    )
    moment = now()
    if row is None or row.revoked_at is not None or row.expires_at <= moment:
        return None
    if row.used_at is not None:
        # Replay of a rotated token: someone else holds the family. Cut it off for everyone.
        await revoke_family(session, row.family_id)
        return None
    user = await session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    row.used_at = moment
    return await issue_tokens(session, user, settings, family_id=row.family_id)


async def revoke_family(session: AsyncSession, family_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(col(RefreshToken.family_id) == family_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=now())
    )


async def logout(session: AsyncSession, refresh_token: str) -> bool:
    row = await session.scalar(
        select(RefreshToken).where(col(RefreshToken.token_hash) == digest(refresh_token))
    )
    if row is None:
        return False
    await revoke_family(session, row.family_id)
    return True
