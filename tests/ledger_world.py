"""A small hours-ledger world for the outcome and reminder tests.

``facilitation`` ─┬─ ``buyer`` (``buyer_staff``)
                  ├─ ``company`` (holder of lot 1: ``referent``, ``company_staff``)
                  └─ ``agency`` (France Travail: ``prescriber``; the participant is shared with it)
``other_facilitation`` (``other_facilitator``)   ``competitor`` (``competitor_staff``)
``operator`` (``admin``)

One contract (5 January 2026 – 30 June 2027), lot 1 with a quarterly obligation, the company's
attribution and one started placement (5 January – 27 February 2026).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from services.core.models.attribution import Attribution, AttributionRole
from services.core.models.candidate import Candidate
from services.core.models.contract import Contract
from services.core.models.obligation import Modality, Obligation, ObligationMethod
from services.core.models.organisation import CompanyKind, Organisation, OrganisationKind
from services.core.models.placement import Placement, PlacementStatus
from services.core.models.user import Role, User
from services.core.settings import Settings
from tests.factories import bearer, make_candidate, make_contract, make_organisation, make_user

Headers = dict[str, str]


@dataclass
class LedgerWorld:
    facilitation: Organisation
    buyer: Organisation
    company: Organisation
    agency: Organisation
    competitor: Organisation
    contract: Contract
    obligation: Obligation
    attribution: Attribution
    candidate: Candidate
    placement: Placement
    referent: User
    headers: dict[str, Headers]
    # Read once, as strings: rows expire when a request rolls back.
    placement_id: str


async def make_placement(
    session: AsyncSession,
    attribution: Attribution,
    candidate: Candidate,
    *,
    start: date = date(2026, 1, 5),
    end: date | None = date(2026, 2, 27),
    status: PlacementStatus = PlacementStatus.ACTIVE,
) -> Placement:
    placement = Placement(
        candidate_id=candidate.id,
        attribution_id=attribution.id,
        employer_id=attribution.organisation_id,
        modality=Modality.DIRECT_HIRE,
        start_date=start,
        end_date=end,
        weekly_hours=Decimal(35),
        status=status,
        frozen_at=datetime(2026, 1, 5, 8, tzinfo=UTC) if status is PlacementStatus.ACTIVE else None,
    )
    session.add(placement)
    await session.flush()
    return placement


async def make_ledger_world(session: AsyncSession, settings: Settings) -> LedgerWorld:
    facilitation = await make_organisation(session, kind=OrganisationKind.FACILITATION)
    buyer = await make_organisation(session, kind=OrganisationKind.BUYER, parent=facilitation)
    company = await make_organisation(session, kind=OrganisationKind.EMPLOYER, parent=facilitation)
    company.company_kind = CompanyKind.STANDARD
    agency = await make_organisation(
        session, kind=OrganisationKind.FRANCE_TRAVAIL, parent=facilitation
    )
    other_facilitation = await make_organisation(session, kind=OrganisationKind.FACILITATION)
    competitor = await make_organisation(session, kind=OrganisationKind.EMPLOYER)
    operator = await make_organisation(session, kind=OrganisationKind.OTHER)
    contract = await make_contract(session, buyer, holders=[company], lots=[(1, "Gros œuvre")])
    lot = contract.lots[0]
    obligation = Obligation(
        contract_id=contract.id,
        lot_id=lot.id,
        method=ObligationMethod.FIXED_HOURS,
        fixed_hours=Decimal(700),
        hours_owed=Decimal(700),
    )
    referent = await make_user(session, company, Role.EMPLOYER)
    attribution = Attribution(
        contract_id=contract.id,
        lot_id=lot.id,
        organisation_id=company.id,
        role=AttributionRole.HOLDER,
        referent_user_id=referent.id,
    )
    session.add_all([obligation, attribution])
    await session.flush()
    candidate = await make_candidate(session, agency)
    placement = await make_placement(session, attribution, candidate)

    async def headers(organisation: Organisation, role: Role) -> Headers:
        return bearer(await make_user(session, organisation, role), settings)

    return LedgerWorld(
        facilitation=facilitation,
        buyer=buyer,
        company=company,
        agency=agency,
        competitor=competitor,
        contract=contract,
        obligation=obligation,
        attribution=attribution,
        candidate=candidate,
        placement=placement,
        referent=referent,
        headers={
            "admin": await headers(operator, Role.ADMIN),
            "facilitator": await headers(facilitation, Role.FACILITATOR),
            "other_facilitator": await headers(other_facilitation, Role.FACILITATOR),
            "referent": bearer(referent, settings),
            "company_staff": await headers(company, Role.EMPLOYER),
            "prescriber": await headers(agency, Role.PRESCRIBER),
            "buyer_staff": await headers(buyer, Role.BUYER),
            "competitor_staff": await headers(competitor, Role.EMPLOYER),
        },
        placement_id=str(placement.id),
    )
