"""Small async factories: real rows in the test's transaction."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from services.core.models.organisation import Organisation, OrganisationKind
from services.core.models.user import Permission, Role, User
from services.core.security.passwords import hash_password
from services.core.security.tokens import create_access_token
from services.core.settings import Settings

PASSWORD = "un mot de passe solide"
# argon2 is slow on purpose: hash the shared test password once.
_PASSWORD_HASH = hash_password(PASSWORD)
_numbers = itertools.count(1)


async def make_organisation(
    session: AsyncSession,
    *,
    kind: OrganisationKind = OrganisationKind.EMPLOYER,
    name: str | None = None,
    parent: Organisation | None = None,
    commune_insee: str = "93066",
    siret: str | None = None,
) -> Organisation:
    organisation = Organisation(
        name=name or f"Structure {next(_numbers)}",
        kind=kind,
        parent_id=parent.id if parent else None,
        commune_insee=commune_insee,
        siret=siret,
    )
    session.add(organisation)
    await session.flush()
    return organisation


async def make_user(
    session: AsyncSession,
    organisation: Organisation,
    role: Role = Role.PRESCRIBER,
    *,
    email: str | None = None,
    is_manager: bool = False,
    permissions: Iterable[Permission] = (),
    is_active: bool = True,
) -> User:
    user = User(
        email=email or f"agent{next(_numbers)}@exemple.fr",
        full_name=f"Agent {next(_numbers)}",
        password_hash=_PASSWORD_HASH,
        organisation_id=organisation.id,
        role=role,
        is_manager=is_manager,
        permissions=[p.value for p in permissions],
        is_active=is_active,
    )
    session.add(user)
    await session.flush()
    return user


def bearer(user: User, settings: Settings) -> dict[str, str]:
    token, _ = create_access_token(user.id, settings)
    return {"Authorization": f"Bearer {token}"}
