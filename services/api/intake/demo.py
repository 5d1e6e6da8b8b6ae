"""``maillon up --demo``: people who left a form in the bornes of the demo territory.

The forms go through the intake's own write path (as the front desk keys them in), then a
counsellor completes each profile as one would with ``PATCH /v1/candidates/{id}``: where the
person lives (some inside the real QPV polygons of Saint-Denis), from when and how many hours
they are available, how far they can travel, and France Travail as their referent — whose
counsellor therefore receives the alerts of the matches found for them. Everything happens in
the demo's transaction; the workers rank the people once it is committed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.candidates.schemas import CandidateUpdate
from services.api.candidates.service import update_candidate
from services.api.intake.checks import Checked, Collection, check, today
from services.api.intake.schemas import BorneForm
from services.api.people.intakes import record
from services.core.clock import now
from services.core.demo.territory import DEMO_DOMAIN
from services.core.geo.qpv import QpvIndex, load_qpv_index
from services.core.models.candidate import Candidate, CandidateShare, ShareReason
from services.core.models.geo import Commune
from services.core.models.intake import Intake, IntakeSource
from services.core.models.organisation import Organisation
from services.core.models.user import User
from services.core.security.principal import Principal, principal_for_user

CONSENT_VERSION = "borne-demo-2026"
REQUEST_ID = "demo"


@dataclass(frozen=True)
class DemoPerson:
    first_name: str
    last_name: str
    mobile_phone: str
    wanted: tuple[str, ...]
    worked: tuple[str, ...]
    agency: int  # which agency's borne: 0 Franc-Moisin, 1 Floréal
    lon: float
    lat: float
    hours_per_week: int
    mobility_radius_km: int
    days_ago: int  # deposited this many days ago


# Fictional people. Points inside QPVs are the polygons' own representative points (QPV 2024 of
# Saint-Denis); the others lie outside every QPV.
PEOPLE: tuple[DemoPerson, ...] = (
    DemoPerson("Moussa", "Diallo", "06 12 40 01 01", ("construction",), ("construction",), 0,
               2.38437, 48.91785, 35, 15, 6),  # Franc-Moisin - Cosmonautes
    DemoPerson("Yacine", "Benali", "06 12 40 01 02", ("construction",), (), 0,
               2.36962, 48.93485, 35, 10, 5),  # Saint-Rémy - Joliot Curie - Bel Air
    DemoPerson("Ibrahima", "Traoré", "06 12 40 01 03", ("construction", "logistics"),
               ("logistics",), 0, 2.35768, 48.91335, 35, 20, 4),  # Plaine - Landy - Bailly
    DemoPerson("Fatou", "Camara", "06 12 40 01 04", ("cleaning",), ("cleaning",), 1,
               2.38092, 48.94355, 24, 10, 6),  # Floréal Saussaie Allende
    DemoPerson("Océane", "Baptiste", "06 12 40 01 05", ("cleaning",), (), 1,
               2.35203, 48.94045, 28, 10, 3),  # Grand Centre - Sémard
    DemoPerson("Sandrine", "Lefèvre", "06 12 40 01 06", ("cleaning",), ("cleaning",), 1,
               2.3601, 48.9244, 24, 15, 2),  # near the Stade de France
    DemoPerson("Julien", "Martin", "06 12 40 01 07", ("construction", "cleaning"),
               ("construction",), 0, 2.3490, 48.9300, 35, 25, 2),  # Pleyel
    DemoPerson("Thomas", "Petit", "06 12 40 01 08", ("construction",), (), 1,
               2.3405, 48.9370, 35, 30, 1),  # near the canal
)  # fmt: skip


@dataclass
class _Actors:
    agencies: tuple[Organisation, Organisation]
    desks: tuple[User, User]
    facilitator: User
    france_travail: Organisation
    counsellor: User


async def _actors(session: AsyncSession) -> _Actors | None:
    users = {
        user.email.split("@", 1)[0]: user
        for user in await session.scalars(
            select(User).where(col(User.email).like(f"%@{DEMO_DOMAIN}"))
        )
    }
    needed = ("accueil.francmoisin", "accueil.floreal", "facilitatrice", "prescripteur.ft")
    if any(name not in users for name in needed):
        return None
    desks = (users["accueil.francmoisin"], users["accueil.floreal"])
    agencies = [await session.get(Organisation, desk.organisation_id) for desk in desks]
    counsellor = users["prescripteur.ft"]
    france_travail = await session.get(Organisation, counsellor.organisation_id)
    if agencies[0] is None or agencies[1] is None or france_travail is None:
        return None
    return _Actors(
        agencies=(agencies[0], agencies[1]),
        desks=desks,
        facilitator=users["facilitatrice"],
        france_travail=france_travail,
        counsellor=counsellor,
    )


async def _qpv(session: AsyncSession) -> QpvIndex | None:
    index = await load_qpv_index(session)
    return index if len(index) else None


async def load_demo_people(session: AsyncSession) -> str:
    """The demo loader of people: forms keyed in at both agencies, then completed profiles."""
    actors = await _actors(session)
    if actors is None:
        return "candidats de démonstration : territoire de démonstration absent"
    already = await session.scalar(
        select(col(Intake.id))
        .where(col(Intake.entered_by_user_id).in_([desk.id for desk in actors.desks]))
        .limit(1)
    )
    if already is not None:
        return "candidats de démonstration déjà chargés"
    if (
        await session.scalar(select(col(Commune.insee)).where(col(Commune.insee) == "93066"))
        is None
    ):
        return "candidats de démonstration non chargés : communes absentes (données de référence)"
    qpv = await _qpv(session)
    candidate_ids: list[uuid.UUID] = []
    for agency_index in (0, 1):
        people = [p for p in PEOPLE if p.agency == agency_index]
        desk = actors.desks[agency_index]
        where = Collection(
            principal=await principal_for_user(session, desk),
            source=IntakeSource.KIOSK,
            place_organisation_id=actors.agencies[agency_index].id,
            collected_on=today(),
            request_id=REQUEST_ID,
            qpv=qpv,
            communes=frozenset({"93066"}),
        )
        recorded = await record(session, where, [_checked(person, where) for person in people])
        candidate_ids += [one.candidate_id for one in recorded]
    facilitator = await principal_for_user(session, actors.facilitator)
    in_qpv = 0
    for person, candidate_id in zip(
        [p for i in (0, 1) for p in PEOPLE if p.agency == i], candidate_ids, strict=True
    ):
        candidate = await session.get(Candidate, candidate_id)
        assert candidate is not None
        await _complete(session, candidate, person, actors, facilitator, qpv)
        in_qpv += candidate.qpv_status == "in_qpv"
    return (
        f"{len(candidate_ids)} candidats déposés aux bornes des deux agences "
        f"({in_qpv} habitant un QPV), suivis par France Travail"
    )


def _checked(person: DemoPerson, where: Collection) -> Checked:
    local = (
        f"{person.first_name}.{person.last_name}".lower()
        .replace("é", "e")
        .replace("è", "e")
        .replace("ï", "i")
    )
    form = BorneForm.model_validate(
        {
            "last_name": person.last_name.upper(),
            "first_name": person.first_name,
            "mobile_phone": person.mobile_phone,
            "email": f"{local}@exemple.fr",
            "city": "Saint-Denis",
            "commune_insee": "93066",
            "sectors_worked": list(person.worked),
            "sectors_wanted": list(person.wanted),
            "needs": ["job"],
            "consent": True,
            "consent_text_version": CONSENT_VERSION,
        }
    )
    checked = check(form, where.collected_on - timedelta(days=person.days_ago), where)
    if isinstance(checked, list):  # the demo's own data: a mistake here is a bug
        raise ValueError(f"formulaire de démonstration refusé : {checked}")
    return checked


async def _complete(
    session: AsyncSession,
    candidate: Candidate,
    person: DemoPerson,
    actors: _Actors,
    facilitator: Principal,
    qpv: QpvIndex | None,
) -> None:
    """What a counsellor adds after the first call, as a PATCH would."""
    update = CandidateUpdate.model_validate(
        {
            "lon": person.lon,
            "lat": person.lat,
            "available_from": today().isoformat(),
            "hours_per_week": person.hours_per_week,
            "mobility_radius_km": person.mobility_radius_km,
            "referent_organisation_id": str(actors.france_travail.id),
            "referent_prescriber_id": str(actors.counsellor.id),
        }
    )
    await update_candidate(session, candidate, update, facilitator, qpv, request_id=REQUEST_ID)
    # France Travail follows the person: it sees them (decision 0011's shares).
    await session.execute(
        insert(CandidateShare)
        .values(
            candidate_id=candidate.id,
            organisation_id=actors.france_travail.id,
            reason=ShareReason.REFERRAL,
            created_at=now(),
        )
        .on_conflict_do_nothing()
    )
