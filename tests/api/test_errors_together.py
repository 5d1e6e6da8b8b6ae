"""Every error of one request in one answer (decision 0047): a malformed field and a reference
the service does not know are reported together, in one ``validation-failed`` problem, and
nothing is written."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.validation import today
from services.core.models.candidate import Candidate, CandidateShare
from services.core.models.contract import Contract
from services.core.models.offer import Offer
from services.core.models.outbox import OutboxEvent
from services.core.settings import Settings
from tests.api.clause import Territory, errors_of, make_territory
from tests.api.conftest import assert_problem
from tests.api.identity import audit_entries, count, make_network

pytestmark = pytest.mark.usefixtures("reference_data")


def _person(**changes: object) -> dict[str, object]:
    return {
        "first_name": "Aïcha",
        "last_name": "Bénali",
        "phone": "06 12 34 56 78",
        "commune_insee": "93066",
        **changes,
    }


def _by_field(problem: dict[str, Any]) -> dict[str, dict[str, Any]]:
    errors: list[dict[str, Any]] = problem["errors"]
    assert len({tuple(error["loc"]) for error in errors}) == len(errors)
    return {error["loc"][1]: error for error in errors}


async def test_creating_a_candidate_reports_fields_and_references_together(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    n = await make_network(db_session, settings)
    response = await client.post(
        "/v1/candidates",
        json=_person(
            email="aicha@@exemple",
            commune_insee="99999",
            qpv_declared_code="QN99999Z",
            rome_wishes=["F9999"],
            hours_per_week=0,
            lon=13.4,
            lat=52.5,  # Berlin
        ),
        headers=n.a1.headers,
    )
    by_field = _by_field(assert_problem(response, 422, "validation-failed"))
    assert set(by_field) == {
        "email",
        "hours_per_week",
        "commune_insee",
        "qpv_declared_code",
        "rome_wishes",
        "lon",
    }
    # The same shapes and types as the intake's.
    assert by_field["email"]["message"].startswith("adresse e-mail invalide")
    assert (by_field["commune_insee"]["message"], by_field["commune_insee"]["type"]) == (
        "commune inconnue",
        "unknown",
    )
    assert by_field["qpv_declared_code"]["type"] == "unknown"
    assert by_field["rome_wishes"]["type"] == "unknown"
    assert by_field["lon"]["type"] == "coordinates-outside-france"
    assert "aicha@@exemple" not in response.text
    assert await count(db_session, Candidate) == 0
    assert await count(db_session, CandidateShare) == 0
    assert await count(db_session, OutboxEvent) == 0


async def test_a_field_refused_as_sent_is_not_reported_again_by_a_rule(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    n = await make_network(db_session, settings)
    # A malformed commune is not also « commune inconnue »; a missing name stops the rules.
    response = await client.post(
        "/v1/candidates",
        json=_person(commune_insee="123", qpv_declared_code="QN99999Z"),
        headers=n.a1.headers,
    )
    by_field = _by_field(assert_problem(response, 422, "validation-failed"))
    assert set(by_field) == {"commune_insee", "qpv_declared_code"}
    assert by_field["commune_insee"]["message"].startswith("code INSEE de commune invalide")
    nameless = await client.post(
        "/v1/candidates",
        json={"last_name": "Bénali", "email": "x@", "commune_insee": "99999"},
        headers=n.a1.headers,
    )
    assert set(_by_field(assert_problem(nameless, 422, "validation-failed"))) == {
        "first_name",
        "email",
    }
    assert await count(db_session, Candidate) == 0


async def test_changing_a_candidate_reports_fields_and_references_together(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    n = await make_network(db_session, settings)
    created = await client.post("/v1/candidates", json=_person(), headers=n.a1.headers)
    assert created.status_code == 201, created.text
    path = f"/v1/candidates/{created.json()['id']}"
    response = await client.patch(
        path,
        json={"email": "aicha@@exemple", "commune_insee": "99999", "hours_per_week": 35},
        headers={**n.a1.headers, "If-Match": created.headers["etag"]},
    )
    by_field = _by_field(assert_problem(response, 422, "validation-failed"))
    assert set(by_field) == {"email", "commune_insee"}
    assert by_field["commune_insee"]["type"] == "unknown"
    read = await client.get(path, headers=n.a1.headers)
    assert read.headers["etag"] == created.headers["etag"]
    assert read.json()["hours_per_week"] is None
    assert await count(db_session, OutboxEvent) == 1  # candidate.created only
    assert await audit_entries(db_session, action="update") == []


async def test_a_birth_year_is_one_a_person_helped_may_have(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    n = await make_network(db_session, settings)
    latest = today().year - 14
    for year in (latest + 1, 2100, 1899):
        response = await client.post(
            "/v1/candidates", json=_person(birth_year=year), headers=n.a1.headers
        )
        (error,) = errors_of(assert_problem(response, 422, "validation-failed"))
        assert error["loc"] == ["body", "birth_year"]
        if year > latest:
            assert error["message"] == f"année hors de la plage acceptée (de 1900 à {latest})"
    assert await count(db_session, Candidate) == 0
    for year, phone in ((latest, "0612345601"), (1900, "0612345602")):
        response = await client.post(
            "/v1/candidates", json=_person(birth_year=year, phone=phone), headers=n.a1.headers
        )
        assert response.status_code == 201, response.text
        assert response.json()["birth_year"] == year


# -- contracts and offers: the same mechanism ------------------------------------------------


@pytest.fixture
async def world(db_session: AsyncSession, settings: Settings) -> Territory:
    return await make_territory(db_session, settings)


def _offer(**changes: object) -> dict[str, object]:
    return {"title": "Maçon ou maçonne", "rome_code": "F1703", "commune_insee": "93066", **changes}


async def test_an_offer_reports_fields_and_references_together(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    response = await client.post(
        "/v1/offers",
        json=_offer(rome_code="F9999", end_date="9999-12-31", commune_insee="99999"),
        headers=world.employer_staff,
    )
    by_field = _by_field(assert_problem(response, 422, "validation-failed"))
    assert set(by_field) == {"rome_code", "end_date", "commune_insee"}
    assert by_field["end_date"]["type"] == "date_out_of_range"
    assert by_field["rome_code"]["type"] == "unknown"
    assert await count(db_session, Offer) == 0
    created = await client.post("/v1/offers", json=_offer(), headers=world.employer_staff)
    assert created.status_code == 201, created.text
    changed = await client.patch(
        f"/v1/offers/{created.json()['id']}",
        json={"positions": 0, "commune_insee": "99999", "title": "Coffreur"},
        headers={**world.employer_staff, "If-Match": created.headers["etag"]},
    )
    by_field = _by_field(assert_problem(changed, 422, "validation-failed"))
    assert set(by_field) == {"positions", "commune_insee"}
    offer = await db_session.get(Offer, uuid.UUID(created.json()["id"]), populate_existing=True)
    assert offer is not None and offer.title == "Maçon ou maçonne"


async def test_a_contract_reports_fields_and_references_together(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    response = await client.post(
        "/v1/contracts",
        json={
            "buyer_id": str(uuid.uuid4()),
            "reference": "2026-BAT-014",
            "title": "Réhabilitation",
            "clause_kind": "execution",
            "start_date": "2026-02-01",
            "end_date": "2027-07-31",
            "amount": "beaucoup",
            "required_insertion_hours": 3500,
            "holder_ids": [world.employer_id, str(uuid.uuid4())],
        },
        headers=world.admin,
    )
    problem = assert_problem(response, 422, "validation-failed")
    locs = {tuple(error["loc"]) for error in errors_of(problem)}
    assert locs == {("body", "amount"), ("body", "buyer_id"), ("body", "holder_ids", 1)}
    assert await count(db_session, Contract) == 0
