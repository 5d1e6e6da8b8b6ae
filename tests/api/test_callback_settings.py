"""``/v1/organisations/{id}/callback-settings``: an organisation's own alert days and office
hours (decisions 0020 and 0048)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.callbacks.cases import open_for_intake
from services.core.clock import PARIS, now
from services.core.models.callback import CallbackAlertKind, CallbackCase
from services.core.models.organisation import Organisation, OrganisationKind
from services.core.models.user import Role
from services.core.settings import Settings
from tests.api.conftest import assert_problem
from tests.api.identity import Network, account, audit_entries, make_network
from tests.factories import make_organisation

pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
async def network(db_session: AsyncSession, settings: Settings) -> Network:
    return await make_network(db_session, settings)


def url(organisation_id: str) -> str:
    return f"/v1/organisations/{organisation_id}/callback-settings"


async def test_defaults_then_own_values_move_the_open_cases_next_alert(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings, network: Network
) -> None:
    form = {
        "last_name": "Benali",
        "first_name": "Samia",
        "mobile_phone": "06 12 34 56 71",
        "needs": ["job"],
        "consent": True,
        "consent_text_version": "2026-01",
        "deposit_date": (now().date() - timedelta(days=2)).isoformat(),
    }
    intake = await client.post("/v1/intakes", json=form, headers=network.desk.headers)
    assert intake.status_code == 201, intake.text
    opened = await open_for_intake(
        db_session, uuid.UUID(intake.json()["intake_id"]), settings, now()
    )
    assert opened is not None
    case_id = opened.case.id
    await db_session.commit()

    read = await client.get(url(network.member_id), headers=network.facilitator.headers)
    assert read.status_code == 200, read.text
    assert read.json()["reminder_day"] is None
    assert read.json()["effective"]["reminder_day"] == settings.callback_reminder_day
    etag = read.headers["etag"]
    body = {"reminder_day": 7, "urgent_day": 20}
    missing = await client.put(
        url(network.member_id), json=body, headers=network.facilitator.headers
    )
    assert_problem(missing, 428, "precondition-required")
    changed = await client.put(
        url(network.member_id),
        json=body,
        headers={**network.facilitator.headers, "If-Match": etag},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["effective"]["reminder_day"] == 7
    assert changed.json()["effective"]["office_start_hour"] == settings.callback_office_start_hour
    assert changed.headers["etag"] != etag
    stale = await client.put(
        url(network.member_id), json={}, headers={**network.facilitator.headers, "If-Match": etag}
    )
    assert_problem(stale, 412, "precondition-failed")
    # The open case's reminder now falls on day 7 of its window.
    case = await db_session.get(CallbackCase, case_id, populate_existing=True)
    assert case is not None
    assert case.next_alert_kind is CallbackAlertKind.REMINDER
    assert case.next_alert_at is not None
    day = case.next_alert_at.astimezone(PARIS).date()
    assert (day - case.deposit_date).days >= 7
    assert (day - case.deposit_date).days < settings.callback_reminder_day
    entries = await audit_entries(db_session, action="update", resource_type="callback_settings")
    assert entries[0].details["fields"] == ["reminder_day", "urgent_day"]
    # Back to the instance's values.
    reset = await client.put(
        url(network.member_id),
        json={},
        headers={**network.facilitator.headers, "If-Match": changed.headers["etag"]},
    )
    assert reset.json()["reminder_day"] is None
    assert reset.json()["effective"]["reminder_day"] == settings.callback_reminder_day


async def test_values_no_schedule_could_mean_are_refused_in_french(
    client: httpx.AsyncClient, network: Network
) -> None:
    headers = {**network.facilitator.headers, "If-Match": "*"}
    for body, field in (
        ({"reminder_day": 26}, "reminder_day"),  # after the urgent alert (day 25)
        ({"urgent_day": 30}, "urgent_day"),  # not before the window closes
        ({"office_start_hour": 18, "office_end_hour": 9}, "office_start_hour"),
        ({"follow_up_working_days": 0}, "follow_up_working_days"),
        ({"reminder_day": 9999}, "reminder_day"),
    ):
        problem = assert_problem(
            await client.put(url(network.member_id), json=body, headers=headers),
            422,
            "validation-failed",
        )
        errors = problem["errors"]
        assert isinstance(errors, list)
        assert errors[0]["loc"] == ["body", field], body
    read = await client.get(url(network.member_id), headers=network.facilitator.headers)
    assert read.json()["reminder_day"] is None  # nothing written


async def test_managers_of_the_organisation_only(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings, network: Network
) -> None:
    member = await db_session.get(Organisation, uuid.UUID(network.member_id))
    assert member is not None
    manager = await account(db_session, member, Role.PRESCRIBER, settings, is_manager=True)
    await db_session.commit()
    headers = {**manager.headers, "If-Match": "*"}
    ok = await client.put(url(network.member_id), json={"reminder_day": 10}, headers=headers)
    assert ok.status_code == 200, ok.text
    # Another organisation's settings: 403 (organisations are public); an unknown one: 404.
    assert_problem(
        await client.get(url(network.elsewhere_id), headers=manager.headers), 403, "forbidden"
    )
    assert_problem(
        await client.get(url(str(uuid.uuid4())), headers=manager.headers), 404, "not-found"
    )
    for caller in (network.a1, network.desk, network.b1):
        assert_problem(
            await client.get(url(network.member_id), headers=caller.headers), 403, "forbidden"
        )
    other = await make_organisation(db_session, kind=OrganisationKind.MISSION_LOCALE)
    await db_session.commit()
    assert_problem(
        await client.put(
            url(str(other.id)), json={}, headers={**network.facilitator.headers, "If-Match": "*"}
        ),
        403,
        "forbidden",
    )
