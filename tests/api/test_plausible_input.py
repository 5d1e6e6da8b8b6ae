"""Values no person could mean are refused in French before they reach the database: dates out
of the plausible range (decision 0046), numbers sent as booleans or as timestamps, an eligibility
criterion expiring before its default validation day."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.models.candidate import Candidate
from services.core.models.contract import Contract
from services.core.models.eligibility import EligibilityCriterion
from services.core.models.intake import Intake
from services.core.models.offer import Offer
from services.core.settings import Settings
from tests.api.clause import Territory, count, errors_of, make_territory
from tests.api.conftest import assert_problem

pytestmark = pytest.mark.usefixtures("reference_data", "clock")

# The clock of the tests is 2026-03-02: the range is 01/01/2000 – 02/03/2036.
OUT_OF_RANGE = "date hors de la plage acceptée (du 01/01/2000 au 02/03/2036)"


@pytest.fixture
async def world(db_session: AsyncSession, settings: Settings) -> Territory:
    return await make_territory(db_session, settings)


def person(**changes: Any) -> dict[str, Any]:
    return {"first_name": "Awa", "last_name": "Diallo", "phone": "06 11 22 33 44", **changes}


def form(**changes: Any) -> dict[str, Any]:
    return {
        "last_name": "Diallo",
        "mobile_phone": "06 11 22 33 44",
        "consent": True,
        "consent_text_version": "2026-01",
        **changes,
    }


def contract(world: Territory, **changes: Any) -> dict[str, Any]:
    return {
        "buyer_id": world.buyer_id,
        "reference": "2026-BAT-014",
        "title": "Réhabilitation",
        "clause_kind": "execution",
        "start_date": "2026-02-01",
        "end_date": "2027-07-31",
        "required_insertion_hours": 3500,
        **changes,
    }


def offer(**changes: Any) -> dict[str, Any]:
    return {"title": "Maçon", "rome_code": "F1703", "commune_insee": "93066", **changes}


def only_error(response: httpx.Response) -> dict[str, Any]:
    problem = assert_problem(response, 422, "validation-failed")
    (error,) = errors_of(problem)
    return error


async def candidate_id(client: httpx.AsyncClient, world: Territory) -> str:
    response = await client.post("/v1/candidates", json=person(), headers=world.prescriber)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1999-12-31", "2036-03-03"])
async def test_a_date_out_of_the_plausible_range_is_refused_in_every_body(
    client: httpx.AsyncClient, world: Territory, db_session: AsyncSession, day: str
) -> None:
    requests: list[tuple[str, dict[str, Any], dict[str, str], list[str]]] = [
        ("/v1/candidates", person(available_from=day), world.prescriber, ["available_from"]),
        ("/v1/intakes", form(deposit_date=day), world.desk, ["deposit_date"]),
        ("/v1/intakes", form(collected_on=day), world.desk, ["collected_on"]),
        ("/v1/contracts", contract(world, start_date=day), world.facilitator, ["start_date"]),
        ("/v1/contracts", contract(world, end_date=day), world.facilitator, ["end_date"]),
        ("/v1/offers", offer(start_date=day), world.employer_staff, ["start_date"]),
        ("/v1/offers", offer(end_date=day), world.employer_staff, ["end_date"]),
    ]
    for path, body, headers, field in requests:
        error = only_error(await client.post(path, json=body, headers=headers))
        assert (error["loc"], error["type"]) == (["body", *field], "date_out_of_range"), path
        assert error["message"] == OUT_OF_RANGE
    batch = await client.post(
        "/v1/intakes/batch", json={"forms": [form(deposit_date=day)]}, headers=world.desk
    )
    assert batch.status_code == 200, batch.text
    (result,) = batch.json()["results"]
    assert result["status"] == "invalid"
    assert [(e["loc"], e["type"]) for e in result["errors"]] == [
        (["deposit_date"], "date_out_of_range")
    ]
    for model in (Candidate, Intake, Contract, Offer):
        assert await count(db_session, model) == 0


async def test_eligibility_dates_are_plausible_and_validated_no_later_than_today(
    client: httpx.AsyncClient, world: Territory, db_session: AsyncSession
) -> None:
    path = f"/v1/candidates/{await candidate_id(client, world)}/eligibility"
    for body, field in (
        ({"kind": "RSA", "expires_on": "9999-12-31"}, "expires_on"),
        ({"kind": "RSA", "validated_on": "0001-01-01"}, "validated_on"),
        # A validation has happened: tomorrow is not a validation date.
        ({"kind": "RSA", "validated_on": "2026-03-03"}, "validated_on"),
    ):
        error = only_error(await client.post(path, json=body, headers=world.facilitator))
        assert (error["loc"], error["type"]) == (["body", field], "date_out_of_range")
    assert await count(db_session, EligibilityCriterion) == 0


async def test_a_criterion_expiring_before_today_is_a_french_422_not_a_500(
    client: httpx.AsyncClient, world: Territory, db_session: AsyncSession
) -> None:
    path = f"/v1/candidates/{await candidate_id(client, world)}/eligibility"
    response = await client.post(
        path, json={"kind": "exception", "expires_on": "2020-01-01"}, headers=world.facilitator
    )
    error = only_error(response)
    assert error["message"] == (
        "la date d'expiration précède la date de validation (aujourd'hui, par défaut)"
    )
    assert await count(db_session, EligibilityCriterion) == 0
    # Expiring today, validated today by default: accepted.
    today = await client.post(
        path, json={"kind": "exception", "expires_on": "2026-03-02"}, headers=world.facilitator
    )
    assert today.status_code == 201, today.text


async def test_a_deposit_dated_1900_is_refused(
    client: httpx.AsyncClient, world: Territory, db_session: AsyncSession
) -> None:
    response = await client.post(
        "/v1/intakes", json=form(deposit_date="1900-01-01"), headers=world.desk
    )
    assert only_error(response)["loc"] == ["body", "deposit_date"]
    assert await count(db_session, Intake) == 0


@pytest.mark.parametrize(
    ("query", "field", "kind"),
    [
        ("deposited_to=0", "deposited_to", "date_type"),
        ("deposited_from=1700000000", "deposited_from", "date_type"),
        ("deposited_from=9999-12-31", "deposited_from", "date_out_of_range"),
        ("deposited_to=0001-01-01", "deposited_to", "date_out_of_range"),
    ],
)
async def test_deposit_filters_take_plausible_dates_written_as_dates(
    client: httpx.AsyncClient, world: Territory, query: str, field: str, kind: str
) -> None:
    response = await client.get(f"/v1/intakes?{query}", headers=world.desk)
    error = only_error(response)
    assert (error["loc"], error["type"]) == (["query", field], kind)
    plain = await client.get("/v1/intakes?deposited_from=2026-01-01", headers=world.desk)
    assert plain.status_code == 200, plain.text


@pytest.mark.parametrize(
    ("query", "field", "kind"),
    [
        ("to=0.5", "to", "datetime_type"),
        ("from=0", "from", "datetime_type"),
        ("from=9999-12-31T00:00:00%2B00:00", "from", "date_out_of_range"),
    ],
)
async def test_audit_bounds_are_instants_written_as_such(
    client: httpx.AsyncClient, world: Territory, query: str, field: str, kind: str
) -> None:
    error = only_error(await client.get(f"/v1/audit?{query}", headers=world.admin))
    assert (error["loc"], error["type"]) == (["query", field], kind)
    plain = await client.get("/v1/audit?from=2026-03-01T00:00:00%2B01:00", headers=world.admin)
    assert plain.status_code == 200, plain.text


async def test_an_api_key_expiring_in_year_9999_is_refused(
    client: httpx.AsyncClient, world: Territory
) -> None:
    body = {"name": "SIRH", "role": "prescriber", "scopes": ["offers:read"]}
    response = await client.post(
        "/v1/api-keys", json={**body, "expires_at": "9999-12-31T00:00:00Z"}, headers=world.admin
    )
    error = only_error(response)
    assert (error["loc"], error["type"]) == (["body", "expires_at"], "date_out_of_range")


async def test_a_report_period_out_of_range_is_refused(
    client: httpx.AsyncClient, world: Territory
) -> None:
    for quarter in ("9999-Q4", "1999-Q4"):
        response = await client.get(f"/v1/reports/callbacks?quarter={quarter}", headers=world.admin)
        error = only_error(response)
        assert (error["loc"], error["type"]) == (["query", "quarter"], "date_out_of_range")


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/candidates", person(hours_per_week=True), "hours_per_week"),
        ("/v1/candidates", person(mobility_radius_km=False), "mobility_radius_km"),
        ("/v1/candidates", person(birth_year=True), "birth_year"),
        ("/v1/candidates", person(lon=True, lat=48.9), "lon"),
        ("/v1/offers", offer(positions=True), "positions"),
        ("/v1/candidates", person(available_from=0), "available_from"),
    ],
)
async def test_a_boolean_or_a_number_is_not_what_the_field_holds(
    client: httpx.AsyncClient,
    world: Territory,
    db_session: AsyncSession,
    path: str,
    body: dict[str, Any],
    field: str,
) -> None:
    headers = world.prescriber if path == "/v1/candidates" else world.employer_staff
    error = only_error(await client.post(path, json=body, headers=headers))
    assert error["loc"] == ["body", field]
    assert error["message"] in {"nombre attendu", "date invalide (format AAAA-MM-JJ attendu)"}
    assert await count(db_session, Candidate) == 0
    assert await count(db_session, Offer) == 0
