"""API keys: administrators manage all of them; a facilitator those of its own organisation;
other roles none (decision 0008). Keys themselves never manage keys: ``api_keys`` is not a
scope one can give."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, true
from sqlmodel import col

from services.api.access import Policy
from services.api.errors import Forbidden
from services.core.models.api_key import ApiKey
from services.core.models.user import Role
from services.core.security.principal import Principal

# A key acts with a role at most its creator's.
_RANK: dict[Role, int] = {
    Role.ADMIN: 2,
    Role.FACILITATOR: 1,
    Role.PRESCRIBER: 0,
    Role.RECEPTION: 0,
    Role.EMPLOYER: 0,
    Role.BUYER: 0,
}


class ApiKeysPolicy(Policy[ApiKey]):
    model = ApiKey
    resource = "api_keys"
    audit_type = "api_key"

    def visible(self, principal: Principal) -> ColumnElement[bool]:
        if principal.everywhere:
            return true()
        if principal.role is Role.FACILITATOR:
            return col(ApiKey.organisation_id) == principal.organisation_id
        return false()

    def permits(self, principal: Principal, action: str, obj: ApiKey | None) -> bool:
        return principal.everywhere or principal.role is Role.FACILITATOR

    def check_role(self, principal: Principal, role: Role) -> None:
        if _RANK[role] > _RANK[principal.role]:
            raise Forbidden("Une clé d'API ne peut pas avoir un rôle supérieur au vôtre.")


policy = ApiKeysPolicy()
