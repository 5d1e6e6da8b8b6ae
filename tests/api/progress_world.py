"""A constructed contract whose clause progress is worked out by hand (tests of §8.6–8.7).

The contract runs from 1 January to 31 December 2026 (365 days); the report is read on
20 July 2026 for the second quarter (1 April – 30 June): both quarterly statements are due.
The holder (``holder``, a standard company of 50–249) is attributed the five lots, one per
method; an ACI (``aci``, under 10) subcontracts on lot 1; an ETTI (``etti``) provides staff on
lot 2. Seven participants, their placements and statement lines are below, with what each
line counts; ``EXPECTED`` gives the figures they add up to.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from services.core.ledger.obligations import refresh_hours_owed
from services.core.models.attribution import Attribution, AttributionRole
from services.core.models.candidate import Sex
from services.core.models.contract import Contract, ContractStatus
from services.core.models.obligation import (
    AnruFamily,
    Modality,
    Obligation,
    ObligationDeclaration,
    ObligationMethod,
)
from services.core.models.offer import ContractType
from services.core.models.organisation import (
    CompanyKind,
    Organisation,
    OrganisationKind,
    SizeBracket,
)
from services.core.models.placement import (
    AgeBracket,
    Placement,
    PlacementStatus,
    QualificationLevel,
    StatementLine,
    StatementSource,
    StatementStatus,
)
from tests.factories import make_candidate, make_contract, make_organisation

AS_OF = datetime(2026, 7, 20, 8, 0, tzinfo=UTC)
ON_TIME = datetime(2026, 7, 10, 9, 0, tzinfo=UTC)
LATE = datetime(2026, 7, 18, 9, 0, tzinfo=UTC)
# Every participant carries this name: no report that leaves the facilitator may show it.
SURNAME = "Zébulonesque"

V, D, R = StatementStatus.VALIDATED, StatementStatus.DECLARED, StatementStatus.REJECTED


@dataclass
class World:
    facilitation: Organisation
    buyer: Organisation
    holder: Organisation
    aci: Organisation
    etti: Organisation
    outsider: Organisation
    contract: Contract
    lots: list[uuid.UUID]  # lot ids, lot 1 first
    attributions: dict[str, Attribution]


async def build(session: AsyncSession) -> World:
    facilitation = await make_organisation(
        session, kind=OrganisationKind.FACILITATION, name="Maison de l'emploi"
    )
    buyer = await make_organisation(
        session, kind=OrganisationKind.BUYER, name="Ville de Saint-Denis", parent=facilitation
    )
    holder = await make_organisation(
        session, kind=OrganisationKind.EMPLOYER, name="Bâtisseurs SA", parent=facilitation
    )
    aci = await make_organisation(
        session, kind=OrganisationKind.SIAE_ACI, name="Chantier d'insertion", parent=facilitation
    )
    etti = await make_organisation(
        session, kind=OrganisationKind.SIAE_ETTI, name="Intérim solidaire", parent=facilitation
    )
    outsider = await make_organisation(session, kind=OrganisationKind.EMPLOYER, name="Ailleurs")
    holder.company_kind, holder.size_bracket = CompanyKind.STANDARD, SizeBracket.FROM_50_TO_249
    aci.company_kind, aci.size_bracket = CompanyKind.ACI, SizeBracket.UNDER_10
    etti.company_kind, etti.size_bracket = CompanyKind.ETTI, SizeBracket.FROM_10_TO_49
    contract = await make_contract(
        session,
        buyer,
        holders=[holder],
        lots=[
            (1, "Gros œuvre"),
            (2, "Second œuvre"),
            (3, "Voirie"),
            (4, "Espaces verts"),
            (5, "Entretien"),
        ],
        status=ContractStatus.ACTIVE,
        reference="MAR-PROGRESS",
    )
    contract.start_date, contract.end_date = date(2026, 1, 1), date(2026, 12, 31)
    lots = [lot.id for lot in contract.lots]
    obligations = [
        # Lot 1: 700 h; training does not count; 200 € a missing hour.
        Obligation(
            contract_id=contract.id,
            lot_id=lots[0],
            method=ObligationMethod.FIXED_HOURS,
            fixed_hours=Decimal(700),
            penalty_per_missing_hour=Decimal(200),
        ),
        # Lot 2: 1,000,000 € × 50 % × 5 % ÷ 30 €/h = 833.33 → 833 h; training counts; a CDI's
        # hours count for 2 years.
        Obligation(
            contract_id=contract.id,
            lot_id=lots[1],
            method=ObligationMethod.LABOUR_SHARE,
            amount=Decimal(1_000_000),
            labour_share_percent=Decimal(50),
            insertion_rate_percent=Decimal(5),
            hourly_cost=Decimal(30),
            training_counts=True,
            cdi_cap_years=2,
        ),
        # Lot 3: 2,710,000 € invoiced, 2,000 € tranches beyond 2,700,000 € → 5 h.
        Obligation(
            contract_id=contract.id,
            lot_id=lots[2],
            method=ObligationMethod.PER_INVOICED_TRANCHE,
            tranche_amount=Decimal(2000),
            tranche_threshold=Decimal(2_700_000),
        ),
        # Lot 4: 5 % of 2,000 h worked → 100 h; ANRU investment, in the budget plan.
        Obligation(
            contract_id=contract.id,
            lot_id=lots[3],
            method=ObligationMethod.SHARE_OF_HOURS_WORKED,
            hours_share_percent=Decimal(5),
            anru_family=AnruFamily.INVESTMENT,
            budget_plan_line="Ligne 12",
        ),
        # Lot 5: 110 h a year over 365 days → 110 h; 100 € a missing hour.
        Obligation(
            contract_id=contract.id,
            lot_id=lots[4],
            method=ObligationMethod.HOURS_PER_YEAR,
            hours_per_year=Decimal(110),
            penalty_per_missing_hour=Decimal(100),
        ),
    ]
    session.add_all(obligations)
    await session.flush()
    session.add_all(
        [
            ObligationDeclaration(
                obligation_id=obligations[2].id,
                period_start=date(2026, 1, 1),
                period_end=date(2026, 6, 30),
                amount_invoiced=Decimal(2_710_000),
            ),
            ObligationDeclaration(
                obligation_id=obligations[3].id,
                period_start=date(2026, 1, 1),
                period_end=date(2026, 3, 31),
                hours_worked=Decimal(800),
            ),
            ObligationDeclaration(
                obligation_id=obligations[3].id,
                period_start=date(2026, 4, 1),
                period_end=date(2026, 6, 30),
                hours_worked=Decimal(1200),
            ),
        ]
    )
    for obligation in obligations:
        await refresh_hours_owed(session, obligation)

    attributions: dict[str, Attribution] = {}
    for number, lot_id in enumerate(lots, start=1):
        attributions[f"holder{number}"] = Attribution(
            contract_id=contract.id,
            lot_id=lot_id,
            organisation_id=holder.id,
            role=AttributionRole.HOLDER,
        )
    session.add_all(attributions.values())
    await session.flush()
    attributions["aci1"] = Attribution(
        contract_id=contract.id,
        lot_id=lots[0],
        organisation_id=aci.id,
        role=AttributionRole.SUBCONTRACTOR,
        parent_attribution_id=attributions["holder1"].id,
    )
    session.add(attributions["aci1"])
    await session.flush()

    async def participant(
        attribution: str,
        employer: Organisation,
        modality: Modality,
        kind: ContractType,
        start: date,
        end: date | None,
        *,
        sex: Sex,
        age: AgeBracket,
        qpv: bool,
        criteria: list[str],
        level: QualificationLevel | None,
        lines: list[tuple[int, int, int, StatementStatus]],
        declared_at: datetime = ON_TIME,
    ) -> None:
        candidate = await make_candidate(session, facilitation, last_name=SURNAME)
        placement = Placement(
            candidate_id=candidate.id,
            attribution_id=attributions[attribution].id,
            employer_id=employer.id,
            modality=modality,
            contract_type=kind,
            start_date=start,
            end_date=end,
            status=PlacementStatus.ACTIVE,
            frozen_at=ON_TIME,
            eligibility_criteria=criteria,
            qpv_resident=qpv,
            age_bracket=age,
            sex=sex,
            qualification_level=level,
            eligibility_flagged=not criteria,
        )
        session.add(placement)
        await session.flush()
        for month, hours, training, status in lines:
            session.add(
                StatementLine(
                    placement_id=placement.id,
                    month=date(2026, month, 1),
                    hours_worked=Decimal(hours),
                    training_hours=Decimal(training),
                    source=StatementSource.API,
                    status=status,
                    rejection_reason="Heures hors chantier" if status is R else None,
                    declared_by_type="user",
                    declared_at=declared_at,
                )
            )
        await session.flush()

    f, m = Sex.FEMALE, Sex.MALE
    # P1, lot 1, direct hire: Feb 100 − 10 training → 90; Mar 120 − 20 → 100; Apr 80 declared
    # (pending); May 50 rejected.
    await participant(
        "holder1",
        holder,
        Modality.DIRECT_HIRE,
        ContractType.CDD,
        date(2026, 2, 1),
        date(2026, 7, 31),
        sex=f,
        age=AgeBracket.UNDER_26,
        qpv=True,
        criteria=["RSA"],
        level=QualificationLevel.LEVEL_3,
        lines=[(2, 100, 10, V), (3, 120, 20, V), (4, 80, 0, D), (5, 50, 0, R)],
    )
    # P2, lot 1, subcontracted to the ACI: Mar 60; Apr 70 − 5 → 65; Jun 40 (declared late).
    await participant(
        "aci1",
        aci,
        Modality.SUBCONTRACTING,
        ContractType.CDDI,
        date(2026, 3, 1),
        None,
        sex=m,
        age=AgeBracket.FROM_26_TO_49,
        qpv=False,
        criteria=["DELD"],
        level=QualificationLevel.LEVEL_4,
        lines=[(3, 60, 0, V), (4, 70, 5, V), (6, 40, 0, V)],
        declared_at=LATE,
    )
    # P3, lot 2, provided by the ETTI (training counts): Jan 40, Feb 100, Mar 90, Apr 30 (of
    # which 5 training); May 20 after the placement's end → 0.
    await participant(
        "holder2",
        etti,
        Modality.PROVISION,
        ContractType.MIS,
        date(2026, 1, 15),
        date(2026, 4, 30),
        sex=m,
        age=AgeBracket.FROM_50,
        qpv=True,
        criteria=["TH"],
        level=QualificationLevel.BELOW_3,
        lines=[(1, 40, 0, V), (2, 100, 0, V), (3, 90, 0, V), (4, 30, 5, V), (5, 20, 0, V)],
    )
    # P4, lot 2, a CDI since 1 May 2024 (capped at 2 years): Apr 150 (10 training) → 150;
    # May and Jun → 0 (from 1 May 2026).
    await participant(
        "holder2",
        holder,
        Modality.DIRECT_HIRE,
        ContractType.CDI,
        date(2024, 5, 1),
        None,
        sex=f,
        age=AgeBracket.FROM_26_TO_49,
        qpv=False,
        criteria=["DETLD"],
        level=QualificationLevel.LEVEL_5,
        lines=[(4, 150, 10, V), (5, 150, 0, V), (6, 150, 0, V)],
    )
    # P5, lot 5, no validated criterion and no exception: Mar 100, Apr 100 → 0.
    await participant(
        "holder5",
        holder,
        Modality.DIRECT_HIRE,
        ContractType.CDD,
        date(2026, 3, 1),
        date(2026, 6, 30),
        sex=m,
        age=AgeBracket.UNDER_26,
        qpv=False,
        criteria=[],
        level=None,
        lines=[(3, 100, 0, V), (4, 100, 0, V)],
    )
    # P6, lot 4: Apr 35, May 70 → 105 (ANRU: 105 ÷ 2,000 = 5.25 %, met).
    await participant(
        "holder4",
        holder,
        Modality.DIRECT_HIRE,
        ContractType.CDD,
        date(2026, 4, 1),
        date(2026, 9, 30),
        sex=f,
        age=AgeBracket.FROM_50,
        qpv=True,
        criteria=["QPV_resident"],
        level=QualificationLevel.LEVEL_3,
        lines=[(4, 35, 0, V), (5, 70, 0, V)],
    )
    # P7, lot 3, 1–20 June, no statement at all.
    await participant(
        "holder3",
        holder,
        Modality.DIRECT_HIRE,
        ContractType.CDD,
        date(2026, 6, 1),
        date(2026, 6, 20),
        sex=m,
        age=AgeBracket.FROM_26_TO_49,
        qpv=False,
        criteria=["RSA"],
        level=None,
        lines=[],
    )
    return World(facilitation, buyer, holder, aci, etti, outsider, contract, lots, attributions)


# Owed: 700 + 833 + 5 + 100 + 110 = 1,748 h. Counted to 30 June: lot 1 90 + 100 + 60 + 65 + 40
# = 355; lot 2 40 + 100 + 90 + 30 + 150 = 410; lot 4 105 → 870. In Q2: lot 1 65 + 40 = 105,
# lot 2 30 + 150 = 180, lot 4 105 → 390. Pace at 30 June (181 of 365 days, both statements due):
# 347 + 413 + 2 + 50 + 55 = 867 (lot 3: 5 × 181 ÷ 365 = 2.48 → 2; lot 5: 54.55 → 55).
LOTS = {
    # lot: owed, counted in Q2, counted to date, expected, behind, penalty
    1: (700, 105, 355, 347, False, 345 * 200),
    2: (833, 180, 410, 413, False, 0),
    3: (5, 0, 0, 2, True, 0),
    4: (100, 105, 105, 50, False, 0),
    5: (110, 0, 0, 55, True, 110 * 100),
}
TARGETS = {"female": 15, "<26": 30, "50+": 5}
EXPECTED_TOTAL = {
    "hours_owed": 1748,
    "counted_hours": 390,
    "counted_hours_to_date": 870,
    "declared_not_validated": 80,
    "rejected_hours": 50,
    "rate_percent": 49.8,  # 870 ÷ 1,748 = 49.77 %
    "remaining_hours": 878,
    "expected_hours": 867,
    "behind_schedule": False,  # 870 ≥ 90 % of 867
    "qpv_hours": 135,  # P3's April 30 + P6's 105
    "qpv_share_percent": 34.6,  # 135 ÷ 390
    "subcontracted_hours": 105,
    "subcontracted_share_percent": 26.9,  # 105 ÷ 390
    "penalty_exposure": 80_000,  # lot 1: 345 h × 200 €; lot 5: 110 h × 100 €
    # Q2 statements due on 15 July: holder on lots 1–5 but lot 3's P7 wrote none (missing, late);
    # the ACI's came on 18 July (late).
    "statements_due": 6,
    "statements_received": 5,
    "statements_late": 2,
    "statements_missing": 1,
}
EXPECTED_BREAKDOWNS = {
    "hours_by_modality": {"direct_hire": 255, "provision": 30, "subcontracting": 105},
    "hours_by_employer_kind": {"standard": 255, "etti": 30, "aci": 105},
    "hours_by_company_size": {"50-249": 285, "<10": 105},
}
EXPECTED_PARTICIPANTS = {
    "total": 7,
    "by_sex": {"female": 3, "male": 4},
    "by_age_bracket": {"<26": 2, "26-49": 3, "50+": 2},
    "by_qpv": {"true": 3, "false": 4},
    "by_criterion": {"RSA": 2, "DELD": 1, "TH": 1, "DETLD": 1, "QPV_resident": 1, "unknown": 1},
    "by_qualification": {"level_3": 2, "level_4": 1, "below_3": 1, "level_5": 1, "unknown": 2},
}
EXPECTED_NEW_ENTRANTS = {
    "total": 2,
    "by_sex": {"female": 1, "male": 1},
    "by_age_bracket": {"50+": 1, "26-49": 1},
    "by_qpv": {"true": 1, "false": 1},
    "by_criterion": {"QPV_resident": 1, "RSA": 1},
    "by_qualification": {"level_3": 1, "unknown": 1},
}
EXPECTED_PLACEMENTS = {
    "by_contract_type": {"CDD": 4, "CDDI": 1, "MIS": 1, "CDI": 1},
    # P1 181 days, P3 106, P5 122, P6 183 → one to six months; P7 20 days; P2, P4 no end.
    "by_length": {"1_to_6_months": 4, "under_1_month": 1, "open_ended": 2},
}
