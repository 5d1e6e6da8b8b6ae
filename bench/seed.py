"""Synthetic data for the benchmarks: organisations, candidates and open offers, loaded by COPY.

    maillon bench seed --candidates 1000000 --offers 20000 [--seed 1]
    python -m bench.seed --candidates 1000000 --offers 20000 [--seed 1] [--database-url URL]

Needs the reference data (communes, QPV, ROME) in the database; reads them from there, so the QPV
answers carry the polygon version the application would store.

- Communes are drawn by a population proxy (the files have no population, decision 0018): a city
  hosting k QPVs weighs 12,000 × k^1.25 (QPVs exist only in urban units of 10,000+ inhabitants
  and their count grows with the city), shared evenly by its arrondissements; any other commune
  400 per postal code (merged communes keep several), times one plus the number of QPV cities
  within 10 km (suburbs are denser than the deep countryside).
- 30 % of the candidates live inside a real QPV polygon (a QPV drawn by its area, a point drawn
  uniformly inside it); the others around their commune's centre point (geocoded address,
  coordinates) or known by their commune only. Every QPV column is the answer of the
  application's own rule (``decide_qpv_residence``) for that point or commune.
- The eight borne sectors (wanted and worked), availability over ±90 days, hours, mobility radius,
  driving licence, 5 % placed, 10 % inactive; each candidate shared with an organisation of the
  territory of its department (10 % with a second one), as the API scopes them.
- Open offers on ROME fiches of the eight sectors (a few outside them), work sites at communes
  drawn by the same weights, mostly under active contracts with NPNRU and QPV-priority variety.

Everything drawn comes from ``--seed``: the same seed gives the same rows, ids included.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
import numpy.typing as npt
import shapely
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.candidates.service import search_name
from services.core.db import SessionMaker, create_engine, create_sessionmaker, unit_of_work
from services.core.geo.communes import normalise_name, parent_commune
from services.core.geo.france import in_france
from services.core.geo.qpv import QpvIndex, load_qpv_index
from services.core.geo.residence import QpvMethod as ResidenceMethod
from services.core.geo.residence import QpvResidence, decide_qpv_residence
from services.core.geo.residence import QpvStatus as ResidenceStatus
from services.core.geocoding.base import GeocodeResult
from services.core.models.candidate import CandidateStatus, Need, Sex, ShareReason
from services.core.models.contract import ClauseKind, ContractStatus, QpvPriority
from services.core.models.eligibility import SENSITIVE_KINDS, EligibilityKind
from services.core.models.geo import Commune, PostalCode, Qpv
from services.core.models.offer import ContractType, CoordinatesSource, OfferStatus
from services.core.models.organisation import OrganisationKind
from services.core.models.referentials import RomeFiche
from services.core.models.user import Role
from services.core.referentials.loader import load_reference_data
from services.core.referentials.sectors import SECTORS, SectorCode, sector_for_rome
from services.core.security.passwords import hash_password
from services.core.settings import Settings

BENCH_PASSWORD = "maillon-bench-2026"  # noqa: S105  (synthetic accounts, printed on purpose)
CHUNK = 20_000
COPY_TIMEOUT = (
    1800.0  # seconds: a chunk fires the matching triggers; the engine's 60 s is too short
)
QPV_SHARE = 0.30
PLACED_SHARE = 0.05
INACTIVE_SHARE = 0.10
TERRITORIES = 6
MEMBER_KINDS = (
    OrganisationKind.FRANCE_TRAVAIL,
    OrganisationKind.MISSION_LOCALE,
    OrganisationKind.SIAE_ACI,
    OrganisationKind.SOCIAL_LANDLORD,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# -- names ------------------------------------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    """Space-separated words; ``_`` joins the words of one name (``Le_Gall``)."""
    return tuple(word.replace("_", " ") for word in text.split())


# Common surnames, most frequent first (drawn with Zipf weights), and syllables for a long tail.
SURNAMES = _words(
    "Martin Bernard Thomas Petit Robert Richard Durand Dubois Moreau Laurent Simon Michel "
    "Lefebvre Leroy Roux David Bertrand Morel Fournier Girard Bonnet Dupont Lambert Fontaine "
    "Rousseau Vincent Muller Lefevre Faure Andre Mercier Blanc Guerin Boyer Garnier Chevalier "
    "Francois Legrand Gauthier Garcia Perrin Robin Clement Morin Nicolas Henry Roussel Mathieu "
    "Gautier Masson Marchand Duval Denis Dumont Marie Lemaire Noel Meyer Dufour Meunier Brun "
    "Blanchard Giraud Joly Riviere Lucas Brunet Gaillard Barbier Arnaud Martinez Gerard Roche "
    "Renard Schmitt Roy Leroux Colin Vidal Caron Picard Roger Fabre Aubert Lemoine Renaud "
    "Dumas Lacroix Olivier Philippe Bourgeois Pierre Benoit Rey Leclerc Payet Rolland Leclercq "
    "Guillaume "
    "Lecomte Lopez Jean Dupuy Guillot Hubert Berger Carpentier Sanchez Dupuis Moulin Louis "
    "Deschamps Huet Vasseur Perez Boucher Fleury Royer Klein Jacquet Adam Paris Poirier Marty "
    "Aubry Guyot Carre Charles Renault Charpentier Menard Maillard Baron Bertin Bailly Herve "
    "Schneider Fernandez Le_Gall Collet Leger Bouvier Julien Prevost Millet Perrot Daniel "
    "Benali Diallo Traore Haddad Cisse Nguyen Benaissa Mendy Kone Bensaid Mansouri Camara "
    "Sow Ndiaye Belkacem Hamidi Da_Silva Ferreira Dos_Santos Pereira Rodrigues Yilmaz Kaya"
)
SYLLABLES = _words(
    "ba be bi bo bou da de di do dou fa fe fi ga ge gi go ka ke ki ko la le li lo lou ma me mi "
    "mo mou na ne ni no nou pa pe pi po ra re ri ro rou sa se si so sou ta te ti to tou va ve vi "
    "za ze zi ch al an ar el en er in on or ur"
)
FIRST_NAMES = _words(
    "Aïcha Fatoumata Mariama Awa Inès Sarah Léa Camille Manon Chloé Emma Jade Louise Lina Yasmine "
    "Nour Amina Salma Rose Julie Laura Marine Pauline Céline Nathalie Sandrine Isabelle Sophie "
    "Valérie Christine Sylvie Karima Samira Nadia Leïla Malika Aminata Kadiatou Binta Océane "
    "Mohamed Ahmed Karim Mehdi Yassine Bilal Hamza Ibrahim Moussa Mamadou Ousmane Abdoulaye "
    "Youssef Omar Rayan Adam Lucas Hugo Louis Gabriel Arthur Jules Nathan Théo Enzo Thomas "
    "Nicolas Julien Alexandre Maxime Kevin Anthony Jérémy Sébastien Christophe Stéphane David "
    "Laurent Patrick Philippe Olivier Frédéric Éric Pascal Thierry Franck Mickaël Dylan Kylian "
    "Ryan Ilyes Wassim Sofiane Nabil Rachid Farid Djibril Seydou Tiago João Mehmet Emre Minh"
)
ADDRESS_WORDS = (
    "de la République", "Jean Jaurès", "Victor Hugo", "de la Gare", "Pasteur", "du Moulin",
    "des Écoles", "de l'Église", "Gambetta", "du Général de Gaulle", "Émile Zola", "des Lilas",
    "Paul Éluard", "Pablo Picasso", "des Tilleuls", "Jules Ferry", "de la Paix", "du Stade",
)  # fmt: skip
STREET_KINDS = ("rue", "avenue", "allée", "boulevard", "place", "impasse", "chemin", "cité")
OTHER_SECTOR_TEXT = ("aide à domicile", "sécurité", "vente", "animation", "couture", "coiffure")
# Popularity of each sector among people at the borne (wanted), in SECTORS order.
SECTOR_WEIGHTS = (0.22, 0.16, 0.07, 0.14, 0.08, 0.17, 0.09, 0.07)


# -- the world the data is drawn from ---------------------------------------------------------


@dataclass
class World:
    """Reference data read from the database, with the population proxy."""

    insee: list[str]
    dept: list[str]
    lon: FloatArray
    lat: FloatArray
    weight: FloatArray  # population proxy, 0 for a city drawn through its arrondissements
    hosts_qpv: npt.NDArray[np.bool_]
    qpv_codes: list[str]
    qpv_geometries: list[Any]  # shapely geometries, WGS84
    qpv_weight: FloatArray  # area-based, see decision 0018
    qpv_communes: list[list[int]]  # commune indexes each QPV lies in (arrondissements expanded)
    qpv_index: QpvIndex
    rome_by_sector: dict[SectorCode, list[tuple[str, str]]]  # (code, label)
    rome_outside: list[tuple[str, str]]  # fiches outside the eight sectors
    _tree: Any = field(default=None, repr=False)

    @property
    def polygon_version(self) -> str | None:
        dataset = self.qpv_index.dataset
        return dataset.version if dataset is not None else None

    @property
    def tree(self) -> Any:
        if self._tree is None:
            self._tree = shapely.STRtree(self.qpv_geometries)
        return self._tree


def population_weights(
    insee: Sequence[str],
    lon: FloatArray,
    lat: FloatArray,
    postal_codes: dict[str, int],
    qpv_count: dict[str, int],
) -> FloatArray:
    """The population proxy of decision 0018 (see the module docstring)."""
    n = len(insee)
    weight = np.zeros(n)
    arrondissements: dict[str, list[int]] = defaultdict(list)
    for i, code in enumerate(insee):
        if parent_commune(code) != code:
            arrondissements[parent_commune(code)].append(i)
    city_points = [
        (lon[i], lat[i]) for i, code in enumerate(insee) if qpv_count.get(code, 0) > 0
    ]  # fmt: skip
    tree = shapely.STRtree(shapely.points(city_points)) if city_points else None
    # QPV cities within ~10 km of each commune centre (0.09° of latitude, 0.13° of longitude).
    nearby = np.zeros(n)
    if tree is not None:
        boxes = shapely.box(lon - 0.13, lat - 0.09, lon + 0.13, lat + 0.09)
        source, _ = tree.query(boxes)
        nearby = np.bincount(source, minlength=n).astype(np.float64)
    for i, code in enumerate(insee):
        city = parent_commune(code)
        k = qpv_count.get(city, 0)
        if code in arrondissements:
            weight[i] = 0.0  # drawn through its arrondissements
        elif k > 0:
            share = len(arrondissements[city]) if city != code else 1
            weight[i] = 12_000 * k**1.25 / share
        else:
            weight[i] = 400 * postal_codes.get(code, 1) * (1 + nearby[i])
    return weight


async def load_world(session: AsyncSession) -> World:
    """Communes, QPVs and ROME fiches from the database, and the QPV index the API would use."""
    communes = (
        await session.execute(
            select(col(Commune.insee), col(Commune.dept), col(Commune.lon), col(Commune.lat))
            .order_by(col(Commune.insee))
        )
    ).all()  # fmt: skip
    # Outside every French territory of the QPV rule (Pacific collectivities): left out.
    communes = [row for row in communes if in_france(row[2], row[3])]
    if not communes:
        raise RuntimeError("aucune commune : lancez « maillon import communes » d'abord")
    postal_codes = Counter(
        await session.scalars(select(col(PostalCode.insee)))
    )  # fmt: skip
    qpv_rows = (
        await session.execute(
            select(col(Qpv.code), col(Qpv.insee_codes), col(Qpv.geometry)).order_by(col(Qpv.code))
        )
    ).all()
    if not qpv_rows:
        raise RuntimeError("aucun QPV : lancez « maillon import qpv » d'abord")
    fiches = (
        await session.execute(
            select(col(RomeFiche.code), col(RomeFiche.label)).order_by(col(RomeFiche.code))
        )
    ).all()
    if not fiches:
        raise RuntimeError("aucune fiche ROME : lancez « maillon import rome » d'abord")
    index = await load_qpv_index(session)

    insee = [row[0] for row in communes]
    position = {code: i for i, code in enumerate(insee)}
    lon = np.array([row[2] for row in communes], dtype=np.float64)
    lat = np.array([row[3] for row in communes], dtype=np.float64)
    qpv_count: Counter[str] = Counter()
    for _, codes, _ in qpv_rows:
        for code in {parent_commune(c) for c in codes}:
            qpv_count[code] += 1
    weight = population_weights(insee, lon, lat, dict(postal_codes), dict(qpv_count))
    hosts = np.array([index.commune_hosts_qpv(code) for code in insee], dtype=np.bool_)

    children: dict[str, list[int]] = defaultdict(list)
    for i, code in enumerate(insee):
        if parent_commune(code) != code:
            children[parent_commune(code)].append(i)
    qpv_codes: list[str] = []
    geometries: list[Any] = []
    qpv_communes: list[list[int]] = []
    for code, codes, wkb in qpv_rows:
        places: list[int] = []
        for commune in codes:
            places += children.get(commune) or ([position[commune]] if commune in position else [])
        if not places:
            continue  # a QPV of a territory left out above
        qpv_codes.append(code)
        geometries.append(shapely.from_wkb(wkb))
        qpv_communes.append(places)
    # Area in km² (local scale); QPVs hold 1,000 to ~25,000 people, more in the larger ones.
    centroids = shapely.centroid(np.array(geometries, dtype=object))
    cos_lat = np.cos(np.radians(shapely.get_y(centroids)))
    area = shapely.area(np.array(geometries, dtype=object)) * 111.2**2 * cos_lat
    qpv_weight = np.clip(area, 0.05, float(np.quantile(area, 0.95)))

    by_sector: dict[SectorCode, list[tuple[str, str]]] = defaultdict(list)
    outside: list[tuple[str, str]] = []
    for code, label in fiches:
        sector = sector_for_rome(code)
        if sector is None:
            outside.append((code, label))
        else:
            by_sector[sector].append((code, label))
    return World(
        insee=insee,
        dept=[row[1] for row in communes],
        lon=lon,
        lat=lat,
        weight=weight,
        hosts_qpv=hosts,
        qpv_codes=qpv_codes,
        qpv_geometries=geometries,
        qpv_weight=qpv_weight,
        qpv_communes=qpv_communes,
        qpv_index=index,
        rome_by_sector=dict(by_sector),
        rome_outside=outside,
    )


# -- organisations and accounts ---------------------------------------------------------------


@dataclass
class Organisations:
    territories: list[list[uuid.UUID]]  # per territory: the facilitation structure first
    employers: list[uuid.UUID]
    buyers: list[uuid.UUID]
    operator: uuid.UUID
    territory_of_dept: dict[str, int]
    facilitators: list[uuid.UUID]  # per territory: the facilitator's account (validates criteria)
    rows: list[tuple[Any, ...]]  # COPY rows of ``organisation``
    users: list[tuple[Any, ...]]  # COPY rows of ``user_account``
    accounts: list[tuple[str, Role, int | None]]  # (e-mail, role, territory)


ORGANISATION_COLUMNS = (
    "id", "created_at", "updated_at", "name", "kind", "siret", "address", "commune_insee",
    "parent_id", "is_active",
)  # fmt: skip
USER_COLUMNS = (
    "id", "created_at", "updated_at", "email", "full_name", "password_hash", "organisation_id",
    "role", "is_manager", "permissions", "is_active",
)  # fmt: skip


class Ids:
    """UUID v7 from a seeded generator: time-ordered like the application's, reproducible."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def at(self, moment: datetime) -> uuid.UUID:
        ms = int(moment.timestamp() * 1000) & ((1 << 48) - 1)
        rand = self._rng.getrandbits(74)
        value = ms << 80 | 0x7 << 76 | (rand >> 62) << 64 | 0b10 << 62 | rand & ((1 << 62) - 1)
        return uuid.UUID(int=value)


def make_organisations(
    world: World, rng: random.Random, ids: Ids, now: datetime, seed: int
) -> Organisations:
    """Six territories (a facilitation structure and four members each), employers, buyers and
    the operator, with one account per structure (password :data:`BENCH_PASSWORD`)."""
    rows: list[tuple[Any, ...]] = []
    users: list[tuple[Any, ...]] = []
    accounts: list[tuple[str, Role, int | None]] = []
    created = now - timedelta(days=600)
    password_hash = hash_password(BENCH_PASSWORD)
    domain = f"bench{seed}.maillon.fr"

    def organisation(name: str, kind: OrganisationKind, parent: uuid.UUID | None) -> uuid.UUID:
        organisation_id = ids.at(created)
        commune = world.insee[int(np.argmax(world.weight))] if parent is None else "93066"
        rows.append((organisation_id, created, created, name, kind.value, None, None, commune,
                     parent, True))  # fmt: skip
        return organisation_id

    def account(
        email: str, role: Role, organisation_id: uuid.UUID, territory: int | None
    ) -> uuid.UUID:
        user_id = ids.at(created)
        users.append((user_id, created, created, email, f"Compte {email.split('@')[0]}",
                      password_hash, organisation_id, role.value, False, [], True))  # fmt: skip
        accounts.append((email, role, territory))
        return user_id

    operator = organisation("Opérateur de l'instance (banc d'essai)", OrganisationKind.OTHER, None)
    account(f"admin@{domain}", Role.ADMIN, operator, None)
    territories: list[list[uuid.UUID]] = []
    facilitators: list[uuid.UUID] = []
    for t in range(TERRITORIES):
        head = organisation(f"Maison de l'emploi {t + 1}", OrganisationKind.FACILITATION, None)
        facilitators.append(account(f"animation{t + 1}@{domain}", Role.FACILITATOR, head, t))
        members = [head]
        for kind in MEMBER_KINDS:
            member = organisation(f"{kind.value} {t + 1}", kind, head)
            account(f"{kind.value.replace('_', '-')}{t + 1}@{domain}", Role.PRESCRIBER, member, t)
            members.append(member)
        territories.append(members)
    employers = [organisation(f"Entreprise {i + 1}", OrganisationKind.EMPLOYER, None)
                 for i in range(40)]  # fmt: skip
    buyers = [organisation(f"Acheteur public {i + 1}", OrganisationKind.BUYER, None)
              for i in range(4)]  # fmt: skip
    departments = sorted(set(world.dept))
    shuffled = departments[:]
    rng.shuffle(shuffled)
    territory_of_dept = {dept: i % TERRITORIES for i, dept in enumerate(shuffled)}
    return Organisations(
        territories=territories,
        employers=employers,
        buyers=buyers,
        operator=operator,
        territory_of_dept=territory_of_dept,
        facilitators=facilitators,
        rows=rows,
        users=users,
        accounts=accounts,
    )


# -- candidates -------------------------------------------------------------------------------

CANDIDATE_COLUMNS = (
    "id", "created_at", "updated_at", "first_name", "last_name", "search_name", "phone_e164",
    "email", "address", "lon", "lat", "commune_insee", "qpv_status", "qpv_code", "qpv_method",
    "geocoding_score", "qpv_polygon_version", "qpv_checked_at", "qpv_near_boundary",
    "geocoding_due_at", "geocoding_attempts", "sectors_worked", "sectors_worked_other",
    "sectors_wanted", "sectors_wanted_other", "needs", "rome_wishes", "available_from",
    "hours_per_week", "mobility_radius_km", "has_driving_licence", "has_vehicle", "sex",
    "birth_year", "status", "referent_organisation_id", "referent_prescriber_id",
    "last_activity_at", "anonymised_at", "merged_into_id",
)  # fmt: skip
SHARE_COLUMNS = ("candidate_id", "organisation_id", "reason", "created_at")
CRITERION_COLUMNS = (
    "id", "created_at", "updated_at", "candidate_id", "kind", "sensitive", "validated_on",
    "validated_by_user_id", "expires_on", "comment",
)  # fmt: skip
# Publics éligibles (§4.5) among people at the borne: (kind, share of everyone, sensitive).
CRITERIA = (
    (EligibilityKind.DELD, 0.12, False),
    (EligibilityKind.DETLD, 0.05, False),
    (EligibilityKind.RSA, 0.10, False),
    (EligibilityKind.ASS, 0.02, False),
    (EligibilityKind.TH, 0.03, True),
    (EligibilityKind.SIAE_EMPLOYEE, 0.03, False),
    (EligibilityKind.BPI, 0.01, False),
)


@dataclass(frozen=True)
class Chunk:
    """COPY rows for a batch of candidates."""

    candidates: list[tuple[Any, ...]]
    shares: list[tuple[Any, ...]]
    criteria: list[tuple[Any, ...]]


def _surnames(rng: random.Random, count: int) -> list[str]:
    """Common surnames with Zipf weights (12 %: "Martin" is 2 % of people, six times as often
    as in France, a hard case for search) and made-up ones for a long tail (88 %)."""
    weights = [1 / (rank + 1) for rank in range(len(SURNAMES))]
    names = rng.choices(SURNAMES, weights, k=count)
    for i in range(count):
        if rng.random() < 0.88:
            word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
            names[i] = word.capitalize()
    return names


def _sector_sets(rng: random.Random, size: int, *, low: int, high: int) -> list[list[str]]:
    """A pool of sector lists drawn by popularity, indexed at random per candidate."""
    codes = [s.code.value for s in SECTORS]
    pool: list[list[str]] = []
    for _ in range(size):
        chosen: list[str] = []
        for _ in range(rng.randint(low, high)):
            pick = rng.choices(codes, SECTOR_WEIGHTS)[0]
            if pick not in chosen:
                chosen.append(pick)
        pool.append(chosen)
    return pool


# How the application came to know where a person lives.
COMMUNE_ONLY, COORDINATES, GEOCODED = 0, 1, 2


def decide_residences(
    world: World,
    lon: FloatArray,
    lat: FloatArray,
    method: npt.NDArray[np.int8],
    score: FloatArray,
    commune: IntArray,
) -> list[QpvResidence]:
    """The application's decision (``decide_qpv_residence``) for each row. A point with no QPV
    polygon within 0.0005° (35 m or more, over the 15 m margin) gets the answer that function
    gives for it — outside, not near a boundary — computed in bulk without the index."""
    near = np.zeros(len(lon), dtype=np.bool_)
    with_point = np.flatnonzero(method != COMMUNE_ONLY)
    if len(with_point):
        points = shapely.points(lon[with_point], lat[with_point])
        hits, _ = world.tree.query(points, predicate="dwithin", distance=0.0005)
        near[with_point[np.unique(hits)]] = True
    version = world.polygon_version
    checked_at = datetime.now(UTC)
    results: list[QpvResidence] = []
    for i in range(len(lon)):
        m = int(method[i])
        if m == COMMUNE_ONLY:
            residence = decide_qpv_residence(world.qpv_index, commune_insee=world.insee[commune[i]])
        elif not near[i]:
            residence = QpvResidence(
                status=ResidenceStatus.OUTSIDE_QPV,
                code=None,
                method=ResidenceMethod.COORDINATES
                if m == COORDINATES
                else ResidenceMethod.GEOCODED_ADDRESS,
                score=None if m == COORDINATES else float(score[i]),
                polygon_version=version,
                near_boundary=False,
                checked_at=checked_at,
            )
        elif m == COORDINATES:
            residence = decide_qpv_residence(
                world.qpv_index, coordinates=(float(lon[i]), float(lat[i]))
            )
        else:
            geocoded = GeocodeResult(
                lon=float(lon[i]),
                lat=float(lat[i]),
                score=float(score[i]),
                label="",
                citycode=world.insee[commune[i]],
                postcode=None,
                result_type="housenumber",
                trusted=True,
            )
            residence = decide_qpv_residence(world.qpv_index, geocoded=geocoded)
        results.append(residence)
    return results


def points_in_polygons(
    world: World, qpv: IntArray, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """A point drawn uniformly inside QPV polygon ``qpv[i]`` for each i (rejection sampling)."""
    lon = np.zeros(len(qpv))
    lat = np.zeros(len(qpv))
    for polygon in np.unique(qpv):
        rows = np.flatnonzero(qpv == polygon)
        geometry = world.qpv_geometries[int(polygon)]
        min_x, min_y, max_x, max_y = shapely.bounds(geometry)
        fill = max(shapely.area(geometry) / max((max_x - min_x) * (max_y - min_y), 1e-12), 0.05)
        xs: list[float] = []
        ys: list[float] = []
        while len(xs) < len(rows):
            draw = int((len(rows) - len(xs)) / fill * 1.3) + 8
            x = rng.uniform(min_x, max_x, draw)
            y = rng.uniform(min_y, max_y, draw)
            inside = shapely.contains_xy(geometry, x, y)
            xs += x[inside].tolist()
            ys += y[inside].tolist()
        lon[rows] = xs[: len(rows)]
        lat[rows] = ys[: len(rows)]
    return lon, lat


def _nearest_commune(world: World, qpv: int, lon: float, lat: float) -> int:
    places = world.qpv_communes[qpv]
    if len(places) == 1:
        return places[0]
    return min(places, key=lambda c: (world.lon[c] - lon) ** 2 + (world.lat[c] - lat) ** 2)


def _around(
    world: World, commune: IntArray, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """Points scattered around commune centres (~1 km), as geocoded addresses land."""
    lat = world.lat[commune] + rng.normal(0, 0.008, len(commune))
    lon = world.lon[commune] + rng.normal(0, 0.008, len(commune)) / np.cos(
        np.radians(world.lat[commune])
    )
    return lon, lat


@dataclass
class CandidateGenerator:
    """Candidate and share rows, chunk after chunk, all drawn from one seed."""

    world: World
    organisations: Organisations
    seed: int
    now: datetime
    _rng: random.Random = field(init=False)
    _np: np.random.Generator = field(init=False)
    _ids: Ids = field(init=False)
    _made: int = field(default=0, init=False)
    _plain_names: dict[str, str] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(f"candidates-{self.seed}")
        self._np = np.random.default_rng([self.seed, 1])
        self._ids = Ids(random.Random(f"candidate-ids-{self.seed}"))
        self._wanted = _sector_sets(self._rng, 4096, low=1, high=3)
        self._worked = _sector_sets(self._rng, 4096, low=0, high=2)
        self._commune_p = self.world.weight / self.world.weight.sum()
        self._qpv_p = self.world.qpv_weight / self.world.qpv_weight.sum()
        # Phone numbers: i → a distinct 8-digit suffix (48271 is prime to 10^8).
        self._phone_offset = self._rng.randrange(10**8)

    def _plain(self, name: str) -> str:
        plain = self._plain_names.get(name)
        if plain is None:
            plain = self._plain_names[name] = normalise_name(name).replace(" ", "")
        return plain

    def chunk(self, n: int) -> Chunk:
        world, rng, npr = self.world, self._rng, self._np
        start = self._made
        self._made += n

        # -- where they live ------------------------------------------------------------------
        in_qpv = npr.random(n) < QPV_SHARE
        commune = npr.choice(len(world.insee), size=n, p=self._commune_p)
        method = np.full(n, COMMUNE_ONLY, dtype=np.int8)
        draw = npr.random(n)
        hosts = world.hosts_qpv[commune]
        method[hosts & (draw < 0.65)] = GEOCODED
        method[hosts & (draw >= 0.65) & (draw < 0.80)] = COORDINATES
        method[~hosts & (draw < 0.45)] = GEOCODED
        method[~hosts & (draw >= 0.45) & (draw < 0.55)] = COORDINATES
        lon, lat = _around(world, commune, npr)
        qpv_rows = np.flatnonzero(in_qpv)
        if len(qpv_rows):
            qpv = npr.choice(len(world.qpv_codes), size=len(qpv_rows), p=self._qpv_p)
            qlon, qlat = points_in_polygons(world, qpv, npr)
            lon[qpv_rows], lat[qpv_rows] = qlon, qlat
            method[qpv_rows] = np.where(npr.random(len(qpv_rows)) < 0.3, COORDINATES, GEOCODED)
            for j, row in enumerate(qpv_rows):
                commune[row] = _nearest_commune(world, int(qpv[j]), qlon[j], qlat[j])
        score = np.round(npr.uniform(0.80, 0.99, n), 2)
        residences = decide_residences(world, lon, lat, method, score, commune)
        # A person drawn outside every QPV whose point fell inside one: drawn again (a few
        # times), then known by the commune only — so the QPV share stays the one asked for.
        for _ in range(4):
            again = np.array(
                [i for i in range(n) if not in_qpv[i] and residences[i].status == "in_qpv"],
                dtype=np.int64,
            )
            if not len(again):
                break
            lon[again], lat[again] = _around(world, commune[again], npr)
            redone = decide_residences(
                world, lon[again], lat[again], method[again], score[again], commune[again]
            )
            for i, residence in zip(again.tolist(), redone, strict=True):
                residences[i] = residence
        for i in range(n):
            if not in_qpv[i] and residences[i].status == "in_qpv":
                method[i] = COMMUNE_ONLY
                (residences[i],) = decide_residences(
                    world, lon[i : i + 1], lat[i : i + 1], method[i : i + 1], score[i : i + 1],
                    commune[i : i + 1],
                )  # fmt: skip

        # -- who they are and what they want --------------------------------------------------
        age_days = npr.uniform(0, 540, n)
        activity = npr.random(n)
        status_draw = npr.random(n)
        available = npr.integers(-90, 91, n)
        hours = npr.choice(
            [0, 15, 20, 24, 26, 28, 30, 35, 39], size=n,
            p=[0.08, 0.04, 0.08, 0.08, 0.04, 0.04, 0.08, 0.48, 0.08],
        )  # fmt: skip
        licence_draw = npr.random(n)
        wanted = npr.integers(0, len(self._wanted), n)
        worked = npr.integers(0, len(self._worked), n)
        surnames = _surnames(rng, n)
        territories = self.organisations.territories
        today = self.now.date()
        candidates: list[tuple[Any, ...]] = []
        shares: list[tuple[Any, ...]] = []
        criteria: list[tuple[Any, ...]] = []
        for i in range(n):
            number = start + i
            created = self.now - timedelta(days=float(age_days[i]))
            last_activity = created + (self.now - created) * float(activity[i])
            candidate_id = self._ids.at(created)
            first = rng.choice(FIRST_NAMES)
            last = surnames[i]
            phone = None
            if rng.random() >= 0.05:
                suffix = (number * 48271 + self._phone_offset) % 10**8
                phone = f"+33{6 + (number // 10**8 + suffix) % 2}{suffix:08d}"
            email = None
            if phone is None or rng.random() >= 0.15:
                local = f"{self._plain(first)}.{self._plain(last)}"
                domain = rng.choice(
                    ("gmail.com", "orange.fr", "hotmail.fr", "laposte.net", "free.fr", "yahoo.fr")
                )
                email = f"{local}{number:x}@{domain}"
            m = int(method[i])
            residence = residences[i]
            address = None
            if m != COMMUNE_ONLY and (m == GEOCODED or rng.random() < 0.5):
                address = (
                    f"{rng.randint(1, 120)} {rng.choice(STREET_KINDS)} {rng.choice(ADDRESS_WORDS)}"
                )
            s = status_draw[i]
            status = (
                CandidateStatus.PLACED if s < PLACED_SHARE
                else CandidateStatus.INACTIVE if s < PLACED_SHARE + INACTIVE_SHARE
                else CandidateStatus.NEW if s < 0.40
                else CandidateStatus.ACTIVE
            )  # fmt: skip
            licence: bool | None = None
            vehicle: bool | None = None
            if licence_draw[i] < 0.90:
                licence = bool(licence_draw[i] < 0.45)
                vehicle = licence and rng.random() < 0.7
            radius: int | None = None
            if rng.random() >= 0.08:
                radius = rng.choice((20, 30, 50, 80) if vehicle else (3, 5, 10, 15, 20))
            sectors_wanted = self._wanted[int(wanted[i])]
            sectors_worked = self._worked[int(worked[i])]
            rome_wishes: list[str] = []
            if rng.random() < 0.08:
                fiches = world.rome_by_sector.get(SectorCode(sectors_wanted[0]))
                if fiches:
                    rome_wishes = [rng.choice(fiches)[0]]
            need_draw = rng.random()
            needs = (
                [Need.JOB.value] if need_draw < 0.80
                else [Need.JOB.value, Need.TRAINING.value] if need_draw < 0.90
                else [Need.TRAINING.value] if need_draw < 0.94
                else [Need.SUPPORT.value] if need_draw < 0.97
                else [Need.ADVICE.value]
            )  # fmt: skip
            sex_draw = rng.random()
            sex = (
                Sex.MALE.value if sex_draw < 0.55 else Sex.FEMALE.value if sex_draw < 0.97 else None
            )
            age = 18 + int(44 * rng.betavariate(1.5, 2.2))
            territory = territories[self.organisations.territory_of_dept[world.dept[commune[i]]]]
            owner = rng.choice(territory)
            candidates.append((
                candidate_id, created, last_activity, first, last, search_name(first, last),
                phone, email, address,
                None if m == COMMUNE_ONLY else float(lon[i]),
                None if m == COMMUNE_ONLY else float(lat[i]),
                world.insee[commune[i]], residence.status.value, residence.code,
                residence.method.value if residence.method else None, residence.score,
                residence.polygon_version, created, residence.near_boundary,
                None, 0,
                sectors_worked, rng.choice(OTHER_SECTOR_TEXT) if rng.random() < 0.03 else None,
                sectors_wanted, rng.choice(OTHER_SECTOR_TEXT) if rng.random() < 0.03 else None,
                needs, rome_wishes,
                None if rng.random() < 0.05 else today + timedelta(days=int(available[i])),
                int(hours[i]) or None, radius, licence, vehicle,
                sex, self.now.year - age, status.value, owner, None,
                last_activity, None, None,
            ))  # fmt: skip
            shares.append((candidate_id, owner, ShareReason.CREATED.value, created))
            if rng.random() < 0.10:
                pool = territory if rng.random() < 0.8 else rng.choice(territories)
                other = rng.choice(pool)
                if other != owner:
                    shares.append((candidate_id, other, ShareReason.INTAKE.value, last_activity))
            kinds = [kind for kind, share, _ in CRITERIA if rng.random() < share]
            if residence.status == "in_qpv" and rng.random() < 0.5:
                kinds.append(EligibilityKind.QPV_RESIDENT)  # only for a stored QPV residence
            if age < 26 and rng.random() < 0.4:
                kinds.append(EligibilityKind.JEUNE)
            if age >= 50 and rng.random() < 0.4:
                kinds.append(EligibilityKind.SENIOR)
            validator = self.organisations.facilitators[
                self.organisations.territory_of_dept[world.dept[commune[i]]]
            ]
            for kind in kinds:
                validated = None
                expires = None
                if rng.random() < 0.85:  # the others wait for a facilitator
                    validated = min(today, (created + timedelta(days=rng.randint(0, 30))).date())
                    expires = validated + timedelta(days=rng.choice((180, 365, 730)))
                criteria.append((
                    self._ids.at(created), created, last_activity, candidate_id, kind.value,
                    kind in SENSITIVE_KINDS, validated, validator if validated else None,
                    expires, None,
                ))  # fmt: skip
        return Chunk(candidates, shares, criteria)


# -- contracts and offers ---------------------------------------------------------------------

CONTRACT_COLUMNS = (
    "id", "created_at", "updated_at", "buyer_id", "reference", "title", "clause_kind",
    "start_date", "end_date", "amount", "is_npnru", "qpv_priority", "required_insertion_hours",
    "status",
)  # fmt: skip
HOLDER_COLUMNS = ("contract_id", "organisation_id")
OFFER_COLUMNS = (
    "id", "created_at", "updated_at", "contract_id", "lot_id", "employer_id", "title",
    "rome_code", "appellation_code", "sector", "contract_type", "hours_per_week", "positions",
    "open_positions", "start_date", "end_date", "commune_insee", "lon", "lat",
    "coordinates_source", "requires_eligibility", "status", "published_at", "closed_at",
    "close_reason",
)  # fmt: skip
_N, _P, _R = QpvPriority.NONE, QpvPriority.PREFERRED, QpvPriority.REQUIRED
PRIORITY_CYCLE = (_N, _P, _N, _R, _N, _P, _N, _N, _P, _N)
CONTRACT_TITLES = (
    "Réhabilitation de logements sociaux", "Construction d'un groupe scolaire",
    "Entretien des espaces verts", "Nettoyage des bâtiments communaux",
    "Restauration collective", "Rénovation urbaine (NPNRU)", "Collecte des déchets",
    "Transport scolaire", "Travaux de voirie", "Logistique d'un entrepôt public",
)  # fmt: skip


def generate_offers(
    world: World, organisations: Organisations, count: int, seed: int, now: datetime
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Contracts, their holders and ``count`` open offers."""
    rng = random.Random(f"offers-{seed}")
    npr = np.random.default_rng([seed, 2])
    ids = Ids(random.Random(f"offer-ids-{seed}"))
    today = now.date()
    contracts: list[tuple[Any, ...]] = []
    holders: list[tuple[Any, ...]] = []
    contract_info: list[tuple[uuid.UUID, list[uuid.UUID]]] = []
    for i in range(max(4, count // 25)):
        created = now - timedelta(days=rng.uniform(30, 400))
        contract_id = ids.at(created)
        start = created.date() + timedelta(days=rng.randint(0, 60))
        # 60 % none, 30 % preferred, 10 % required; NPNRU one contract in three.
        priority = PRIORITY_CYCLE[i % len(PRIORITY_CYCLE)]
        contracts.append((
            contract_id, created, created, rng.choice(organisations.buyers),
            f"BENCH-{seed}-{i + 1:05d}", rng.choice(CONTRACT_TITLES),
            rng.choices(list(ClauseKind), (0.80, 0.05, 0.03, 0.07, 0.05))[0].value,
            start, start + timedelta(days=rng.randint(365, 1100)), None,
            i % 3 == 0, priority.value,
            Decimal(rng.randrange(500, 20_000, 50)), ContractStatus.ACTIVE.value,
        ))  # fmt: skip
        owners = rng.sample(organisations.employers, rng.randint(1, 2))
        holders += [(contract_id, owner) for owner in owners]
        contract_info.append((contract_id, owners))

    sectors = [s.code for s in SECTORS]
    commune = npr.choice(len(world.insee), size=count, p=world.weight / world.weight.sum())
    offers: list[tuple[Any, ...]] = []
    for i in range(count):
        published = now - timedelta(days=rng.uniform(0, 60))
        created = published - timedelta(hours=rng.uniform(1, 72))
        if rng.random() < 0.05 and world.rome_outside:
            rome, label = rng.choice(world.rome_outside)
        else:
            rome, label = rng.choice(world.rome_by_sector[rng.choices(sectors, SECTOR_WEIGHTS)[0]])
        contract: uuid.UUID | None = None
        if rng.random() < 0.85:
            contract, owners = rng.choice(contract_info)
            employer = rng.choice(owners)
        else:
            employer = rng.choice(organisations.employers)
        kind = rng.choices(list(ContractType), (0.15, 0.30, 0.15, 0.05, 0.20, 0.05, 0.05, 0.05))[0]
        start = today + timedelta(days=rng.randint(-30, 90))
        end = None if kind in (ContractType.CDI, ContractType.CDI_CHANTIER) else (
            start + timedelta(days=rng.randint(30, 365))
        )  # fmt: skip
        c = int(commune[i])
        lon, lat, source = (
            float(world.lon[c]),
            float(world.lat[c]),
            CoordinatesSource.COMMUNE_CENTROID,
        )
        if rng.random() < 0.3:
            lon += rng.gauss(0, 0.01)
            lat += rng.gauss(0, 0.007)
            source = CoordinatesSource.GIVEN
        positions = rng.choice((1, 1, 1, 2, 2, 3, 5))
        offers.append((
            ids.at(created), created, published, contract, None, employer, label[:200], rome,
            None, sector_for_rome(rome), kind.value,
            Decimal(rng.choice(("35.0", "35.0", "35.0", "24.0", "26.0", "20.0", "39.0"))),
            positions, positions, start, end, world.insee[c], lon, lat, source.value,
            rng.random() < (0.7 if contract else 0.1), OfferStatus.OPEN.value, published,
            None, None,
        ))  # fmt: skip
    return contracts, holders, offers


# -- loading ----------------------------------------------------------------------------------


@dataclass
class SeedReport:
    candidates: int
    shares: int
    criteria: int
    offers: int
    contracts: int
    organisations: int
    accounts: list[tuple[str, Role, int | None]]
    world_seconds: float
    candidate_seconds: float  # generation and COPY, pipelined
    copy_wait_seconds: float  # time spent waiting for COPY alone
    offer_seconds: float
    analyze_seconds: float

    @property
    def candidates_per_second(self) -> float:
        return self.candidates / self.candidate_seconds if self.candidate_seconds else 0.0


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under the session's transaction (COPY runs in it)."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert isinstance(driver, asyncpg.Connection)
    return driver


async def required_columns_missing(connection: asyncpg.Connection) -> list[str]:
    """Columns of ``candidate`` the generator does not fill that have no default: a migration
    added them and the generator must learn them."""
    rows = await connection.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'candidate' "
        "AND table_schema = current_schema() AND is_nullable = 'NO' AND column_default IS NULL "
        "AND is_generated = 'NEVER'"
    )
    return sorted(r[0] for r in rows if r[0] not in CANDIDATE_COLUMNS)


async def seed(
    session: AsyncSession,
    *,
    candidates: int,
    offers: int,
    seed: int = 1,
    now: datetime | None = None,
    chunk_size: int = CHUNK,
    progress: Any = None,
) -> SeedReport:
    """Load the synthetic data in the session's transaction (the caller commits)."""
    now = now or datetime.now(UTC)
    connection = await driver_connection(session)
    missing = await required_columns_missing(connection)
    if missing:
        raise RuntimeError(f"colonnes de candidate non remplies par le générateur : {missing}")
    started = time.perf_counter()
    world = await load_world(session)
    rng = random.Random(f"organisations-{seed}")
    organisations = make_organisations(world, rng, Ids(rng), now, seed)
    await connection.copy_records_to_table(
        "organisation",
        records=organisations.rows,
        columns=ORGANISATION_COLUMNS,
        timeout=COPY_TIMEOUT,
    )
    await connection.copy_records_to_table(
        "user_account", records=organisations.users, columns=USER_COLUMNS, timeout=COPY_TIMEOUT
    )
    world_seconds = time.perf_counter() - started

    # Generation (Python, a thread) and COPY (the server) overlap: chunk k+1 is drawn while
    # PostgreSQL writes chunk k and its indexes.
    started = time.perf_counter()
    generator = CandidateGenerator(world, organisations, seed, now)
    sizes = [min(chunk_size, candidates - done) for done in range(0, candidates, chunk_size)]
    share_count = criterion_count = 0
    copy_wait = 0.0
    pending = asyncio.create_task(asyncio.to_thread(generator.chunk, sizes[0])) if sizes else None
    for k in range(len(sizes)):
        assert pending is not None
        chunk = await pending
        pending = (
            asyncio.create_task(asyncio.to_thread(generator.chunk, sizes[k + 1]))
            if k + 1 < len(sizes)
            else None
        )
        waited = time.perf_counter()
        await connection.copy_records_to_table(
            "candidate", records=chunk.candidates, columns=CANDIDATE_COLUMNS, timeout=COPY_TIMEOUT
        )
        await connection.copy_records_to_table(
            "candidate_share", records=chunk.shares, columns=SHARE_COLUMNS, timeout=COPY_TIMEOUT
        )
        await connection.copy_records_to_table(
            "eligibility_criterion",
            records=chunk.criteria,
            columns=CRITERION_COLUMNS,
            timeout=COPY_TIMEOUT,
        )
        # The matching profiles queued by the insert trigger, built as the matching worker
        # builds them (decision 0037), once the chunk's criteria are in.
        await connection.execute("SELECT match_profile_flush()", timeout=COPY_TIMEOUT)
        copy_wait += time.perf_counter() - waited
        share_count += len(chunk.shares)
        criterion_count += len(chunk.criteria)
        if k < 3 or (k + 1) % 10 == 0:
            # The load is one transaction: autovacuum never sees these rows, and the triggers'
            # statements would be planned for empty tables (minutes per chunk). ANALYZE inside
            # the transaction samples its own rows.
            await connection.execute(
                "ANALYZE candidate, candidate_share, eligibility_criterion, match_profile",
                timeout=COPY_TIMEOUT,
            )
        if progress is not None:
            progress(sum(sizes[: k + 1]), candidates)
    candidate_seconds = time.perf_counter() - started

    started = time.perf_counter()
    contracts, holders, offer_rows = generate_offers(world, organisations, offers, seed, now)
    if offers:
        await connection.copy_records_to_table(
            "contract", records=contracts, columns=CONTRACT_COLUMNS, timeout=COPY_TIMEOUT
        )
        await connection.copy_records_to_table(
            "contract_holder", records=holders, columns=HOLDER_COLUMNS, timeout=COPY_TIMEOUT
        )
        await connection.copy_records_to_table(
            "offer", records=offer_rows, columns=OFFER_COLUMNS, timeout=COPY_TIMEOUT
        )
    offer_seconds = time.perf_counter() - started

    started = time.perf_counter()
    for table in ("organisation", "user_account", "candidate", "candidate_share",
                  "eligibility_criterion", "contract", "contract_holder", "offer"):  # fmt: skip
        await session.execute(text(f"ANALYZE {table}"))
    analyze_seconds = time.perf_counter() - started
    return SeedReport(
        candidates=candidates,
        shares=share_count,
        criteria=criterion_count,
        offers=len(offer_rows) if offers else 0,
        contracts=len(contracts) if offers else 0,
        organisations=len(organisations.rows),
        accounts=organisations.accounts,
        world_seconds=world_seconds,
        candidate_seconds=candidate_seconds,
        copy_wait_seconds=copy_wait,
        offer_seconds=offer_seconds,
        analyze_seconds=analyze_seconds,
    )


@asynccontextmanager
async def seeded(
    settings: Settings, data_dir: Path, *, candidates: int, offers: int, seed_number: int = 1
) -> AsyncIterator[tuple[SessionMaker, SeedReport]]:
    """For the benchmarks: reference data imported, the data seeded and committed, then
    ``VACUUM ANALYZE`` (a database at rest: visibility map set, statistics fresh)."""
    engine = create_engine(settings, application_name="maillon-bench", statement_timeout=0)
    try:
        sessionmaker = create_sessionmaker(engine)
        await load_reference_data(sessionmaker, data_dir)
        async with unit_of_work(sessionmaker) as session:
            report = await seed(
                session,
                candidates=candidates,
                offers=offers,
                seed=seed_number,
                progress=_chunk_timer(),
            )
        assert settings.database_url is not None
        connection = await asyncpg.connect(to_plain_url(settings.database_url))
        try:
            await connection.execute("VACUUM (ANALYZE)")
        finally:
            await connection.close()
        yield sessionmaker, report
    finally:
        await engine.dispose()


@asynccontextmanager
async def existing(settings: Settings) -> AsyncIterator[SessionMaker]:
    """For the benchmarks: a database seeded beforehand (``maillon bench seed``), used as it is
    after ``VACUUM ANALYZE``; neither created nor dropped."""
    assert settings.database_url is not None
    connection = await asyncpg.connect(to_plain_url(settings.database_url))
    try:
        await connection.execute("VACUUM (ANALYZE)")
    finally:
        await connection.close()
    engine = create_engine(settings, application_name="maillon-bench", statement_timeout=0)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


def _chunk_timer() -> Callable[[int, int], None]:
    """Progress on stderr: candidates loaded, and the time of the last chunk."""
    last = [time.perf_counter()]

    def report(done: int, total: int) -> None:
        moment = time.perf_counter()
        sys.stderr.write(f"{done:,}/{total:,} candidates, chunk in {moment - last[0]:.1f} s\n")
        last[0] = moment

    return report


def to_plain_url(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bench.seed``, run from the root of the repository (``maillon bench seed``
    runs it so, against the database it resolved): seeds and commits, prints what it made."""
    parser = argparse.ArgumentParser(prog="python -m bench.seed", description=__doc__)
    parser.add_argument("--candidates", type=int, required=True, help="candidates to create")
    parser.add_argument("--offers", type=int, default=0, help="open offers to create")
    parser.add_argument("--seed", type=int, default=1, help="same seed, same rows and ids")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="target database (default: DATABASE_URL)",
    )
    args = parser.parse_args(argv)
    if args.database_url is None:
        parser.error("--database-url or DATABASE_URL is needed")

    def progress(done: int, total: int) -> None:
        sys.stderr.write(f"{done}/{total} candidats\n")

    async def work() -> SeedReport:
        engine = create_engine(
            Settings(database_url=args.database_url),
            application_name="maillon-bench",
            statement_timeout=0,
        )
        try:
            async with unit_of_work(create_sessionmaker(engine)) as session:
                return await seed(
                    session,
                    candidates=args.candidates,
                    offers=args.offers,
                    seed=args.seed,
                    progress=progress,
                )
        finally:
            await engine.dispose()

    started = time.perf_counter()
    try:
        report = asyncio.run(work())
    except RuntimeError as error:
        sys.stderr.write(f"Erreur : {error}\n")
        return 1
    elapsed = time.perf_counter() - started
    print(
        f"{report.candidates} candidats ({report.shares} partages), {report.offers} offres "
        f"ouvertes, {report.contracts} marchés, {report.organisations} structures en "
        f"{elapsed:.1f} s ; candidats : {report.candidates_per_second:,.0f}/s."
    )
    print(f"Comptes (mot de passe « {BENCH_PASSWORD} ») :")
    for email, role, _ in report.accounts:
        print(f"  {role.value:<12} {email}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
