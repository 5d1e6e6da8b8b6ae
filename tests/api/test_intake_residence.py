"""Where a person lives, recorded at intake (decision 0047): a point decides the QPV residence at
once, an address goes to the geocoding queue (decision 0015), a declaration is kept as such
(method ``declared``, never ``in_qpv``: decision 0013) — on one form, in multipart, in a batch,
and on the one-round-trip path of a form naming somebody new (decision 0036)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.api.deps import get_storage
from services.api.intake import checks
from services.api.intake.schemas import BorneForm, IntakeOutcome
from services.api.people import intakes
from services.core.db import SessionMaker, unit_of_work
from services.core.geo.qpv import QpvIndex
from services.core.geocoding.ban import BanGeocoder
from services.core.geocoding.queue import geocode_round
from services.core.models.candidate import Candidate, QpvMethod, QpvStatus
from services.core.models.intake import Intake, IntakeSource
from services.core.models.organisation import OrganisationKind
from services.core.models.user import Role
from services.core.security.principal import principal_of_user
from services.core.settings import Settings
from services.core.storage.local import LocalStorage
from tests.api.clause import Territory, count, errors_of, make_territory
from tests.api.conftest import assert_problem
from tests.core.fake_ban import Place, running_fake_ban
from tests.factories import make_organisation, make_user

pytestmark = pytest.mark.usefixtures("reference_data", "clock")

# A point in the Goutte d'Or (QPV QN07511M), Paris 18e.
GOUTTE_DOR = (2.3535, 48.8865)
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
GARDES = Place(
    lon=2.3535,
    lat=48.8865,
    score=0.93,
    label="12 Rue des Gardes 75018 Paris",
    citycode="75118",
    postcode="75018",
)


@pytest.fixture
async def world(db_session: AsyncSession, settings: Settings) -> Territory:
    return await make_territory(db_session, settings)


def form(number: int = 0, **changes: Any) -> dict[str, Any]:
    return {
        "last_name": f"Diallo{number}",
        "first_name": "Awa",
        "mobile_phone": f"06 11 22 33 {number:02d}",
        "commune_insee": "75118",
        "consent": True,
        "consent_text_version": "2026-01",
        **changes,
    }


async def stored(session: AsyncSession, candidate_id: str) -> Candidate:
    candidate = await session.get(Candidate, uuid.UUID(candidate_id))
    assert candidate is not None
    await session.refresh(candidate)
    return candidate


async def intake(
    client: httpx.AsyncClient, world: Territory, number: int = 0, **changes: Any
) -> str:
    response = await client.post("/v1/intakes", json=form(number, **changes), headers=world.desk)
    assert response.status_code == 201, response.text
    return str(response.json()["candidate_id"])


async def test_a_point_inside_a_qpv_gives_in_qpv_at_intake(
    client: httpx.AsyncClient, world: Territory, db_session: AsyncSession
) -> None:
    lon, lat = GOUTTE_DOR
    person = await stored(db_session, await intake(client, world, lon=lon, lat=lat))
    assert (person.qpv_status, person.qpv_code, person.qpv_method) == (
        QpvStatus.IN_QPV,
        "QN07511M",
        QpvMethod.COORDINATES,
    )
    assert (person.lon, person.lat, person.geocoding_due_at) == (lon, lat, None)
    assert person.qpv_polygon_version is not None


async def test_an_address_is_queued_then_geocoded_into_the_qpv(
    client: httpx.AsyncClient,
    world: Territory,
    db_session: AsyncSession,
    qpv_index: QpvIndex,
    settings: Settings,
) -> None:
    candidate_id = await intake(client, world, address="12 rue des Gardes")
    person = await stored(db_session, candidate_id)
    # Paris 18e hosts QPVs: unknown for now, and the address waits for the geocoder.
    assert (person.qpv_status, person.qpv_method) == (QpvStatus.UNKNOWN, QpvMethod.COMMUNE_ONLY)
    assert person.address == "12 rue des Gardes" and person.geocoding_due_at is not None
    # The queue's job, on the test's own transaction (its commits are savepoints).
    sessionmaker: SessionMaker = async_sessionmaker(
        bind=db_session.bind, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )
    async with running_fake_ban() as fake:
        fake.places = {"12 rue des gardes": GARDES}
        geocoder = BanGeocoder(fake.url, timeout_seconds=1.0, connect_timeout_seconds=1.0, tries=1)
        async with geocoder:
            done = await geocode_round(sessionmaker, geocoder, qpv_index, settings)
    assert (done.claimed, done.located) == (1, 1)
    person = await stored(db_session, candidate_id)
    assert (person.qpv_status, person.qpv_code, person.qpv_method) == (
        QpvStatus.IN_QPV,
        "QN07511M",
        QpvMethod.GEOCODED_ADDRESS,
    )


async def test_a_declared_residence_is_recorded_as_a_declaration(
    client: httpx.AsyncClient, world: Territory, db_session: AsyncSession
) -> None:
    declared = await stored(
        db_session, await intake(client, world, qpv_declared=True, qpv_declared_code="qn07511m")
    )
    # A statement is not evidence: unknown, with the declaration to verify.
    assert (declared.qpv_status, declared.qpv_method) == (QpvStatus.UNKNOWN, QpvMethod.DECLARED)
    assert (declared.qpv_declared, declared.qpv_declared_code) == (True, "QN07511M")
    # The code alone is a declaration too.
    coded = await stored(db_session, await intake(client, world, 1, qpv_declared_code="QN07511M"))
    assert (coded.qpv_method, coded.qpv_declared) == (QpvMethod.DECLARED, True)
    # A commune without any QPV still decides (decision 0013); the statement is kept.
    village = await stored(
        db_session, await intake(client, world, 2, commune_insee="01001", qpv_declared=True)
    )
    assert (village.qpv_status, village.qpv_method) == (
        QpvStatus.OUTSIDE_QPV,
        QpvMethod.COMMUNE_ONLY,
    )
    assert village.qpv_declared is True
    read = await client.get(f"/v1/candidates/{declared.id}", headers=world.facilitator)
    assert read.status_code == 200, read.text
    assert (read.json()["qpv_declared"], read.json()["qpv_declared_code"]) == (True, "QN07511M")


async def test_a_residence_that_cannot_be_is_refused_with_every_reason(
    client: httpx.AsyncClient, world: Territory, db_session: AsyncSession
) -> None:
    response = await client.post(
        "/v1/intakes",
        json=form(
            lon=13.4,
            lat=52.5,  # Berlin
            qpv_declared=False,
            qpv_declared_code="QN99999Z",
            address="x" * 301,
        ),
        headers=world.desk,
    )
    problem = assert_problem(response, 422, "validation-failed")
    by_field = {tuple(e["loc"]): e for e in errors_of(problem)}
    assert set(by_field) == {
        ("body", "address"),
        ("body", "lon"),
        ("body", "qpv_declared"),
        ("body", "qpv_declared_code"),
    }
    assert by_field[("body", "lon")]["type"] == "coordinates-outside-france"
    assert by_field[("body", "qpv_declared_code")]["message"].startswith(
        "quartier prioritaire inconnu"
    )
    lonely = await client.post("/v1/intakes", json=form(lon=2.35), headers=world.desk)
    (error,) = errors_of(assert_problem(lonely, 422, "validation-failed"))
    assert (error["loc"], error["message"]) == (
        ["body", "lon"],
        "longitude et latitude vont ensemble",
    )
    assert await count(db_session, Intake) == 0
    assert await count(db_session, Candidate) == 0


async def test_multipart_carries_the_residence(
    client: httpx.AsyncClient,
    world: Territory,
    db_session: AsyncSession,
    app: FastAPI,
    tmp_path: Path,
) -> None:
    app.dependency_overrides[get_storage] = lambda: LocalStorage(tmp_path)
    lon, lat = GOUTTE_DOR
    fields = {**form(), "consent": "true", "lon": str(lon), "lat": str(lat)}
    fields["qpv_declared"] = "true"
    response = await client.post(
        "/v1/intakes",
        data=fields,
        files={"cv": ("cv.pdf", PDF, "application/pdf")},
        headers=world.desk,
    )
    assert response.status_code == 201, response.text
    person = await stored(db_session, response.json()["candidate_id"])
    # The point decides; the declaration is kept beside it.
    assert (person.qpv_status, person.qpv_method) == (QpvStatus.IN_QPV, QpvMethod.COORDINATES)
    assert person.qpv_declared is True


async def test_a_batch_records_each_forms_residence(
    client: httpx.AsyncClient, world: Territory, db_session: AsyncSession
) -> None:
    lon, lat = GOUTTE_DOR
    forms = [
        form(0, lon=lon, lat=lat),
        form(1, address="12 rue des Gardes"),
        form(2, qpv_declared=True),
        form(3, qpv_declared_code="QN00000M"),  # no such quartier
    ]
    response = await client.post("/v1/intakes/batch", json={"forms": forms}, headers=world.desk)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created", "created", "created", "invalid"]
    assert [e["loc"] for e in results[3]["errors"]] == [["qpv_declared_code"]]
    pointed, addressed, declared = [
        await stored(db_session, r["candidate_id"]) for r in results[:3]
    ]
    assert (pointed.qpv_status, pointed.qpv_code) == (QpvStatus.IN_QPV, "QN07511M")
    assert (addressed.address, addressed.qpv_method) == (
        "12 rue des Gardes",
        QpvMethod.COMMUNE_ONLY,
    )
    assert addressed.geocoding_due_at is not None
    assert (declared.qpv_status, declared.qpv_method) == (QpvStatus.UNKNOWN, QpvMethod.DECLARED)


async def test_a_form_naming_somebody_new_writes_the_residence_in_one_round_trip(
    committing_sessionmaker: SessionMaker, qpv_index: QpvIndex
) -> None:
    async with unit_of_work(committing_sessionmaker) as session:
        landlord = await make_organisation(session, kind=OrganisationKind.SOCIAL_LANDLORD)
        user = await make_user(session, landlord, Role.RECEPTION)
    where = checks.Collection(
        principal=principal_of_user(user, frozenset({landlord.id})),
        source=IntakeSource.KIOSK,
        place_organisation_id=landlord.id,
        collected_on=checks.today(),
        request_id="test-residence",
        qpv=qpv_index,
        communes=frozenset({"75118"}),
    )
    checked = checks.check(
        BorneForm.model_validate(form(address="12 rue des Gardes", qpv_declared_code="QN07511M")),
        None,
        where,
    )
    assert not isinstance(checked, list), checked
    async with committing_sessionmaker() as session:
        (recorded,) = await intakes.record(session, where, [checked])
        await session.rollback()
    assert recorded.outcome is IntakeOutcome.CREATED
    async with committing_sessionmaker() as session:
        person = await session.get(Candidate, recorded.candidate_id)
        assert person is not None
        assert (person.address, person.qpv_declared, person.qpv_declared_code) == (
            "12 rue des Gardes",
            True,
            "QN07511M",
        )
        assert (person.qpv_method, person.geocoding_due_at is not None) == (
            QpvMethod.DECLARED,
            True,
        )


async def test_a_declaration_outlives_an_address_the_geocoder_cannot_place(
    client: httpx.AsyncClient,
    world: Territory,
    db_session: AsyncSession,
    qpv_index: QpvIndex,
    settings: Settings,
) -> None:
    candidate_id = await intake(client, world)
    assert (await stored(db_session, candidate_id)).qpv_method is QpvMethod.COMMUNE_ONLY
    # Said later, to a counsellor: the candidate's own edit records it the same way.
    edited = await client.patch(
        f"/v1/candidates/{candidate_id}",
        json={"qpv_declared_code": "QN07511M", "address": "nulle part"},
        headers={**world.facilitator, "If-Match": "*"},
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["qpv_method"], edited.json()["qpv_declared"]) == ("declared", True)
    unknown = await client.patch(
        f"/v1/candidates/{candidate_id}",
        json={"qpv_declared_code": "QN00000M"},
        headers={**world.facilitator, "If-Match": "*"},
    )
    assert errors_of(assert_problem(unknown, 422, "validation-failed"))[0]["loc"] == [
        "body",
        "qpv_declared_code",
    ]
    sessionmaker: SessionMaker = async_sessionmaker(
        bind=db_session.bind, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )
    async with running_fake_ban() as fake:
        geocoder = BanGeocoder(fake.url, timeout_seconds=1.0, connect_timeout_seconds=1.0, tries=1)
        async with geocoder:
            done = await geocode_round(sessionmaker, geocoder, qpv_index, settings)
    assert (done.claimed, done.unmatched) == (1, 1)
    # No point: the statement, not the commune, is what is known.
    person = await stored(db_session, candidate_id)
    assert (person.qpv_status, person.qpv_method) == (QpvStatus.UNKNOWN, QpvMethod.DECLARED)
