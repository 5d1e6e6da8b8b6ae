"""Users (personal data: every read is audited). Decision 0008: the admin sees and changes every
account; a facilitator those of its territory, except administrators; the other roles see their
own organisation's accounts and change none. Front-desk agents (``reception``) see no one's but
their own: 0008 limits them to organisations, open offers and referentials."""

from __future__ import annotations

from sqlalchemy import ColumnElement
from sqlmodel import col

from services.api.access import READ, Policy
from services.api.errors import Forbidden
from services.core.models.user import Permission, Role, User
from services.core.security.principal import Principal

# Changing an account's password: its owner, or an admin.
CHANGE_PASSWORD = "change_password"  # noqa: S105  (an action name, not a secret)


class UsersPolicy(Policy[User]):
    model = User
    resource = "users"
    audit_type = "user"
    personal_data = True

    def visible(self, principal: Principal) -> ColumnElement[bool]:
        if principal.role is Role.RECEPTION:
            return col(User.id) == principal.id
        return principal.in_territory(col(User.organisation_id))

    def permits(self, principal: Principal, action: str, obj: User | None) -> bool:
        if action == READ or principal.everywhere:
            return True
        if action == CHANGE_PASSWORD:
            return principal.kind == "user" and obj is not None and obj.id == principal.id
        if principal.role is not Role.FACILITATOR:
            return False
        return obj is None or obj.role != Role.ADMIN  # (a plain string once read back)

    def check_grants(
        self,
        principal: Principal,
        *,
        role: Role | None = None,
        added_permissions: frozenset[Permission] = frozenset(),
    ) -> None:
        """What only an administrator may give: the admin role, access to sensitive data."""
        if principal.everywhere:
            return
        if role == Role.ADMIN:
            raise Forbidden("Seul un administrateur peut donner le rôle administrateur.")
        if Permission.SENSITIVE_DATA in added_permissions:
            raise Forbidden("Seul un administrateur peut accorder l'accès aux données sensibles.")


policy = UsersPolicy()
