"""The demo's insertion-hours ledger (product.md §8), for `maillon up --demo`.

Two contracts started seven months ago, so that a newcomer sees a real bilan at once:

- « Groupe scolaire Pleyel » (EPT Plaine Commune): lot 1, gros œuvre, owes a labour share
  (9,800,000 € × 45 % × 5 % ÷ 32 €/h = 6,891 h), held by Bâtir Ensemble with a subcontracting
  ACI whose hours count in its total; lot 2, menuiseries, owes a fixed 2,400 h, held by
  Menuiseries du Landy, two of whose three participants are provided by an ETTI. Lot 2 started
  late: it is **behind schedule**.
- « Propreté et GUP Franc-Moisin – Floréal » (Plaine Habitat, no lots): 1,500 h a year, pro
  rata, held by Net'Services 93.

Twelve placements of people already at work, known to the companies employing them; six
months of statements (the last month declared, not yet validated; one line rejected); one
placement ended, its exit recorded.
Loaded once: the loader recognises its first contract by reference.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.clock import PARIS, now
from services.core.demo.ledger_people import SPECS
from services.core.demo.territory import DEMO_DOMAIN, DEMO_PASSWORD, demo_siret
from services.core.geo.communes import normalise_name
from services.core.ledger.obligations import refresh_hours_owed
from services.core.ledger.outcomes import add_months
from services.core.ledger.placements import freeze
from services.core.models.attribution import Attribution, AttributionRole
from services.core.models.candidate import (
    Candidate,
    CandidateShare,
    CandidateStatus,
    QpvStatus,
    ShareReason,
)
from services.core.models.contract import (
    ClauseKind,
    Contract,
    ContractHolder,
    ContractLot,
    ContractStatus,
    QpvPriority,
)
from services.core.models.eligibility import EligibilityCriterion
from services.core.models.obligation import AnruFamily, Obligation, ObligationMethod
from services.core.models.organisation import (
    CompanyKind,
    Organisation,
    OrganisationKind,
    SizeBracket,
)
from services.core.models.outcome import OutcomeCheckpoint, OutcomeSituation, PlacementOutcome
from services.core.models.placement import (
    Placement,
    StatementLine,
    StatementSource,
    StatementStatus,
)
from services.core.models.user import ROLE_LABELS, Role, User
from services.core.security.passwords import hash_password

SCHOOL_REFERENCE = "DEMO-2026-PLEYEL"
CLEANING_REFERENCE = "DEMO-2026-GUP-FM"
MONTHS = 6  # of statements


async def _organisation(session: AsyncSession, siret: str) -> Organisation | None:
    return await session.scalar(select(Organisation).where(col(Organisation.siret) == siret))


async def _user(session: AsyncSession, local: str) -> User | None:
    return await session.scalar(select(User).where(col(User.email) == f"{local}@{DEMO_DOMAIN}"))


async def load_ledger(session: AsyncSession) -> str:
    """The demo loader of the ledger (after the territory's)."""
    if await session.scalar(
        select(col(Contract.id)).where(col(Contract.reference) == SCHOOL_REFERENCE)
    ):
        return "suivi des heures d'insertion de démonstration déjà chargé"
    facilitation = await _organisation(session, demo_siret("90010001", "0001"))
    buyer = await _organisation(session, demo_siret("90010007", "0001"))
    landlord = await _organisation(session, demo_siret("90010002", "0001"))
    builder = await _organisation(session, demo_siret("90010005", "0001"))
    cleaner = await _organisation(session, demo_siret("90010006", "0001"))
    facilitator = await _user(session, "facilitatrice")
    builder_staff = await _user(session, "employeur.btp")
    cleaner_staff = await _user(session, "employeur.proprete")
    if (
        facilitation is None
        or buyer is None
        or landlord is None
        or builder is None
        or cleaner is None
        or facilitator is None
        or builder_staff is None
        or cleaner_staff is None
    ):
        return "suivi des heures d'insertion : territoire de démonstration absent"
    today = now().astimezone(PARIS).date()
    this_month = today.replace(day=1)
    start = add_months(this_month, -(MONTHS + 1))
    end = add_months(start, 24) - timedelta(days=1)
    builder.company_kind, builder.size_bracket = CompanyKind.STANDARD, SizeBracket.FROM_50_TO_249
    cleaner.company_kind, cleaner.size_bracket = CompanyKind.STANDARD, SizeBracket.FROM_10_TO_49

    def company(name: str, kind: OrganisationKind, company_kind: CompanyKind, siren: str,
                size: SizeBracket) -> Organisation:  # fmt: skip
        organisation = Organisation(
            name=name,
            kind=kind,
            siret=demo_siret(siren, "0001"),
            commune_insee="93066",
            parent_id=facilitation.id,
            company_kind=company_kind,
            size_bracket=size,
        )
        session.add(organisation)
        return organisation

    joinery = company(
        "Menuiseries du Landy (démo)",
        OrganisationKind.EMPLOYER,
        CompanyKind.STANDARD,
        "90010008",
        SizeBracket.UNDER_10,
    )
    aci = company(
        "Chantier école Saint-Denis — ACI (démo)",
        OrganisationKind.SIAE_ACI,
        CompanyKind.ACI,
        "90010009",
        SizeBracket.FROM_10_TO_49,
    )
    etti = company("Intérim Solidaire 93 — ETTI (démo)", OrganisationKind.SIAE_ETTI,
                   CompanyKind.ETTI, "90010010", SizeBracket.FROM_10_TO_49)  # fmt: skip
    await session.flush()
    password_hash = hash_password(DEMO_PASSWORD)
    accounts = {
        "employeur.menuiserie": ("Paul Gérant", Role.EMPLOYER, joinery),
        "employeur.aci": ("Hélène Encadrante", Role.EMPLOYER, aci),
        "employeur.etti": ("Mehdi Chargé de mission", Role.EMPLOYER, etti),
        "acheteur": ("Claire Acheteuse", Role.BUYER, buyer),
    }
    users: dict[str, User] = {}
    for local, (name, role, organisation) in accounts.items():
        users[local] = User(
            email=f"{local}@{DEMO_DOMAIN}",
            full_name=name,
            password_hash=password_hash,
            organisation_id=organisation.id,
            role=role,
        )
        session.add(users[local])
    await session.flush()

    school = Contract(
        buyer_id=buyer.id,
        reference=SCHOOL_REFERENCE,
        title="Groupe scolaire Pleyel — construction",
        clause_kind=ClauseKind.EXECUTION,
        start_date=start,
        end_date=end,
        amount=Decimal("9800000.00"),
        qpv_priority=QpvPriority.PREFERRED,
        required_insertion_hours=Decimal("9291"),
        status=ContractStatus.ACTIVE,
    )
    cleaning = Contract(
        buyer_id=landlord.id,
        reference=CLEANING_REFERENCE,
        title="Propreté et gestion urbaine de proximité Franc-Moisin – Floréal",
        clause_kind=ClauseKind.EXECUTION,
        start_date=start,
        end_date=end,
        amount=Decimal("1200000.00"),
        is_npnru=True,
        qpv_priority=QpvPriority.PREFERRED,
        required_insertion_hours=Decimal("3000"),
        status=ContractStatus.ACTIVE,
    )
    session.add_all([school, cleaning])
    await session.flush()
    lot1 = ContractLot(contract_id=school.id, number=1, title="Gros œuvre")
    lot2 = ContractLot(contract_id=school.id, number=2, title="Menuiseries intérieures")
    session.add_all(
        [
            lot1,
            lot2,
            ContractHolder(contract_id=school.id, organisation_id=builder.id),
            ContractHolder(contract_id=school.id, organisation_id=joinery.id),
            ContractHolder(contract_id=cleaning.id, organisation_id=cleaner.id),
        ]
    )
    await session.flush()
    obligations = [
        Obligation(
            contract_id=school.id,
            lot_id=lot1.id,
            method=ObligationMethod.LABOUR_SHARE,
            amount=Decimal("9800000"),
            labour_share_percent=Decimal(45),
            insertion_rate_percent=Decimal(5),
            hourly_cost=Decimal(32),
            penalty_per_missing_hour=Decimal(50),
            cdi_cap_years=4,
        ),
        Obligation(
            contract_id=school.id,
            lot_id=lot2.id,
            method=ObligationMethod.FIXED_HOURS,
            fixed_hours=Decimal(2400),
            penalty_per_missing_hour=Decimal(50),
        ),
        Obligation(
            contract_id=cleaning.id,
            method=ObligationMethod.HOURS_PER_YEAR,
            hours_per_year=Decimal(1500),
            training_counts=True,
            anru_family=AnruFamily.GUP,
            budget_plan_line="GUP-FM-2026",
        ),
    ]
    session.add_all(obligations)
    for obligation in obligations:
        await refresh_hours_owed(session, obligation)
    school_1 = Attribution(
        contract_id=school.id,
        lot_id=lot1.id,
        organisation_id=builder.id,
        role=AttributionRole.HOLDER,
        referent_user_id=builder_staff.id,
    )
    session.add(school_1)
    await session.flush()
    attributions = {
        "school-1": school_1,
        "school-aci": Attribution(
            contract_id=school.id, lot_id=lot1.id, organisation_id=aci.id,
            role=AttributionRole.SUBCONTRACTOR, parent_attribution_id=school_1.id,
            referent_user_id=users["employeur.aci"].id,
        ),
        "school-2": Attribution(
            contract_id=school.id, lot_id=lot2.id, organisation_id=joinery.id,
            role=AttributionRole.HOLDER, referent_user_id=users["employeur.menuiserie"].id,
        ),
        "cleaning": Attribution(
            contract_id=cleaning.id, organisation_id=cleaner.id, role=AttributionRole.HOLDER,
            referent_user_id=cleaner_staff.id,
        ),
    }  # fmt: skip
    session.add_all(attributions.values())
    await session.flush()
    employers = {"builder": builder, "aci": aci, "joinery": joinery, "etti": etti,
                 "cleaner": cleaner}  # fmt: skip
    at = now()
    lines = 0
    for number, spec in enumerate(SPECS):
        person = spec.participant
        candidate = Candidate(
            first_name=person.first_name,
            last_name=person.last_name,
            search_name=normalise_name(f"{person.last_name} {person.first_name}"),
            sex=person.sex,
            birth_year=person.birth_year,
            commune_insee="93066",
            qpv_status=QpvStatus.IN_QPV if person.in_qpv else QpvStatus.OUTSIDE_QPV,
            status=CandidateStatus.PLACED,
        )
        session.add(candidate)
        await session.flush()
        # Known to the company employing them (it created them); the counsellors' lists stay
        # those of the borne people.
        session.add(
            CandidateShare(
                candidate_id=candidate.id,
                organisation_id=employers[spec.employer].id,
                reason=ShareReason.CREATED,
            )
        )
        first_month = add_months(this_month, -spec.from_month)
        if person.criterion is not None:
            session.add(
                EligibilityCriterion(
                    candidate_id=candidate.id,
                    kind=person.criterion,
                    validated_on=first_month - timedelta(days=20),
                    validated_by_user_id=facilitator.id,
                )
            )
        await session.flush()
        ended = (
            add_months(this_month, -spec.ended_month) - timedelta(days=1)
            if spec.ended_month is not None
            else None
        )
        placement = Placement(
            candidate_id=candidate.id,
            attribution_id=attributions[spec.attribution].id,
            employer_id=employers[spec.employer].id,
            modality=spec.modality,
            contract_type=spec.contract_type,
            rome_code=spec.rome,
            start_date=first_month + timedelta(days=number % 4),
            end_date=ended or end,
            weekly_hours=Decimal(35) if spec.hours >= 100 else Decimal(24),
        )
        session.add(placement)
        await session.flush()
        await freeze(session, placement, candidate, at)
        if placement.eligibility_flagged:
            placement.exception_reason = (
                "Demandeur d'emploi de 57 ans orienté par France Travail, critère en cours "
                "de validation : accepté par la facilitatrice."
            )
            placement.exception_by_user_id = facilitator.id
            placement.exception_at = at
        months = spec.from_month - (spec.ended_month or 0)
        for offset in range(months):
            month = add_months(first_month, offset)
            last = month == add_months(this_month, -1)
            rejected = spec.attribution == "school-1" and number == 2 and offset == 3
            status = (
                StatementStatus.REJECTED
                if rejected
                else StatementStatus.DECLARED
                if last
                else StatementStatus.VALIDATED
            )
            decided = status is not StatementStatus.DECLARED
            session.add(
                StatementLine(
                    placement_id=placement.id,
                    month=month,
                    hours_worked=Decimal(spec.hours),
                    training_hours=Decimal(7) if offset == 0 else Decimal(0),
                    source=StatementSource.API,
                    status=status,
                    rejection_reason="Heures supérieures au planning du chantier"
                    if rejected
                    else None,
                    declared_by_type="user",
                    declared_by_id=facilitator.id,
                    declared_at=at,
                    decided_by_user_id=facilitator.id if decided else None,
                    decided_at=at if decided else None,
                )
            )
            lines += 1
        if ended is not None:
            session.add(
                PlacementOutcome(
                    placement_id=placement.id,
                    checkpoint=OutcomeCheckpoint.EXIT,
                    situation=OutcomeSituation.POSITIVE_EXIT,
                    recorded_by_type="user",
                    recorded_by_id=users["employeur.aci"].id,
                    recorded_at=at,
                )
            )
    await session.flush()
    return (
        f"suivi des heures d'insertion : 2 marchés (« {SCHOOL_REFERENCE} », 2 lots, et "
        f"« {CLEANING_REFERENCE} »), {len(SPECS)} mises en emploi, {lines} lignes de relevés "
        f"sur {MONTHS} mois ; le lot 2 du groupe scolaire est en retard"
        + "".join(
            f"\n      {local + '@' + DEMO_DOMAIN:<42} {ROLE_LABELS[role]} — {organisation.name}"
            for local, (_, role, organisation) in accounts.items()
        )
    )
