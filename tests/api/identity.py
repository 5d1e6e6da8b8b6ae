"""Helpers shared by the identity tests (organisations, users, API keys, audit)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from services.core.demo.territory import demo_siret
from services.core.models.api_key import ApiKey
from services.core.models.audit import AuditEntry
from services.core.models.organisation import Organisation, OrganisationKind
from services.core.models.user import Role, User
from services.core.security.tokens import new_api_key
from services.core.settings import Settings
from tests.factories import bearer, make_organisation, make_user

_sirens = itertools.count(10_000_001)


def valid_siret() -> str:
    """A SIRET that passes the Luhn checks (of the SIREN and of the whole number)."""
    return demo_siret(str(next(_sirens)), "0001")


@dataclass(frozen=True)
class Account:
    """A user's ids and credentials, read once: rows expire when a request rolls back."""

    id: str
    organisation_id: str
    email: str
    headers: dict[str, str]


async def account(
    session: AsyncSession, organisation: Organisation, role: Role, settings: Settings, **kw: Any
) -> Account:
    user = await make_user(session, organisation, role, **kw)
    return Account(str(user.id), str(organisation.id), user.email, bearer(user, settings))


@dataclass(frozen=True)
class Network:
    """A facilitation structure with one organisation below it, one elsewhere, and an admin.

    ``facilitation`` ─┬─ ``member`` (prescribers ``a1``, ``a2``; reception ``desk``)
    ``elsewhere`` (prescriber ``b1``)       ``operator`` (the admin)
    """

    facilitation_id: str
    member_id: str
    elsewhere_id: str
    admin: Account
    facilitator: Account
    a1: Account
    a2: Account
    desk: Account
    b1: Account


async def make_network(session: AsyncSession, settings: Settings) -> Network:
    facilitation = await make_organisation(session, kind=OrganisationKind.FACILITATION)
    member = await make_organisation(
        session, kind=OrganisationKind.MISSION_LOCALE, parent=facilitation
    )
    elsewhere = await make_organisation(session, kind=OrganisationKind.FRANCE_TRAVAIL)
    operator = await make_organisation(session, kind=OrganisationKind.OTHER)
    return Network(
        facilitation_id=str(facilitation.id),
        member_id=str(member.id),
        elsewhere_id=str(elsewhere.id),
        admin=await account(session, operator, Role.ADMIN, settings),
        facilitator=await account(session, facilitation, Role.FACILITATOR, settings),
        a1=await account(session, member, Role.PRESCRIBER, settings),
        a2=await account(session, member, Role.PRESCRIBER, settings),
        desk=await account(session, member, Role.RECEPTION, settings),
        b1=await account(session, elsewhere, Role.PRESCRIBER, settings),
    )


async def make_api_key(
    session: AsyncSession,
    organisation_id: Any,
    role: Role,
    scopes: Iterable[str],
) -> str:
    secret = new_api_key()
    session.add(
        ApiKey(
            organisation_id=organisation_id,
            name="SIRH de test",
            role=role,
            prefix=secret.prefix,
            key_hash=secret.key_hash,
            scopes=list(scopes),
        )
    )
    await session.flush()
    return secret.key


async def audit_entries(session: AsyncSession, **equal: Any) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(col(AuditEntry.occurred_at), col(AuditEntry.id))
    for name, value in equal.items():
        query = query.where(getattr(AuditEntry, name) == value)
    return list(await session.scalars(query))


async def count(session: AsyncSession, model: type[SQLModel]) -> int:
    total: int = (await session.execute(select(func.count()).select_from(model))).scalar_one()
    return total


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(col(User.email) == email))
