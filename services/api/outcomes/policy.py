"""Placement outcomes (decision 0080): what became of a participant, so personal data (every read
is audited). Seen by the admin; the facilitators whose territory holds the attribution's company
or the contract's buyer; the company of the attribution (it employs the person); a prescriber
when the participant is shared with its organisation (its candidate). Recorded by the admin, the
facilitators and the company (its referent and colleagues); a prescriber only reads. Buyers and
front desks read no participant: for them the placement does not exist (404)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, false, or_, true
from sqlmodel import col

from services.api.access import READ, Policy
from services.core.models.attribution import Attribution
from services.core.models.candidate import CandidateShare
from services.core.models.contract import Contract
from services.core.models.placement import Placement
from services.core.models.user import Role
from services.core.security.principal import Principal


class OutcomesPolicy(Policy[Placement]):
    """Rows are placements: an outcome is read and written through its placement."""

    model = Placement
    resource = "outcomes"
    audit_type = "placement_outcome"
    personal_data = True

    def visible(self, principal: Principal) -> ColumnElement[bool]:
        if principal.everywhere:
            return true()
        if principal.role is Role.FACILITATOR:
            return exists().where(
                col(Attribution.id) == col(Placement.attribution_id),
                col(Contract.id) == col(Attribution.contract_id),
                or_(
                    principal.in_territory(Attribution.organisation_id),
                    principal.in_territory(Contract.buyer_id),
                ),
            )
        if principal.role is Role.EMPLOYER:
            return exists().where(
                col(Attribution.id) == col(Placement.attribution_id),
                col(Attribution.organisation_id) == principal.organisation_id,
            )
        if principal.role is Role.PRESCRIBER:
            return exists().where(
                and_(
                    col(CandidateShare.candidate_id) == col(Placement.candidate_id),
                    col(CandidateShare.organisation_id) == principal.organisation_id,
                )
            )
        return false()

    def permits(self, principal: Principal, action: str, obj: Placement | None) -> bool:
        if principal.everywhere:
            return True
        if action == READ:
            return principal.role in {Role.FACILITATOR, Role.EMPLOYER, Role.PRESCRIBER}
        return principal.role in {Role.FACILITATOR, Role.EMPLOYER}


policy = OutcomesPolicy()
