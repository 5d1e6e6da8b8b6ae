"""``/v1/callbacks``: the inbox, a case with its days left, attempts, outcomes, assignment."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.callbacks.cases import open_for_intake
from services.core.clock import FrozenClock, now
from services.core.models.candidate import Candidate
from services.core.settings import Settings
from tests.api.conftest import assert_problem
from tests.api.identity import Network, audit_entries, make_network

pytestmark = pytest.mark.usefixtures("clock")

_phones = iter(range(10, 100))


@pytest.fixture
async def network(db_session: AsyncSession, settings: Settings) -> Network:
    return await make_network(db_session, settings)


async def deposit(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    settings: Settings,
    network: Network,
    *,
    days_ago: int = 0,
    phone: str | None = None,
) -> dict[str, Any]:
    """A form keyed in by the member's front desk, then the ``intake.received`` handler."""
    form = {
        "last_name": "Benali",
        "first_name": "Samia",
        "mobile_phone": phone or f"06 12 34 {next(_phones)} 78",
        "needs": ["job"],
        "consent": True,
        "consent_text_version": "2026-01",
        "deposit_date": (now().date() - timedelta(days=days_ago)).isoformat(),
    }
    response = await client.post("/v1/intakes", json=form, headers=network.desk.headers)
    assert response.status_code == 201, response.text
    intake: dict[str, Any] = response.json()
    opened = await open_for_intake(db_session, uuid.UUID(intake["intake_id"]), settings, now())
    assert opened is not None
    await db_session.commit()
    return {"intake": intake, "case_id": str(opened.case.id)}


async def test_a_deposit_ten_days_before_the_upload_has_twenty_days_left(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings, network: Network
) -> None:
    made = await deposit(client, db_session, settings, network, days_ago=10)
    response = await client.get(f"/v1/callbacks/{made['case_id']}", headers=network.a1.headers)
    assert response.status_code == 200, response.text
    case = response.json()
    assert case["days_left"] == 20
    assert case["is_overdue"] is False
    assert case["organisation_id"] == network.member_id
    assert case["candidate"]["last_name"] == "Benali"
    assert case["attempts_left"] == 3
    assert case["came_back"] is False
    assert response.headers["etag"]
    # Reading a person's case is audited.
    reads = await audit_entries(db_session, action="read", resource_type="callback_case")
    assert [str(entry.resource_id) for entry in reads] == [made["case_id"]]


async def test_the_inbox_shows_overdue_cases_first_then_by_days_left(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings, network: Network
) -> None:
    later = await deposit(client, db_session, settings, network, days_ago=2)
    overdue = await deposit(client, db_session, settings, network, days_ago=31)
    soon = await deposit(client, db_session, settings, network, days_ago=20)
    response = await client.get("/v1/callbacks?limit=2", headers=network.a1.headers)
    assert response.status_code == 200, response.text
    page = response.json()
    assert [item["id"] for item in page["items"]] == [overdue["case_id"], soon["case_id"]]
    assert [item["days_left"] for item in page["items"]] == [-1, 10]
    assert page["items"][0]["is_overdue"] is True
    assert page["pagination"]["total_count"] == 3
    second = (await client.get("/v1/callbacks?limit=2&page=2", headers=network.a1.headers)).json()
    assert [item["id"] for item in second["items"]] == [later["case_id"]]
    lists = await audit_entries(db_session, action="list", resource_type="callback_case")
    assert sorted(lists[0].details["ids"]) == sorted([overdue["case_id"], soon["case_id"]])
    # Another organisation's counsellor sees none of them; a front desk may not list them.
    other = (await client.get("/v1/callbacks", headers=network.b1.headers)).json()
    assert other["items"] == []
    assert_problem(
        await client.get("/v1/callbacks", headers=network.desk.headers), 403, "forbidden"
    )


async def test_a_person_who_comes_back_is_visible_as_such(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings, network: Network
) -> None:
    first = await deposit(
        client, db_session, settings, network, days_ago=12, phone="06 98 76 54 32"
    )
    again = await deposit(client, db_session, settings, network, days_ago=0, phone="06 98 76 54 32")
    assert again["case_id"] == first["case_id"]
    case = (
        await client.get(f"/v1/callbacks/{first['case_id']}", headers=network.a1.headers)
    ).json()
    assert case["came_back"] is True
    assert case["returned_count"] == 1
    assert case["last_returned_on"] == now().date().isoformat()
    assert case["days_left"] == 18  # still counted from the first deposit


async def attempt(
    client: httpx.AsyncClient, case_id: str, headers: dict[str, str], result: str, **extra: Any
) -> httpx.Response:
    return await client.post(
        f"/v1/callbacks/{case_id}/attempts",
        json={"channel": "phone", "result": result, **extra},
        headers=headers,
    )


async def test_three_failed_attempts_then_a_fourth_is_refused(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    settings: Settings,
    network: Network,
    clock: FrozenClock,
) -> None:
    case_id = (await deposit(client, db_session, settings, network))["case_id"]
    first = await attempt(client, case_id, network.a1.headers, "no_answer")
    assert first.status_code == 201, first.text
    body = first.json()
    assert [a["number"] for a in body["attempts"]] == [1]
    assert body["attempts"][0]["result_label"] == "Pas de réponse"
    assert body["next_alert_kind"] == "follow_up"
    clock.advance(timedelta(minutes=5))  # (tokens last 15 minutes)
    assert (await attempt(client, case_id, network.a2.headers, "message_left")).status_code == 201
    clock.advance(timedelta(minutes=5))  # (tokens last 15 minutes)
    third = await attempt(client, case_id, network.a1.headers, "wrong_number")
    assert third.status_code == 201, third.text
    closed = third.json()
    assert (closed["status"], closed["outcome"]) == ("closed", "unreachable")
    assert closed["outcome_label"] == "Injoignable"
    assert closed["attempts_left"] == 0
    assert closed["next_alert_kind"] is None
    fourth = await attempt(client, case_id, network.a1.headers, "reached")
    problem = assert_problem(fourth, 409, "callback-attempts-exhausted")
    assert "Trois tentatives" in str(problem["detail"])
    changes = await audit_entries(db_session, action="attempt", resource_type="callback_case")
    assert [entry.details["number"] for entry in changes] == [1, 2, 3]


async def test_a_reached_person_gets_an_outcome_that_closes_the_case(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings, network: Network
) -> None:
    case_id = (await deposit(client, db_session, settings, network))["case_id"]
    url = f"/v1/callbacks/{case_id}/outcome"
    early = await client.post(url, json={"outcome": "training"}, headers=network.a1.headers)
    assert_problem(early, 409, "callback-not-reached")
    reached = await attempt(client, case_id, network.a1.headers, "reached", channel="in_person")
    assert reached.status_code == 201, reached.text
    assert_problem(
        await attempt(client, case_id, network.a1.headers, "no_answer"),
        409,
        "callback-already-reached",
    )
    chosen = await client.post(url, json={"outcome": "unreachable"}, headers=network.a1.headers)
    assert_problem(chosen, 422, "validation-failed")
    stale = await client.post(
        url, json={"outcome": "training"}, headers={**network.a1.headers, "If-Match": '"old"'}
    )
    assert_problem(stale, 412, "precondition-failed")
    done = await client.post(url, json={"outcome": "training"}, headers=network.a1.headers)
    assert done.status_code == 200, done.text
    case = done.json()
    assert (case["status"], case["outcome"]) == ("closed", "training")
    assert case["outcome_label"] == "Orientation vers une formation"
    again = await client.post(url, json={"outcome": "advice"}, headers=network.a1.headers)
    assert_problem(again, 409, "callback-closed")
    closed = await client.get("/v1/callbacks?status=closed", headers=network.a1.headers)
    assert [item["id"] for item in closed.json()["items"]] == [case_id]


async def test_an_attempt_cannot_be_in_the_future(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings, network: Network
) -> None:
    case_id = (await deposit(client, db_session, settings, network))["case_id"]
    tomorrow = (now() + timedelta(days=1)).isoformat()
    response = await attempt(client, case_id, network.a1.headers, "reached", attempted_at=tomorrow)
    problem = assert_problem(response, 422, "validation-failed")
    assert tomorrow not in str(problem)


async def test_reassigning_to_a_prescriber_and_to_another_organisation(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings, network: Network
) -> None:
    case_id = (await deposit(client, db_session, settings, network))["case_id"]
    url = f"/v1/callbacks/{case_id}/assign"
    named = await client.post(
        url, json={"prescriber_id": network.a2.id}, headers=network.a1.headers
    )
    assert named.status_code == 200, named.text
    assert named.json()["prescriber_id"] == network.a2.id
    mine = (await client.get("/v1/callbacks?mine=true", headers=network.a2.headers)).json()
    assert [item["id"] for item in mine["items"]] == [case_id]
    assert (await client.get("/v1/callbacks?mine=true", headers=network.a1.headers)).json()[
        "items"
    ] == []
    # A prescriber may not send it outside its organisation; the facilitator may, in its
    # territory only.
    outside = await client.post(
        url, json={"organisation_id": network.elsewhere_id}, headers=network.a1.headers
    )
    assert_problem(outside, 422, "validation-failed")
    not_a_member = await client.post(
        url, json={"prescriber_id": network.b1.id}, headers=network.a1.headers
    )
    assert_problem(not_a_member, 422, "validation-failed")
    moved = await client.post(
        url, json={"organisation_id": network.facilitation_id}, headers=network.facilitator.headers
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["organisation_id"] == network.facilitation_id
    assert moved.json()["prescriber_id"] is None
    # The member's prescribers no longer see it; the facilitator's organisation sees the person.
    gone = await client.get(f"/v1/callbacks/{case_id}", headers=network.a1.headers)
    assert_problem(gone, 404, "not-found")
    case = (
        await client.get(f"/v1/callbacks/{case_id}", headers=network.facilitator.headers)
    ).json()
    person = await client.get(
        f"/v1/candidates/{case['candidate']['id']}", headers=network.facilitator.headers
    )
    assert person.status_code == 200, person.text
    assigned = await audit_entries(db_session, action="assign", resource_type="callback_case")
    assert len(assigned) == 2


async def test_a_call_is_activity_on_the_persons_file(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    settings: Settings,
    network: Network,
    clock: FrozenClock,
) -> None:
    """Retention counts from the last activity (decision 0024): a call renews it."""
    deposited = await deposit(client, db_session, settings, network)
    candidate_id = uuid.UUID(deposited["intake"]["candidate_id"])
    before = await db_session.scalar(
        select(col(Candidate.last_activity_at)).where(col(Candidate.id) == candidate_id)
    )
    clock.advance(timedelta(minutes=10))  # within the access token's life
    called = await attempt(client, deposited["case_id"], network.a1.headers, "no_answer")
    assert called.status_code == 201, called.text
    after = await db_session.scalar(
        select(col(Candidate.last_activity_at)).where(col(Candidate.id) == candidate_id)
    )
    assert before is not None and after == clock.now() > before
