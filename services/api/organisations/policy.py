"""Organisations: every caller sees them (names and SIRET are public facts); the admin changes
any, a facilitator creates and edits those of its territory (decision 0008)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, true

from services.api.access import CREATE, READ, Policy
from services.core.models.organisation import Organisation
from services.core.models.user import Role
from services.core.security.principal import Principal


class OrganisationsPolicy(Policy[Organisation]):
    model = Organisation
    resource = "organisations"
    audit_type = "organisation"

    def visible(self, principal: Principal) -> ColumnElement[bool]:
        return true()

    def permits(self, principal: Principal, action: str, obj: Organisation | None) -> bool:
        if action == READ or principal.everywhere:
            return True
        if principal.role is not Role.FACILITATOR:
            return False
        if action == CREATE:
            return True  # where it goes is checked against the territory by the service
        return obj is not None and principal.sees(obj.id)


policy = OrganisationsPolicy()
