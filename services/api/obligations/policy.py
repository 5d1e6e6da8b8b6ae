"""Obligations (decision 0076): read by whoever reads their contract — the admin, facilitators of
the territory, the buyer's and holders' users — and by the companies attributed a lot of it;
changed by the admin and facilitators of the territory. Counsellors and front desks never see the
ledger."""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, Select, false, or_, select, true
from sqlmodel import col

from services.api.access import READ, Policy
from services.api.contracts.policy import policy as contracts_policy
from services.core.models.attribution import Attribution
from services.core.models.contract import Contract
from services.core.models.obligation import Obligation
from services.core.models.user import Role
from services.core.security.principal import Principal

# Roles that never see the ledger: counsellors follow people, not contracts; front desks key in.
OUTSIDE_THE_LEDGER = frozenset({Role.PRESCRIBER, Role.RECEPTION})
LEDGER_WRITERS = frozenset({Role.ADMIN, Role.FACILITATOR})


def contracts_in_reach(principal: Principal) -> ColumnElement[bool]:
    """SQL condition on ``Contract`` rows: those the caller reaches for the ledger — the
    contracts it sees, and for a company those where it has an attribution."""
    if principal.everywhere:
        return true()
    if principal.role in OUTSIDE_THE_LEDGER:
        return false()
    attributed = select(col(Attribution.contract_id)).where(
        principal.in_territory(Attribution.organisation_id)
    )
    return or_(contracts_policy.visible(principal), col(Contract.id).in_(attributed))


def contract_ids_in_reach(principal: Principal) -> Select[uuid.UUID]:
    return select(col(Contract.id)).where(contracts_in_reach(principal))


class ObligationsPolicy(Policy[Obligation]):
    model = Obligation
    resource = "obligations"
    audit_type = "obligation"

    def visible(self, principal: Principal) -> ColumnElement[bool]:
        if principal.everywhere:
            return true()
        if principal.role in OUTSIDE_THE_LEDGER:
            return false()
        return col(Obligation.contract_id).in_(contract_ids_in_reach(principal))

    def permits(self, principal: Principal, action: str, obj: Obligation | None) -> bool:
        if principal.role in OUTSIDE_THE_LEDGER:
            return False
        if action == READ:
            return True
        return principal.role in LEDGER_WRITERS


policy = ObligationsPolicy()
