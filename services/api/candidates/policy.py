"""Candidates (decision 0011): personal data, every read audited.

A candidate is visible through its shares (``candidate_share``): the organisations that created
it, received one of its intakes or were given it. Facilitators see the candidates shared with any
organisation of their territory, prescribers those shared with their organisation; the admin
operates the instance and sees only those shared with its own organisation; front-desk agents
(``reception``) see only the people of the intakes they keyed in themselves; employers never see a
candidate.
"""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, literal, select
from sqlmodel import col

from services.api.access import CREATE, READ, UPDATE, Policy
from services.core.models.candidate import Candidate, CandidateShare
from services.core.models.intake import Intake
from services.core.models.user import Role
from services.core.security.principal import Principal

ERASE = "erase"
MERGE = "merge"
EXPORT = "export"
VALIDATE_ELIGIBILITY = "validate_eligibility"

# Companies see the people they employ through their placements only, buyers never a person
# (decision 0076): no candidate at all.
NOT_PARTICIPANTS = frozenset({Role.EMPLOYER, Role.BUYER})

# Who may do what on a visible candidate, beyond reading it.
_ALLOWED: dict[str, frozenset[Role]] = {
    CREATE: frozenset({Role.ADMIN, Role.FACILITATOR, Role.PRESCRIBER}),
    UPDATE: frozenset({Role.ADMIN, Role.FACILITATOR, Role.PRESCRIBER}),
    EXPORT: frozenset({Role.ADMIN, Role.FACILITATOR, Role.PRESCRIBER}),
    ERASE: frozenset({Role.ADMIN, Role.FACILITATOR}),
    MERGE: frozenset({Role.ADMIN, Role.FACILITATOR}),
    VALIDATE_ELIGIBILITY: frozenset({Role.ADMIN, Role.FACILITATOR}),
}


class CandidatesPolicy(Policy[Candidate]):
    model = Candidate
    resource = "candidates"
    audit_type = "candidate"
    personal_data = True

    def visible(self, principal: Principal) -> ColumnElement[bool]:
        if principal.role in NOT_PARTICIPANTS:
            return literal(False)
        if principal.role is Role.RECEPTION:
            entered_by = (
                Intake.entered_by_user_id
                if principal.kind == "user"
                else Intake.entered_by_api_key_id
            )
            keyed = select(col(Intake.candidate_id)).where(col(entered_by) == principal.id)
            return col(Candidate.id).in_(keyed)
        if principal.everywhere:
            # Admins run the instance; they are not counsellors (no territory-wide access).
            organisations: ColumnElement[bool] = (
                col(CandidateShare.organisation_id) == principal.organisation_id
            )
        else:
            organisations = principal.in_territory(CandidateShare.organisation_id)
        shared = select(col(CandidateShare.candidate_id)).where(organisations)
        return col(Candidate.id).in_(shared)

    def permits(self, principal: Principal, action: str, obj: Candidate | None) -> bool:
        if action == READ:
            return principal.role not in NOT_PARTICIPANTS
        return principal.role in _ALLOWED.get(action, frozenset())


policy = CandidatesPolicy()


def found_among(principal: Principal) -> list[uuid.UUID]:
    """The organisations among whose candidates a creation or an intake of ``principal`` finds a
    person again by phone or e-mail (decision 0044): its own organisation, and for a facilitator
    every organisation of its territory — the candidates it sees as a counsellor. Never the whole
    instance, not even for the admin: a phone or an e-mail is no way into another organisation's
    record."""
    if principal.role is Role.FACILITATOR and principal.territory:
        return sorted(principal.territory | {principal.organisation_id})
    return [principal.organisation_id]
