"""Who is calling: a user or an API key, with its organisation, role and territory."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from sqlalchemy import ColumnElement, Uuid, any_, bindparam, literal, select, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.models.organisation import Organisation
from services.core.models.user import Permission, Role, User


class Access(StrEnum):
    READ = "read"
    WRITE = "write"


@dataclass(frozen=True)
class Principal:
    """The caller of a request or the actor of a command.

    ``territory`` is the set of organisations whose data the caller sees as its own: its
    organisation and, for a facilitator, every organisation below it in the network. An admin
    administers the whole instance (``everywhere``).
    """

    kind: Literal["user", "api_key"]
    id: uuid.UUID
    organisation_id: uuid.UUID
    role: Role
    is_manager: bool = False
    permissions: frozenset[Permission] = frozenset()
    # API keys only: "<resource>:read" / "<resource>:write". None: a user, the role decides.
    scopes: frozenset[str] | None = None
    territory: frozenset[uuid.UUID] = field(default_factory=frozenset)

    @property
    def everywhere(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def key(self) -> str:
        """A stable identifier for the caller (idempotency keys, rate limits)."""
        return f"{self.kind}:{self.id}"

    def has(self, permission: Permission) -> bool:
        return permission in self.permissions

    def may_use(self, resource: str, access: Access) -> bool:
        """Whether an API key's scopes cover ``resource`` (users: always; their role decides)."""
        if self.scopes is None:
            return True
        if f"{resource}:{access.value}" in self.scopes:
            return True
        # Writing implies reading what one writes.
        return access is Access.READ and f"{resource}:write" in self.scopes

    def sees(self, organisation_id: uuid.UUID | None) -> bool:
        return self.everywhere or (
            organisation_id is not None and organisation_id in self.territory
        )

    def in_territory(self, column: ColumnElement[uuid.UUID] | object) -> ColumnElement[bool]:
        """SQL: ``column`` names an organisation of the caller's territory, as one array
        parameter (``= ANY($1)``): a facilitator's territory can hold thousands of organisations,
        which as an ``IN`` list would be as many parameters in every statement."""
        if self.everywhere:
            return true()
        if not self.territory:
            return literal(False)
        territory = bindparam(
            "territory", sorted(self.territory), type_=ARRAY(Uuid(as_uuid=True)), unique=True
        )
        return col(column) == any_(territory)


def principal_of_user(user: User, territory: frozenset[uuid.UUID]) -> Principal:
    return Principal(
        kind="user",
        id=user.id,
        organisation_id=user.organisation_id,
        role=user.role,
        is_manager=user.is_manager,
        permissions=frozenset(
            Permission(p) for p in user.permissions if p in Permission.__members__.values()
        ),
        territory=territory,
    )


async def principal_for_user(session: AsyncSession, user: User) -> Principal:
    return principal_of_user(user, await territory_of(session, user.organisation_id, user.role))


async def territory_of(
    session: AsyncSession, organisation_id: uuid.UUID, role: Role
) -> frozenset[uuid.UUID]:
    """The caller's organisation, plus the network below it for a facilitator."""
    if role is not Role.FACILITATOR:
        return frozenset({organisation_id})
    tree = (
        select(col(Organisation.id))
        .where(col(Organisation.id) == organisation_id)
        .cte("territory", recursive=True)
    )
    below = select(col(Organisation.id)).join(tree, col(Organisation.parent_id) == tree.c.id)
    tree = tree.union(below)
    ids: Iterable[uuid.UUID] = (await session.scalars(select(tree.c.id))).all()
    return frozenset(ids)
