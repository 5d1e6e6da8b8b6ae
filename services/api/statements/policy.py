"""Hours statement lines (decision 0076): seen with their placement (personal data, every read
audited). The facilitators of the territory and the companies that see the placement declare
hours; only the facilitators validate or reject them."""

from __future__ import annotations

from sqlalchemy import ColumnElement, select
from sqlmodel import col

from services.api.access import CREATE, READ, Policy
from services.api.placements.policy import READERS, placements_visible
from services.core.models.placement import Placement, StatementLine
from services.core.models.user import Role
from services.core.security.principal import Principal

DECLARERS = frozenset({Role.FACILITATOR, Role.EMPLOYER})
DECIDE = "decide"


class StatementsPolicy(Policy[StatementLine]):
    model = StatementLine
    resource = "hours_statements"
    audit_type = "statement_line"
    personal_data = True

    def visible(self, principal: Principal) -> ColumnElement[bool]:
        placements = select(col(Placement.id)).where(placements_visible(principal))
        return col(StatementLine.placement_id).in_(placements)

    def permits(self, principal: Principal, action: str, obj: StatementLine | None) -> bool:
        if action == READ:
            return principal.role in READERS
        if action == CREATE:
            return principal.role in DECLARERS
        return principal.role is Role.FACILITATOR


policy = StatementsPolicy()
