"""Intakes (decision 0014): personal data, every read audited.

- ``reception`` users key in the forms of their own organisation's places and see only the
  intakes they entered themselves (an API key with the reception role: the intakes it entered);
- prescribers and facilitators see the intakes of the candidates in their scope (shared with an
  organisation of their territory);
- employers never see an intake; the admin, who runs the instance and is not a counsellor, sees
  those of the candidates shared with its own organisation (as for candidates, decision 0011).

Intakes are created (by everyone but employers), never changed through this resource.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, literal, select
from sqlmodel import col

from services.api.access import CREATE, READ, Policy
from services.core.models.candidate import CandidateShare
from services.core.models.intake import Intake
from services.core.models.user import Role
from services.core.security.principal import Principal

CREATORS = frozenset({Role.FACILITATOR, Role.PRESCRIBER, Role.RECEPTION})


class IntakesPolicy(Policy[Intake]):
    model = Intake
    resource = "intakes"
    audit_type = "intake"
    personal_data = True

    def visible(self, principal: Principal) -> ColumnElement[bool]:
        if principal.role is Role.RECEPTION:
            entered_by = (
                Intake.entered_by_user_id
                if principal.kind == "user"
                else Intake.entered_by_api_key_id
            )
            return col(entered_by) == principal.id
        if principal.role in (Role.EMPLOYER, Role.BUYER):
            return literal(False)
        if principal.everywhere:
            organisations: ColumnElement[bool] = (
                col(CandidateShare.organisation_id) == principal.organisation_id
            )
        else:
            organisations = principal.in_territory(CandidateShare.organisation_id)
        shared = select(col(CandidateShare.candidate_id)).where(organisations)
        return col(Intake.candidate_id).in_(shared)

    def permits(self, principal: Principal, action: str, obj: Intake | None) -> bool:
        if principal.everywhere:
            return True
        if action == READ:
            return principal.role not in (Role.EMPLOYER, Role.BUYER)
        if action == CREATE:
            return principal.role in CREATORS
        return False


policy = IntakesPolicy()
