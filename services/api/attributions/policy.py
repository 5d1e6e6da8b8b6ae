"""Attributions (decision 0076): a company reads its own; the buyer those of its contracts; the
facilitators of the territory and the admin every one they reach; only they change them."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlmodel import col

from services.api.access import READ, Policy
from services.api.contracts.policy import policy as contracts_policy
from services.api.obligations.policy import LEDGER_WRITERS, OUTSIDE_THE_LEDGER
from services.core.models.attribution import Attribution
from services.core.models.contract import Contract
from services.core.models.user import Role
from services.core.security.principal import Principal


def attributions_visible(principal: Principal) -> ColumnElement[bool]:
    if principal.everywhere:
        return true()
    if principal.role in OUTSIDE_THE_LEDGER:
        return false()
    own = principal.in_territory(Attribution.organisation_id)
    if principal.role is Role.EMPLOYER:
        return own
    contracts = select(col(Contract.id)).where(contracts_policy.visible(principal))
    if principal.role is Role.BUYER:
        return col(Attribution.contract_id).in_(contracts)
    return or_(col(Attribution.contract_id).in_(contracts), own)


class AttributionsPolicy(Policy[Attribution]):
    model = Attribution
    resource = "attributions"
    audit_type = "attribution"

    def visible(self, principal: Principal) -> ColumnElement[bool]:
        return attributions_visible(principal)

    def permits(self, principal: Principal, action: str, obj: Attribution | None) -> bool:
        if principal.role in OUTSIDE_THE_LEDGER:
            return False
        if action == READ:
            return True
        return principal.role in LEDGER_WRITERS


policy = AttributionsPolicy()
