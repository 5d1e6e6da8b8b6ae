"""Callback cases (decision 0020): personal data (the person's name), every read audited.

A case is visible to the organisation it is assigned to — to a facilitator, to every
organisation of its territory — and to the prescriber named on it. The admin, who runs the
instance and is not a counsellor, sees only the cases assigned to its own organisation (as for
candidates, decision 0011). Front desks (``reception``) key intakes in but do not call people
back; employers never see a case. Counsellors (prescribers, facilitators) and the admin log
attempts and outcomes and reassign cases they see.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, literal, or_
from sqlmodel import col

from services.api.access import Policy
from services.core.models.callback import CallbackCase
from services.core.models.user import Role
from services.core.security.principal import Principal

COUNSELLORS = frozenset({Role.ADMIN, Role.FACILITATOR, Role.PRESCRIBER})


class CallbacksPolicy(Policy[CallbackCase]):
    model = CallbackCase
    resource = "callbacks"
    audit_type = "callback_case"
    personal_data = True

    def visible(self, principal: Principal) -> ColumnElement[bool]:
        if principal.role not in COUNSELLORS:
            return literal(False)
        if principal.everywhere:
            assigned = col(CallbackCase.organisation_id) == principal.organisation_id
        else:
            assigned = principal.in_territory(CallbackCase.organisation_id)
        if principal.kind == "user":
            return or_(assigned, col(CallbackCase.prescriber_id) == principal.id)
        return assigned

    def permits(self, principal: Principal, action: str, obj: CallbackCase | None) -> bool:
        return principal.role in COUNSELLORS


policy = CallbacksPolicy()
