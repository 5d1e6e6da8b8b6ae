"""A small ledger world shared by the ledger's API tests.

``facilitation`` ─┬─ ``buyer``   (a city: ``buyer`` user of the buyer role)
                  ├─ ``holder``  (builder holding lot 1: ``holder_staff``)
                  ├─ ``aci``     (subcontracting ACI on lot 1: ``aci_staff``)
                  ├─ ``rival``   (another company, holder of lot 2: ``rival_staff``)
                  └─ ``agency``  (France Travail, follows the participants: ``prescriber``)
``other_facilitation`` (``other_facilitator``)

A contract of the buyer, 5 January 2026 – 30 June 2027, two lots.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from services.core.clock import now
from services.core.models.attribution import Attribution, AttributionRole
from services.core.models.candidate import QpvStatus, Sex
from services.core.models.contract import ContractStatus
from services.core.models.eligibility import EligibilityCriterion, EligibilityKind
from services.core.models.obligation import Modality
from services.core.models.organisation import CompanyKind, Organisation, OrganisationKind
from services.core.models.placement import Placement, PlacementStatus
from services.core.models.user import Role
from services.core.settings import Settings
from tests.factories import bearer, make_candidate, make_contract, make_organisation, make_user

Headers = dict[str, str]

# Ids are kept as strings: rows expire when a request rolls back.


@dataclass
class Ledger:
    session: AsyncSession
    buyer_id: str
    holder_id: str
    aci_id: str
    rival_id: str
    agency_id: str
    contract_id: str
    lot1: str
    lot2: str
    admin: Headers
    facilitator: Headers
    other_facilitator: Headers
    buyer_user: Headers
    holder_staff: Headers
    aci_staff: Headers
    rival_staff: Headers
    prescriber: Headers

    async def attribution(
        self,
        organisation_id: str,
        lot: str,
        role: AttributionRole = AttributionRole.HOLDER,
        parent: str | None = None,
    ) -> str:
        attribution = Attribution(
            contract_id=uuid.UUID(self.contract_id),
            lot_id=uuid.UUID(lot),
            organisation_id=uuid.UUID(organisation_id),
            role=role,
            parent_attribution_id=uuid.UUID(parent) if parent else None,
        )
        self.session.add(attribution)
        await self.session.flush()
        return str(attribution.id)

    async def participant(
        self,
        *,
        criteria: tuple[EligibilityKind, ...] = (EligibilityKind.RSA,),
        qpv: QpvStatus = QpvStatus.IN_QPV,
        birth_year: int = 1999,
        sex: Sex = Sex.FEMALE,
        last_name: str | None = None,
    ) -> str:
        agency = await self.session.get(
            Organisation, uuid.UUID(self.agency_id), populate_existing=True
        )
        assert agency is not None
        candidate = await make_candidate(self.session, agency, last_name=last_name)
        candidate.qpv_status = qpv
        candidate.birth_year = birth_year
        candidate.sex = sex
        for kind in criteria:
            self.session.add(
                EligibilityCriterion(
                    candidate_id=candidate.id, kind=kind, validated_on=date(2025, 12, 1)
                )
            )
        await self.session.flush()
        return str(candidate.id)

    async def placement(
        self,
        attribution_id: str,
        candidate_id: str | None = None,
        *,
        employer_id: str | None = None,
        modality: Modality = Modality.DIRECT_HIRE,
        start: date = date(2026, 3, 9),
        end: date | None = date(2026, 12, 18),
        started: bool = True,
    ) -> str:
        candidate_id = candidate_id or await self.participant()
        attribution = await self.session.get(
            Attribution, uuid.UUID(attribution_id), populate_existing=True
        )
        assert attribution is not None
        placement = Placement(
            candidate_id=uuid.UUID(candidate_id),
            attribution_id=attribution.id,
            employer_id=uuid.UUID(employer_id) if employer_id else attribution.organisation_id,
            modality=modality,
            start_date=start,
            end_date=end,
            status=PlacementStatus.ACTIVE if started else PlacementStatus.DRAFT,
            frozen_at=now() if started else None,
            eligibility_criteria=["RSA"] if started else [],
        )
        self.session.add(placement)
        await self.session.flush()
        return str(placement.id)


async def make_ledger(session: AsyncSession, settings: Settings) -> Ledger:
    async def headers(organisation: Organisation, role: Role) -> Headers:
        return bearer(await make_user(session, organisation, role), settings)

    facilitation = await make_organisation(session, kind=OrganisationKind.FACILITATION)
    buyer = await make_organisation(session, kind=OrganisationKind.BUYER, parent=facilitation)
    holder = await make_organisation(session, kind=OrganisationKind.EMPLOYER, parent=facilitation)
    aci = await make_organisation(session, kind=OrganisationKind.SIAE_ACI, parent=facilitation)
    rival = await make_organisation(session, kind=OrganisationKind.EMPLOYER, parent=facilitation)
    agency = await make_organisation(
        session, kind=OrganisationKind.FRANCE_TRAVAIL, parent=facilitation
    )
    holder.company_kind, aci.company_kind = CompanyKind.STANDARD, CompanyKind.ACI
    other_facilitation = await make_organisation(session, kind=OrganisationKind.FACILITATION)
    operator = await make_organisation(session, kind=OrganisationKind.OTHER)
    contract = await make_contract(
        session,
        buyer,
        holders=[holder, rival],
        lots=[(1, "Gros œuvre"), (2, "Second œuvre")],
        status=ContractStatus.ACTIVE,
    )
    lots = sorted(contract.lots, key=lambda lot: lot.number)
    return Ledger(
        session=session,
        buyer_id=str(buyer.id),
        holder_id=str(holder.id),
        aci_id=str(aci.id),
        rival_id=str(rival.id),
        agency_id=str(agency.id),
        contract_id=str(contract.id),
        lot1=str(lots[0].id),
        lot2=str(lots[1].id),
        admin=await headers(operator, Role.ADMIN),
        facilitator=await headers(facilitation, Role.FACILITATOR),
        other_facilitator=await headers(other_facilitation, Role.FACILITATOR),
        buyer_user=await headers(buyer, Role.BUYER),
        holder_staff=await headers(holder, Role.EMPLOYER),
        aci_staff=await headers(aci, Role.EMPLOYER),
        rival_staff=await headers(rival, Role.EMPLOYER),
        prescriber=await headers(agency, Role.PRESCRIBER),
    )
