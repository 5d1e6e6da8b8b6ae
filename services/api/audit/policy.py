"""The audit log: administrators read it; nobody changes it (the table refuses UPDATE and
DELETE). ``audit`` is not a scope an API key can be given: keys never read it."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, true

from services.api.access import READ, Policy
from services.core.models.audit import AuditEntry
from services.core.security.principal import Principal


class AuditPolicy(Policy[AuditEntry]):
    model = AuditEntry
    resource = "audit"
    audit_type = "audit_entry"

    def visible(self, principal: Principal) -> ColumnElement[bool]:
        return true() if principal.everywhere else false()

    def permits(self, principal: Principal, action: str, obj: AuditEntry | None) -> bool:
        return action == READ and principal.everywhere


policy = AuditPolicy()
