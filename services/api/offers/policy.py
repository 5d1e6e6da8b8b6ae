"""Offers (decision 0008): open and filled offers are seen by every authenticated caller; drafts
and closed ones by the admin, facilitators whose territory holds the employer, and the employer's
own users (not its reception desk). The admin, facilitators of the territory and the employer's
``employer`` users change them; prescribers and reception never do."""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, true
from sqlmodel import col

from services.api.access import READ, Policy
from services.core.models.offer import PUBLISHED_STATUSES, Offer
from services.core.models.user import Role
from services.core.security.principal import Principal

WRITERS = frozenset({Role.FACILITATOR, Role.EMPLOYER})


class OffersPolicy(Policy[Offer]):
    model = Offer
    resource = "offers"
    audit_type = "offer"

    def visible(self, principal: Principal) -> ColumnElement[bool]:
        if principal.everywhere:
            return true()
        published = col(Offer.status).in_(PUBLISHED_STATUSES)
        if principal.role == Role.RECEPTION:
            return published
        return or_(published, principal.in_territory(Offer.employer_id))

    def permits(self, principal: Principal, action: str, obj: Offer | None) -> bool:
        if action == READ or principal.everywhere:
            return True
        if principal.role not in WRITERS:
            return False
        # A facilitator's territory is its network; an employer's is its own organisation.
        return obj is None or principal.sees(obj.employer_id)


policy = OffersPolicy()
