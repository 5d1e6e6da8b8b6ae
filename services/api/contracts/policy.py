"""Contracts (decision 0008): the admin; facilitators whose territory holds the buyer or a holder;
the users of the buyer and of the holders read them. Only the admin and facilitators of the
territory change them. Reception desks never see contracts."""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, false, or_, true
from sqlmodel import col

from services.api.access import READ, Policy
from services.core.models.contract import Contract, ContractHolder
from services.core.models.user import Role
from services.core.security.principal import Principal


class ContractsPolicy(Policy[Contract]):
    model = Contract
    resource = "contracts"
    audit_type = "contract"

    def visible(self, principal: Principal) -> ColumnElement[bool]:
        if principal.everywhere:
            return true()
        if principal.role == Role.RECEPTION:
            return false()
        held = exists().where(
            col(ContractHolder.contract_id) == col(Contract.id),
            principal.in_territory(ContractHolder.organisation_id),
        )
        return or_(principal.in_territory(Contract.buyer_id), held)

    def permits(self, principal: Principal, action: str, obj: Contract | None) -> bool:
        if action == READ:
            return principal.role != Role.RECEPTION
        if principal.everywhere:
            return True
        if principal.role != Role.FACILITATOR:
            return False
        # ``obj`` as it will be once written: a facilitator keeps its contracts in its territory.
        return obj is None or in_territory(principal, obj)


def in_territory(principal: Principal, contract: Contract) -> bool:
    return principal.sees(contract.buyer_id) or any(
        principal.sees(holder.organisation_id) for holder in contract.holders
    )


policy = ContractsPolicy()
