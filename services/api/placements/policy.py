"""Placements (decision 0076): personal data. The facilitators of the territory read and change
them; a company reads those of its own attributions and those it employs (a provision by an ETTI,
a subcontracting ACI); the admin (no counsellor) none; buyers, counsellors and front desks never.
Every read is audited."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, select
from sqlmodel import col

from services.api.access import READ, Policy
from services.api.attributions.policy import attributions_visible
from services.core.models.attribution import Attribution
from services.core.models.placement import Placement
from services.core.models.user import Role
from services.core.security.principal import Principal

READERS = frozenset({Role.ADMIN, Role.FACILITATOR, Role.EMPLOYER})
START = "start"
EXCEPTION = "exception"


def placements_visible(principal: Principal) -> ColumnElement[bool]:
    if principal.role not in (Role.FACILITATOR, Role.EMPLOYER):
        return false()
    attributions = select(col(Attribution.id)).where(attributions_visible(principal))
    reached = col(Placement.attribution_id).in_(attributions)
    if principal.role is Role.EMPLOYER:
        return or_(reached, principal.in_territory(Placement.employer_id))
    return reached


class PlacementsPolicy(Policy[Placement]):
    model = Placement
    resource = "placements"
    audit_type = "placement"
    personal_data = True

    def visible(self, principal: Principal) -> ColumnElement[bool]:
        return placements_visible(principal)

    def permits(self, principal: Principal, action: str, obj: Placement | None) -> bool:
        if action == READ:
            return principal.role in READERS
        return principal.role is Role.FACILITATOR


policy = PlacementsPolicy()
