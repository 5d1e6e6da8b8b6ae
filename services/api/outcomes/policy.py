"""Placement outcomes (decision 0080): what became of a participant, so personal data (every read
is audited). Read by whoever reads the placement (decision 0076: the facilitators of the
territory, the company of the attribution and the one employing the person) and by a prescriber
when the participant is shared with its organisation (its candidate). Recorded by the
facilitators and by the company of the attribution (its referent and colleagues); the employing
organisation and the prescriber only read. The admin (no counsellor), buyers and front desks
read no participant: for them the placement does not exist (404)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.access import READ, Policy
from services.api.errors import Forbidden
from services.api.placements.policy import placements_visible
from services.core.models.attribution import Attribution
from services.core.models.candidate import CandidateShare
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
        if principal.role is Role.PRESCRIBER:
            return exists().where(
                col(CandidateShare.candidate_id) == col(Placement.candidate_id),
                col(CandidateShare.organisation_id) == principal.organisation_id,
            )
        return placements_visible(principal)

    def permits(self, principal: Principal, action: str, obj: Placement | None) -> bool:
        if action == READ:
            return principal.role in {Role.FACILITATOR, Role.EMPLOYER, Role.PRESCRIBER}
        return principal.role in {Role.FACILITATOR, Role.EMPLOYER}

    async def check_recorder(
        self, session: AsyncSession, principal: Principal, placement: Placement
    ) -> None:
        """A company records only for its own attribution's placements (not for those it merely
        employs, a provision by an ETTI): 403 otherwise."""
        if principal.role is not Role.EMPLOYER:
            return
        company = await session.scalar(
            select(col(Attribution.organisation_id)).where(
                col(Attribution.id) == placement.attribution_id
            )
        )
        if company != principal.organisation_id:
            raise Forbidden("Seule l'entreprise attributaire saisit la situation du participant.")


policy = OutcomesPolicy()
