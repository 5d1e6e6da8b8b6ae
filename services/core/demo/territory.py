"""A small believable territory around Saint-Denis (Seine-Saint-Denis), for `maillon up --demo`.

Fictional structures and people; real communes and QPVs. Everything is created once: the loader
recognises its own facilitation structure by SIRET and loads nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from stdnum import luhn

from services.core.models.organisation import Organisation, OrganisationKind
from services.core.models.user import Role, User
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
