"""Public offers (decision 0062): open offers marked public, served without an account as JSON,
schema.org JobPosting JSON-LD and France Travail's vocabulary; cached, rate limited, and without
a single personal datum."""

from __future__ import annotations

import json
import math
import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.app import create_app
from services.api.deps import get_session, request_transaction
from services.core.geo.communes import normalise_name
from services.core.geo.distance import haversine_km
from services.core.models.candidate import Candidate
from services.core.models.contract import ClauseKind, ContractStatus, QpvPriority
from services.core.models.geo import Commune
from services.core.models.match import MatchStatus
from services.core.models.offer import ContractType, CoordinatesSource, Offer, OfferStatus
from services.core.models.organisation import Organisation
from services.core.models.referentials import RomeAppellation
from services.core.models.user import Role, User
from services.core.settings import Settings
from tests.api.clause import Territory, make_territory
from tests.api.conftest import assert_problem
from tests.factories import (
    make_candidate,
    make_contract,
    make_match,
    make_offer,
    make_organisation,
    make_user,
)

pytestmark = pytest.mark.usefixtures("reference_data", "clock")

LIST = "/v1/public/offers"
JSON_LD = "/v1/public/offers/json-ld"
FRANCE_TRAVAIL = "/v1/public/offers/france-travail"
PATHS = (LIST, JSON_LD, FRANCE_TRAVAIL)


@pytest.fixture
async def world(db_session: AsyncSession, settings: Settings) -> Territory:
    return await make_territory(db_session, settings)


async def public_offer(
    session: AsyncSession,
    employer: Organisation,
    *,
    status: OfferStatus = OfferStatus.OPEN,
    is_public: bool = True,
    **changes: Any,
) -> str:
    """An offer (open and public unless told), with ``changes`` laid over the factory's."""
    offer = await make_offer(session, employer, status=status)
    offer.is_public = is_public
    for name, value in changes.items():
        setattr(offer, name, value)
    await session.flush()
    return str(offer.id)


def ids_of(response: httpx.Response) -> set[str]:
    assert response.status_code == 200, response.text
    body = response.json()
    if "itemListElement" in body:
        return {element["item"]["identifier"]["value"] for element in body["itemListElement"]}
    return {str(item["id"]) for item in body["items"]}


# -- who sees what ------------------------------------------------------------------------------


async def test_open_public_offers_are_served_without_credentials_and_nothing_else(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    shown = await public_offer(db_session, world.employer)
    hidden = {
        "private": await public_offer(db_session, world.employer, is_public=False),
        "draft": await public_offer(db_session, world.employer, status=OfferStatus.DRAFT),
        "filled": await public_offer(
            db_session, world.employer, status=OfferStatus.FILLED, open_positions=0
        ),
        "closed": await public_offer(db_session, world.employer, status=OfferStatus.CLOSED),
    }
    retired = await make_organisation(db_session, parent=world.facilitation)
    hidden["inactive employer"] = await public_offer(db_session, retired)
    retired.is_active = False
    await db_session.flush()

    for path in PATHS:
        response = await client.get(path, params={"limit": 200})
        assert ids_of(response) == {shown}, (path, hidden)
        assert "www-authenticate" not in response.headers
        # Credentials, good or bad, change nothing: the route reads no caller.
        for headers in (world.admin, {"Authorization": "Bearer pas-un-jeton"}):
            assert ids_of(await client.get(path, params={"limit": 200}, headers=headers)) == {shown}
    listing = (await client.get(LIST)).json()
    assert listing["pagination"] == {"page": 1, "limit": 50, "total_count": 1, "max_page": 1}


async def test_who_may_edit_an_offer_marks_it_public(
    client: httpx.AsyncClient, world: Territory
) -> None:
    created = await client.post(
        "/v1/offers",
        json={
            "title": "Coffreur ou coffreuse",
            "rome_code": "F1703",
            "contract_type": "CDD",
            "hours_per_week": 35,
            "start_date": "2026-04-01",
            "end_date": "2026-12-31",
            "commune_insee": "93066",
            "is_public": True,
        },
        headers=world.employer_staff,
    )
    assert created.status_code == 201, created.text
    offer = created.json()
    assert offer["is_public"] is True
    assert ids_of(await client.get(LIST)) == set()  # a draft is not served
    published = await client.post(f"/v1/offers/{offer['id']}/publish", headers=world.employer_staff)
    assert published.status_code == 200, published.text
    assert ids_of(await client.get(LIST)) == {offer["id"]}

    path = f"/v1/offers/{offer['id']}"
    refused = await client.patch(
        path,
        json={"is_public": None},
        headers={**world.facilitator, "If-Match": published.headers["etag"]},
    )
    assert_problem(refused, 422, "validation-failed")
    # A prescriber reads the offer but may not change it, its publicity included.
    forbidden = await client.patch(
        path,
        json={"is_public": False},
        headers={**world.prescriber, "If-Match": published.headers["etag"]},
    )
    assert_problem(forbidden, 403, "forbidden")
    withdrawn = await client.patch(
        path,
        json={"is_public": False},
        headers={**world.facilitator, "If-Match": published.headers["etag"]},
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["is_public"] is False
    assert ids_of(await client.get(LIST)) == set()


# -- filters ------------------------------------------------------------------------------------


async def test_filters_by_rome_code_contract_type_and_commune(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    mason = await public_offer(db_session, world.employer)  # F1703, CDD, Saint-Denis
    cleaner = await public_offer(
        db_session,
        world.employer,
        rome_code="K2204",
        contract_type=ContractType.CDDI,
        commune_insee="93048",
    )
    in_paris = await public_offer(db_session, world.employer, commune_insee="75111")

    async def listed(**params: Any) -> set[str]:
        return ids_of(await client.get(LIST, params=params))

    assert await listed(rome_code="F1703") == {mason, in_paris}
    assert await listed(rome_code="k2204") == {cleaner}
    assert await listed(contract_type="CDDI") == {cleaner}
    assert await listed(contract_type="CDD", commune_insee="93066") == {mason}
    assert await listed(commune_insee="93048") == {cleaner}
    # The city finds the work sites recorded in its arrondissements.
    assert await listed(commune_insee="75056") == {in_paris}
    assert await listed(commune_insee="75111") == {in_paris}
    assert await listed(commune_insee="13055") == set()


async def test_the_radius_keeps_work_sites_within_that_distance_of_the_commune_centre(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    centres = {
        row[0]: (row[1], row[2])
        for row in await db_session.execute(
            select(col(Commune.insee), col(Commune.lon), col(Commune.lat)).where(
                col(Commune.insee).in_(["93066", "93048", "75111", "13055", "95018"])
            )
        )
    }
    sites: dict[str, tuple[float, float]] = {}
    for insee in ("93066", "93048", "75111", "13055", "95018"):
        offer_id = await public_offer(db_session, world.employer, commune_insee=insee)
        sites[offer_id] = centres[insee]
    # A work site given by its coordinates, 10 km due east of Saint-Denis's centre, counts
    # where it is, not at its commune's centre.
    sd_lon, sd_lat = centres["93066"]
    east = (sd_lon + 10 / (111.195 * math.cos(math.radians(sd_lat))), sd_lat)
    given = await public_offer(
        db_session,
        world.employer,
        commune_insee="93066",
        lon=east[0],
        lat=east[1],
        coordinates_source=CoordinatesSource.GIVEN,
    )
    sites[given] = east

    for radius in (1, 5, 9, 11, 15, 30, 200):
        expected = {
            offer_id
            for offer_id, (lon, lat) in sites.items()
            if haversine_km(sd_lon, sd_lat, lon, lat) <= radius
        }
        got = ids_of(await client.get(LIST, params={"commune_insee": "93066", "radius_km": radius}))
        assert got == expected, radius
    distance_east = haversine_km(sd_lon, sd_lat, *east)
    assert 9 < distance_east < 11
    assert given not in ids_of(
        await client.get(LIST, params={"commune_insee": "93066", "radius_km": 9})
    )
    assert given in ids_of(
        await client.get(LIST, params={"commune_insee": "93066", "radius_km": 11})
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        pytest.param({"radius_km": 10}, "radius_km", id="radius without commune"),
        pytest.param({"commune_insee": "93066", "radius_km": 1000}, "radius_km", id="1000 km"),
        pytest.param({"commune_insee": "93066", "radius_km": 0}, "radius_km", id="0 km"),
        pytest.param({"commune_insee": "99999"}, "commune_insee", id="unknown commune"),
        pytest.param(
            {"commune_insee": "99999", "radius_km": 5}, "commune_insee", id="unknown centre"
        ),
        pytest.param({"commune_insee": "Paris"}, "commune_insee", id="not a code"),
        pytest.param({"rome_code": "maçon"}, "rome_code", id="not a ROME code"),
        pytest.param({"contract_type": "stage"}, "contract_type", id="unknown contract type"),
    ],
)
async def test_bad_filters_are_refused_in_french(
    client: httpx.AsyncClient, params: dict[str, Any], field: str
) -> None:
    for path in PATHS:
        body = assert_problem(await client.get(path, params=params), 422, "validation-failed")
        errors = body["errors"]
        assert isinstance(errors, list)
        assert [error["loc"] for error in errors] == [["query", field]], errors
        assert all(re.search(r"[a-zé]", error["message"]) for error in errors)


# -- the three shapes ---------------------------------------------------------------------------


async def test_the_json_tells_the_clause_in_plain_words_and_only_public_facts(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    buyer_name = "Ville de Saint-Denis"
    world.buyer.name = buyer_name
    contract = await make_contract(
        db_session,
        world.buyer,
        holders=[world.employer],
        lots=[(1, "Gros œuvre"), (2, "Nettoyage")],
        status=ContractStatus.ACTIVE,
        is_npnru=True,
    )
    on_contract = await public_offer(
        db_session,
        world.employer,
        contract_id=contract.id,
        lot_id=contract.lots[0].id,
        requires_eligibility=True,
    )
    contract.lots[1].clause_kind = ClauseKind.RESERVED_SIAE
    on_reserved_lot = await public_offer(
        db_session, world.employer, contract_id=contract.id, lot_id=contract.lots[1].id
    )
    standalone = await public_offer(db_session, world.employer, title="Agent ou agente d'entretien")
    qpv_contract = await make_contract(
        db_session,
        world.buyer,
        holders=[world.employer],
        status=ContractStatus.ACTIVE,
        qpv_priority=QpvPriority.REQUIRED,
    )
    qpv_only = await public_offer(db_session, world.employer, contract_id=qpv_contract.id)
    employer_name = world.employer.name

    body = (await client.get(LIST)).json()
    offers = {item["id"]: item for item in body["items"]}
    assert set(offers) == {on_contract, on_reserved_lot, standalone, qpv_only}

    first = offers[on_contract]
    assert first["employer"] == {"name": employer_name}
    assert first["clause"]["kind"] == "execution"
    context = first["clause"]["context"]
    assert context.startswith(
        "Poste ouvert dans le cadre d'une clause sociale d'insertion d'un marché public"
    )
    assert f"« Réhabilitation de 120 logements », pour {buyer_name}" in context
    assert "rénovation urbaine" in context  # NPNRU
    assert "votre conseiller ou conseillère vous dira si c'est votre cas" in context
    assert first["requires_eligibility"] is True
    assert first["work_site"]["commune_name"] == "Saint-Denis"
    assert first["work_site"]["postal_code"] == "93200"
    assert first["work_site"]["coordinates_source"] == "commune_centroid"
    assert first["rome_label"]
    assert context in first["description"]
    assert "Pour postuler, adressez-vous à votre conseiller ou conseillère" in first["description"]
    # No internal id of anything but the offer itself, no note, no status bookkeeping.
    for absent in ("employer_id", "contract_id", "lot_id", "close_reason", "status", "is_public"):
        assert absent not in first

    # A lot's own clause kind overrides its contract's.
    assert offers[on_reserved_lot]["clause"]["kind"] == "reserved_siae"
    assert (
        "structure d'insertion par l'activité économique"
        in (offers[on_reserved_lot]["clause"]["context"])
    )
    assert offers[standalone]["clause"]["kind"] is None
    assert offers[standalone]["clause"]["context"].startswith(
        "Poste proposé par un employeur partenaire"
    )
    assert "éligibles" not in offers[standalone]["clause"]["context"]
    assert (
        "réservé aux habitantes et habitants des quartiers prioritaires"
        in (offers[qpv_only]["clause"]["context"])
    )


# JobPosting properties the feed may use, with their JSON types (schema.org / Google's guide).
_JOB_POSTING: dict[str, type | tuple[type, ...]] = {
    "@type": str,
    "identifier": dict,
    "title": str,
    "description": str,
    "datePosted": str,
    "validThrough": str,
    "employmentType": list,
    "hiringOrganization": dict,
    "jobLocation": dict,
    "occupationalCategory": str,
    "jobStartDate": str,
    "totalJobOpenings": int,
    "workHours": str,
}
_REQUIRED = {"@type", "title", "description", "datePosted", "hiringOrganization", "jobLocation"}
_NESTED: dict[str, dict[str, type | tuple[type, ...]]] = {
    "PropertyValue": {"@type": str, "name": str, "value": str},
    "Organization": {"@type": str, "name": str},
    "Place": {"@type": str, "address": dict, "geo": dict},
    "PostalAddress": {
        "@type": str,
        "addressLocality": str,
        "postalCode": str,
        "addressCountry": str,
    },
    "GeoCoordinates": {"@type": str, "latitude": (int, float), "longitude": (int, float)},
}
_EMPLOYMENT_TYPES = {
    "FULL_TIME",
    "PART_TIME",
    "CONTRACTOR",
    "TEMPORARY",
    "INTERN",
    "VOLUNTEER",
    "PER_DIEM",
    "OTHER",
}


def _check_node(node: dict[str, Any], expected_type: str) -> None:
    assert node.get("@type") == expected_type, node
    allowed = _NESTED[expected_type]
    assert set(node) <= set(allowed), (expected_type, set(node) - set(allowed))
    for name, value in node.items():
        assert isinstance(value, allowed[name]), (expected_type, name, value)


def validate_job_posting(posting: dict[str, Any]) -> None:
    """The JobPosting uses only properties it may, with their types; the required ones are there
    and the nested nodes are the schema.org types the properties expect."""
    assert posting["@type"] == "JobPosting"
    assert set(posting) <= set(_JOB_POSTING), set(posting) - set(_JOB_POSTING)
    assert set(posting) >= _REQUIRED, _REQUIRED - set(posting)
    for name, value in posting.items():
        assert isinstance(value, _JOB_POSTING[name]), (name, value)
        if isinstance(value, str):
            assert value.strip(), name
    datetime.fromisoformat(posting["datePosted"])
    if "validThrough" in posting:
        assert datetime.fromisoformat(posting["validThrough"]).tzinfo is not None
    if "jobStartDate" in posting:
        date.fromisoformat(posting["jobStartDate"])
    assert posting["employmentType"] and set(posting["employmentType"]) <= _EMPLOYMENT_TYPES
    _check_node(posting["identifier"], "PropertyValue")
    _check_node(posting["hiringOrganization"], "Organization")
    _check_node(posting["jobLocation"], "Place")
    _check_node(posting["jobLocation"]["address"], "PostalAddress")
    assert posting["jobLocation"]["address"]["addressCountry"] == "FR"
    if "geo" in posting["jobLocation"]:
        _check_node(posting["jobLocation"]["geo"], "GeoCoordinates")


async def test_the_json_ld_is_an_item_list_of_valid_job_postings(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    full_time_cdd = await public_offer(db_session, world.employer)
    part_time_cdi = await public_offer(
        db_session,
        world.employer,
        contract_type=ContractType.CDI,
        hours_per_week=Decimal("24.0"),
        end_date=None,
        commune_insee="75111",
    )
    apprenticeship = await public_offer(
        db_session, world.employer, contract_type=ContractType.APPRENTISSAGE
    )
    employer_name = world.employer.name

    response = await client.get(JSON_LD, params={"limit": 2})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/ld+json"
    body = response.json()
    assert body["@context"] == "https://schema.org"
    assert body["@type"] == "ItemList"
    assert body["numberOfItems"] == 3
    assert [element["position"] for element in body["itemListElement"]] == [1, 2]
    second = (await client.get(JSON_LD, params={"limit": 2, "page": 2})).json()
    assert [element["position"] for element in second["itemListElement"]] == [3]

    postings = {
        element["item"]["identifier"]["value"]: element["item"]
        for element in body["itemListElement"] + second["itemListElement"]
    }
    assert set(postings) == {full_time_cdd, part_time_cdi, apprenticeship}
    for posting in postings.values():
        assert posting["@type"] == "JobPosting"
        validate_job_posting(posting)
        assert posting["hiringOrganization"]["name"] == employer_name
        assert "baseSalary" not in posting

    cdd = postings[full_time_cdd]
    assert cdd["employmentType"] == ["FULL_TIME", "TEMPORARY"]
    assert cdd["validThrough"] == "2026-12-31T23:59:59+01:00"
    assert cdd["jobStartDate"] == "2026-04-01"
    assert cdd["totalJobOpenings"] == 2
    assert cdd["workHours"] == "35 h par semaine"
    assert cdd["jobLocation"]["address"]["addressLocality"] == "Saint-Denis"
    assert cdd["jobLocation"]["address"]["postalCode"] == "93200"
    assert cdd["occupationalCategory"].startswith("ROME F1703 ")
    assert "clause sociale" not in cdd["description"]  # no contract: no clause claimed
    cdi = postings[part_time_cdi]
    assert cdi["employmentType"] == ["PART_TIME"]
    assert "validThrough" not in cdi  # no end: no expiry claimed
    assert cdi["workHours"] == "24 h par semaine"
    assert postings[apprenticeship]["employmentType"] == ["FULL_TIME", "TEMPORARY"]

    # The validator itself refuses what it must.
    for broken in (
        {**cdd, "salary": "1800"},
        {k: v for k, v in cdd.items() if k != "datePosted"},
        {**cdd, "employmentType": ["CDD"]},
        {**cdd, "hiringOrganization": {"@type": "Person", "name": "Jean"}},
    ):
        with pytest.raises(AssertionError):
            validate_job_posting(broken)


async def test_the_france_travail_export_speaks_its_vocabulary(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    appellation = await db_session.scalar(
        select(RomeAppellation).where(col(RomeAppellation.rome_code) == "K2204").limit(1)
    )
    assert appellation is not None
    appellation_code, appellation_label = appellation.code, appellation.label
    insertion = await public_offer(
        db_session,
        world.employer,
        title="Agent ou agente de propreté",
        rome_code="K2204",
        appellation_code=appellation_code,
        contract_type=ContractType.CDDI,
        hours_per_week=Decimal("24.0"),
        start_date=date(2026, 4, 1),
        end_date=date(2026, 12, 31),
        positions=3,
        open_positions=3,
    )
    site_works = await public_offer(
        db_session,
        world.employer,
        contract_type=ContractType.CDI_CHANTIER,
        start_date=date(2026, 4, 1),
        end_date=date(2026, 4, 14),
    )
    apprenticeship = await public_offer(
        db_session, world.employer, contract_type=ContractType.APPRENTISSAGE, end_date=None
    )
    employer_name = world.employer.name

    response = await client.get(FRANCE_TRAVAIL)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["pagination"]["total_count"] == 3
    offers = {item["id"]: item for item in body["items"]}

    ddi = offers[insertion]
    assert ddi["intitule"] == "Agent ou agente de propreté"
    assert ddi["typeContrat"] == "DDI"
    assert ddi["natureContrat"] == "Insertion par l'activ.éco."
    assert ddi["typeContratLibelle"] == "Contrat à durée déterminée d'insertion - 9 Mois"
    assert ddi["romeCode"] == "K2204"
    assert ddi["romeLibelle"]
    assert ddi["appellationlibelle"] == appellation_label
    assert ddi["lieuTravail"] == {
        "libelle": "93 - Saint-Denis",
        "latitude": pytest.approx(ddi["lieuTravail"]["latitude"]),
        "longitude": pytest.approx(ddi["lieuTravail"]["longitude"]),
        "codePostal": "93200",
        "commune": "93066",
    }
    assert (
        48.9 < ddi["lieuTravail"]["latitude"] < 49 and 2.3 < ddi["lieuTravail"]["longitude"] < 2.4
    )
    assert ddi["dureeTravailLibelle"] == "24H/semaine"
    assert ddi["dureeTravailLibelleConverti"] == "Temps partiel"
    assert ddi["nombrePostes"] == 3
    assert ddi["dateDebut"] == "2026-04-01" and ddi["dateFin"] == "2026-12-31"
    assert ddi["entreprise"] == {"nom": employer_name}
    assert ddi["qualificationCode"] is None  # offers record no qualification
    datetime.fromisoformat(ddi["dateCreation"])
    datetime.fromisoformat(ddi["dateActualisation"])

    chantier = offers[site_works]
    assert (chantier["typeContrat"], chantier["natureContrat"]) == ("CDI", "Contrat travail")
    assert chantier["typeContratLibelle"] == "CDI de chantier ou d'opération - 14 Jour(s)"
    assert chantier["dureeTravailLibelleConverti"] == "Temps plein"
    apprentice = offers[apprenticeship]
    assert (apprentice["typeContrat"], apprentice["natureContrat"]) == (
        "CDI",
        "Contrat apprentissage",
    )
    assert apprentice["typeContratLibelle"] == "Contrat d'apprentissage"


# -- caching ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
async def test_etag_and_cache_control_answer_304_until_an_offer_changes(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory, path: str
) -> None:
    offer_id = await public_offer(db_session, world.employer)
    first = await client.get(path)
    assert first.status_code == 200, first.text
    etag = first.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    assert first.headers["cache-control"] == "public, max-age=300"

    again = await client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"] == "public, max-age=300"
    assert (
        await client.get(path, headers={"If-None-Match": f'"other", {etag}'})
    ).status_code == 304
    # Another filter is another list: another tag.
    other = await client.get(path, params={"rome_code": "K2204"}, headers={"If-None-Match": etag})
    assert other.status_code == 200 and other.headers["etag"] != etag

    offer = await db_session.get(Offer, offer_id)
    assert offer is not None
    offer.title = "Maçon ou maçonne VRD"
    await db_session.flush()
    changed = await client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200, changed.text
    assert changed.headers["etag"] != etag
    assert "Maçon ou maçonne VRD" in changed.text


# -- rate limit ---------------------------------------------------------------------------------

ClientAt = Callable[[str], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
async def limited_app(
    settings: Settings, db_session: AsyncSession, redis_client: Any
) -> AsyncIterator[FastAPI]:
    """The API with a limit of 3 requests a minute, in the test's transaction; Redis emptied."""
    application = create_app(settings.model_copy(update={"public_rate_limit_per_minute": 3}))

    async def session_in_test_transaction(request: Request) -> AsyncIterator[AsyncSession]:
        await db_session.commit()
        async with request_transaction(request, db_session) as session:
            yield session

    application.dependency_overrides[get_session] = session_in_test_transaction
    async with LifespanManager(application):
        yield application


@pytest.fixture
def client_at(limited_app: FastAPI) -> ClientAt:
    @asynccontextmanager
    async def open_client(address: str) -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=limited_app, client=(address, 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client

    return open_client


async def test_a_client_address_past_the_limit_gets_429_with_retry_after(
    client_at: ClientAt,
) -> None:
    async with client_at("127.0.0.7") as client:
        for path in PATHS:  # the three shapes share the counter
            assert (await client.get(path)).status_code == 200
        refused = await client.get(LIST, headers={"If-None-Match": '"x"'})
        body = assert_problem(refused, 429, "too-many-requests")
        retry_after = int(refused.headers["retry-after"])
        assert 1 <= retry_after <= 60
        assert body["title"] == "Trop de requêtes"
        assert body["detail"] == (
            "Trop de requêtes depuis votre adresse : au plus 3 par minute sur les offres "
            f"publiques. Réessayez dans {retry_after} secondes."
        )
        assert "127.0.0.7" not in refused.text
        assert_problem(await client.get(FRANCE_TRAVAIL), 429, "too-many-requests")
    # Another address has its own counter.
    async with client_at("127.0.0.8") as client:
        assert (await client.get(LIST)).status_code == 200


async def test_ipv6_clients_are_counted_per_64_prefix(client_at: ClientAt) -> None:
    for host in ("::1", "::2", "::3"):  # one /64
        async with client_at(host) as client:
            assert (await client.get(LIST)).status_code == 200
    async with client_at("::4") as client:
        assert_problem(await client.get(LIST), 429, "too-many-requests")
    async with client_at("0:0:0:1::1") as client:  # another /64
        assert (await client.get(LIST)).status_code == 200


async def test_the_counter_expires_with_its_window(client_at: ClientAt, redis_client: Any) -> None:
    async with client_at("127.0.0.9") as client:
        for _ in range(3):
            assert (await client.get(LIST)).status_code == 200
        assert_problem(await client.get(LIST), 429, "too-many-requests")
        keys = await redis_client.keys("maillon:public-rate:*")
        assert len(keys) == 1
        assert b"127.0.0.9" not in keys[0]  # no address in Redis
        assert 0 < await redis_client.ttl(keys[0]) <= 60
        await redis_client.delete(keys[0])  # the window has passed
        assert (await client.get(LIST)).status_code == 200


# -- no personal data ---------------------------------------------------------------------------


def _variants(value: str) -> set[str]:
    """The forms a personal value could take in an answer."""
    forms = {value.lower(), normalise_name(value)}
    if value.startswith("+33"):
        forms |= {"0" + value[3:], value[1:]}
    return {form for form in forms if form}


async def test_no_personal_field_of_any_candidate_or_user_appears_in_any_answer(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    contract = await make_contract(
        db_session, world.buyer, holders=[world.employer], status=ContractStatus.ACTIVE
    )
    offer_id = await public_offer(
        db_session, world.employer, contract_id=contract.id, requires_eligibility=True
    )
    offer = await db_session.get(Offer, offer_id)
    assert offer is not None
    # People all around the offer: hired, proposed, suggested; the employer's and the
    # territory's staff, with unmistakable names.
    for index, status in enumerate(
        (MatchStatus.HIRED, MatchStatus.PROPOSED_TO_EMPLOYER, MatchStatus.SUGGESTED)
    ):
        candidate = await make_candidate(
            db_session,
            world.agency,
            first_name=f"Zéphyrine{index}",
            last_name=f"Quintal-Rouvière{index}",
            phone_e164=f"+3361234567{index}",
            email=f"zephyrine{index}.quintal@exemple.fr",
        )
        candidate.address = f"{index + 12} rue des Glycines"
        await make_match(db_session, offer, candidate, status=status)
    for role in (Role.EMPLOYER, Role.FACILITATOR, Role.PRESCRIBER):
        organisation = {
            Role.EMPLOYER: world.employer,
            Role.FACILITATOR: world.facilitation,
            Role.PRESCRIBER: world.agency,
        }[role]
        user = await make_user(db_session, organisation, role)
        user.full_name = f"Barnabé Lheureux-{role.value}"
    await db_session.flush()
    answers = [await client.get(path) for path in PATHS]
    assert all(offer_id in ids_of(answer) for answer in answers)

    personal: set[str] = set()
    for candidate in await db_session.scalars(select(Candidate)):
        for value in (
            candidate.first_name,
            candidate.last_name,
            candidate.email,
            candidate.phone_e164,
            candidate.address,
            str(candidate.id),
        ):
            if value:
                personal |= _variants(value)
    for user in await db_session.scalars(select(User)):
        for value in (user.full_name, user.email, str(user.id)):
            personal |= _variants(value)
    assert len(personal) > 30
    for answer in answers:
        text = json.dumps(answer.json(), ensure_ascii=False)
        # Case, accents and punctuation aside: « QUINTAL rouviere » is still the person.
        forms = (text.lower(), answer.text.lower(), normalise_name(text))
        found = sorted(value for value in personal if any(value in form for form in forms))
        assert found == [], found
