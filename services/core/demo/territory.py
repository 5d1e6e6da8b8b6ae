"""A small believable territory around Saint-Denis (Seine-Saint-Denis), for `maillon up --demo`.

Fictional structures and people; real communes and QPVs. Everything is created once: the loader
recognises its own facilitation structure by SIRET and loads nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from stdnum import luhn

from services.core.clock import PARIS, now
from services.core.events import OfferPublished, emit
from services.core.models.contract import (
    ClauseKind,
    Contract,
    ContractHolder,
    ContractLot,
    ContractStatus,
    QpvPriority,
)
from services.core.models.geo import Commune
from services.core.models.offer import ContractType, CoordinatesSource, Offer, OfferStatus
from services.core.models.organisation import Organisation, OrganisationKind
from services.core.models.user import ROLE_LABELS, Role, User
from services.core.referentials.sectors import sector_for_rome
from services.core.security.passwords import hash_password

DEMO_PASSWORD = "maillon-demo-2026"  # noqa: S105  (printed on purpose: demo data only)
DEMO_DOMAIN = "demo.maillon.fr"


def demo_siret(siren8: str, nic4: str) -> str:
    """A SIRET with valid Luhn keys (SIREN then SIRET), for fictional structures."""
    siren = siren8 + luhn.calc_check_digit(siren8)
    return siren + nic4 + luhn.calc_check_digit(siren + nic4)


@dataclass(frozen=True)
class DemoAccount:
    email: str
    role: Role
    organisation: str


@dataclass
class Territory:
    operator: Organisation
    facilitation: Organisation
    landlord: Organisation
    agencies: tuple[Organisation, Organisation]
    france_travail: Organisation
    mission_locale: Organisation
    builder: Organisation
    cleaner: Organisation
    buyer: Organisation
    accounts: list[DemoAccount]


FACILITATION_SIRET = demo_siret("90010001", "0001")


async def existing_facilitation(session: AsyncSession) -> Organisation | None:
    return await session.scalar(
        select(Organisation).where(col(Organisation.siret) == FACILITATION_SIRET)
    )


async def create_territory(session: AsyncSession) -> Territory:
    def org(
        name: str,
        kind: OrganisationKind,
        siren8: str,
        commune: str,
        parent: Organisation | None = None,
        address: str | None = None,
        nic: str = "0001",
    ) -> Organisation:
        organisation = Organisation(
            name=name,
            kind=kind,
            siret=demo_siret(siren8, nic),
            commune_insee=commune,
            address=address,
            parent_id=parent.id if parent else None,
        )
        session.add(organisation)
        return organisation

    operator = org(
        "Maillon — exploitation de l'instance", OrganisationKind.OTHER, "90010099", "93066"
    )
    facilitation = org(
        "Maison de l'emploi Plaine Commune (démo)",
        OrganisationKind.FACILITATION,
        "90010001",
        "93066",
        address="2 rue de la Légion d'Honneur, 93200 Saint-Denis",
    )
    await session.flush()
    landlord = org(
        "Plaine Habitat (démo)", OrganisationKind.SOCIAL_LANDLORD, "90010002", "93066", facilitation
    )
    await session.flush()
    agencies = (
        org(
            "Plaine Habitat — agence Franc-Moisin",
            OrganisationKind.SOCIAL_LANDLORD,
            "90010002",
            "93066",
            landlord,
            nic="0002",
        ),
        org(
            "Plaine Habitat — agence Floréal",
            OrganisationKind.SOCIAL_LANDLORD,
            "90010002",
            "93066",
            landlord,
            nic="0003",
        ),
    )
    france_travail = org(
        "France Travail Saint-Denis (démo)",
        OrganisationKind.FRANCE_TRAVAIL,
        "90010003",
        "93066",
        facilitation,
    )
    mission_locale = org(
        "Mission locale Plaine Commune (démo)",
        OrganisationKind.MISSION_LOCALE,
        "90010004",
        "93066",
        facilitation,
    )
    builder = org(
        "Bâtir Ensemble SAS (démo)", OrganisationKind.EMPLOYER, "90010005", "93066", facilitation
    )
    cleaner = org(
        "Net'Services 93 (démo)", OrganisationKind.EMPLOYER, "90010006", "93001", facilitation
    )
    buyer = org(
        "Établissement public territorial Plaine Commune (démo)",
        OrganisationKind.BUYER,
        "90010007",
        "93066",
        facilitation,
    )
    await session.flush()

    accounts: list[DemoAccount] = []
    password_hash = hash_password(DEMO_PASSWORD)

    def person(
        local: str, name: str, role: Role, organisation: Organisation, *, manager: bool = False
    ) -> None:
        email = f"{local}@{DEMO_DOMAIN}"
        session.add(
            User(
                email=email,
                full_name=name,
                password_hash=password_hash,
                organisation_id=organisation.id,
                role=role,
                is_manager=manager,
            )
        )
        accounts.append(DemoAccount(email=email, role=role, organisation=organisation.name))

    person("admin", "Camille Exploitation", Role.ADMIN, operator)
    person("facilitatrice", "Nadia Facilitatrice", Role.FACILITATOR, facilitation, manager=True)
    person("prescripteur.ft", "Karim Conseiller", Role.PRESCRIBER, france_travail)
    person("prescriptrice.ml", "Léa Conseillère", Role.PRESCRIBER, mission_locale, manager=True)
    person("accueil.francmoisin", "Sophie Accueil", Role.RECEPTION, agencies[0])
    person("accueil.floreal", "Yanis Accueil", Role.RECEPTION, agencies[1])
    person("employeur.btp", "Marc Conducteur de travaux", Role.EMPLOYER, builder)
    person("employeur.proprete", "Aïcha Responsable RH", Role.EMPLOYER, cleaner)
    await session.flush()
    return Territory(
        operator=operator,
        facilitation=facilitation,
        landlord=landlord,
        agencies=agencies,
        france_travail=france_travail,
        mission_locale=mission_locale,
        builder=builder,
        cleaner=cleaner,
        buyer=buyer,
        accounts=accounts,
    )


async def create_clause(
    session: AsyncSession, territory: Territory
) -> tuple[Contract, list[Offer]]:
    """An NPNRU contract with two lots and the offers it creates (three open, one draft)."""
    today = now().astimezone(PARIS).date()
    contract = Contract(
        buyer_id=territory.buyer.id,
        reference="DEMO-2026-NPNRU-FM",
        title="Renouvellement urbain Franc-Moisin — réhabilitation de 450 logements",
        clause_kind=ClauseKind.EXECUTION,
        start_date=today - timedelta(days=60),
        end_date=today + timedelta(days=700),
        amount=Decimal("18500000.00"),
        is_npnru=True,
        qpv_priority=QpvPriority.PREFERRED,
        required_insertion_hours=Decimal("12000"),
        status=ContractStatus.ACTIVE,
    )
    session.add(contract)
    await session.flush()
    structural = ContractLot(
        contract_id=contract.id,
        number=1,
        title="Gros œuvre et maçonnerie",
        required_insertion_hours=Decimal("8000"),
    )
    cleaning = ContractLot(
        contract_id=contract.id,
        number=2,
        title="Nettoyage de chantier et gestion urbaine de proximité",
        required_insertion_hours=Decimal("4000"),
    )
    session.add_all(
        [
            structural,
            cleaning,
            ContractHolder(contract_id=contract.id, organisation_id=territory.builder.id),
            ContractHolder(contract_id=contract.id, organisation_id=territory.cleaner.id),
        ]
    )
    await session.flush()
    saint_denis = await session.scalar(select(Commune).where(col(Commune.insee) == "93066"))

    def offer(
        title: str,
        rome: str,
        lot: ContractLot,
        employer: Organisation,
        contract_type: ContractType,
        hours: str,
        positions: int,
        start_in_days: int,
        *,
        published: bool = True,
        eligibility: bool = True,
    ) -> Offer:
        row = Offer(
            contract_id=contract.id,
            lot_id=lot.id,
            employer_id=employer.id,
            title=title,
            rome_code=rome,
            sector=sector_for_rome(rome),
            contract_type=contract_type,
            hours_per_week=Decimal(hours),
            positions=positions,
            open_positions=positions,
            start_date=today + timedelta(days=start_in_days),
            end_date=today + timedelta(days=start_in_days + 180),
            commune_insee="93066",
            lon=saint_denis.lon if saint_denis else None,
            lat=saint_denis.lat if saint_denis else None,
            coordinates_source=CoordinatesSource.COMMUNE_CENTROID if saint_denis else None,
            requires_eligibility=eligibility,
            status=OfferStatus.OPEN if published else OfferStatus.DRAFT,
            published_at=now() if published else None,
        )
        session.add(row)
        return row

    offers = [
        offer("Maçon / Maçonne — réhabilitation", "F1703", structural, territory.builder,
              ContractType.CDDI, "35", 3, 21),
        # Open to anyone (no validated eligibility needed): the demo's people match at once.
        offer("Manœuvre bâtiment", "F1704", structural, territory.builder,
              ContractType.MIS, "35", 4, 14, eligibility=False),
        offer("Agent / Agente de nettoyage de chantier", "K2204", cleaning, territory.cleaner,
              ContractType.CDD, "24", 2, 30, eligibility=False),
        offer("Agent / Agente de propreté des halls (GUP)", "K2204", cleaning, territory.cleaner,
              ContractType.CDI, "28", 1, 45, published=False),
    ]  # fmt: skip
    await session.flush()
    for row in offers:
        if row.status is OfferStatus.OPEN:
            emit(session, OfferPublished(offer_id=row.id))
    return contract, offers


async def load_territory(session: AsyncSession) -> str:
    """The demo loader: the territory, its NPNRU contract and offers, and the accounts to try."""
    if await existing_facilitation(session) is not None:
        return (
            "territoire de démonstration déjà chargé (comptes : voir ci-dessous)"
            + _accounts_text(await _existing_accounts(session))
        )
    territory = await create_territory(session)
    contract, offers = await create_clause(session, territory)
    opened = sum(1 for o in offers if o.status is OfferStatus.OPEN)
    return (
        f"territoire de Saint-Denis : 10 structures, marché NPNRU « {contract.reference} » "
        f"(2 lots), {opened} offres ouvertes et 1 brouillon" + _accounts_text(territory.accounts)
    )


async def _existing_accounts(session: AsyncSession) -> list[DemoAccount]:
    rows = await session.execute(
        select(col(User.email), col(User.role), col(Organisation.name))
        .join(Organisation, col(Organisation.id) == col(User.organisation_id))
        .where(col(User.email).like(f"%@{DEMO_DOMAIN}"))
        .order_by(col(User.email))
    )
    return [DemoAccount(email=e, role=Role(r), organisation=o) for e, r, o in rows.all()]


def _accounts_text(accounts: list[DemoAccount]) -> str:
    lines = [f"\n    comptes de démonstration (mot de passe : {DEMO_PASSWORD}) :"]
    lines += [f"      {a.email:<42} {ROLE_LABELS[a.role]} — {a.organisation}" for a in accounts]
    return "\n".join(lines)
