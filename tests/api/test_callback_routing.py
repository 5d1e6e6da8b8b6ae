"""Routing callback cases to the organisation that calls people back (decision 0048): rules per
organisation and borne site, round-robin among prescribers, the unassigned queue and bulk
assignment."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.callbacks.cases import open_for_intake
from services.core.clock import now
from services.core.db import SessionMaker, unit_of_work
from services.core.models.callback import CallbackCase
from services.core.models.callback_routing import CallbackRoutingRule
from services.core.models.intake import Intake, IntakeSource
from services.core.models.notification import Notification
from services.core.models.organisation import OrganisationKind
from services.core.models.user import Role
from services.core.settings import Settings
from tests.api.conftest import assert_problem
from tests.api.identity import Account, account, audit_entries
from tests.factories import make_candidate, make_organisation, make_user

pytestmark = pytest.mark.usefixtures("clock")

_phones = iter(range(10, 100))


@dataclass(frozen=True)
class Territory:
    """``facilitation`` ─┬─ ``landlord`` (front desk ``desk``, manager ``landlord_manager``;
    its agency ``site``) ─┬─ ``agency`` (prescribers ``p1`` < ``p2``, manager ``manager``) ─┬─
    ``other_agency`` (prescriber ``q1``) ─ and ``employer``. ``elsewhere`` (prescriber ``far``)
    is outside the territory."""

    facilitation_id: str
    landlord_id: str
    site_id: str
    agency_id: str
    other_agency_id: str
    employer_id: str
    elsewhere_id: str
    facilitator: Account
    desk: Account
    landlord_manager: Account
    p1: Account
    p2: Account
    manager: Account
    q1: Account
    far: Account


@pytest.fixture
async def territory(db_session: AsyncSession, settings: Settings) -> Territory:
    facilitation = await make_organisation(db_session, kind=OrganisationKind.FACILITATION)
    landlord = await make_organisation(
        db_session, kind=OrganisationKind.SOCIAL_LANDLORD, parent=facilitation
    )
    site = await make_organisation(
        db_session, kind=OrganisationKind.SOCIAL_LANDLORD, parent=landlord
    )
    agency = await make_organisation(
        db_session, kind=OrganisationKind.FRANCE_TRAVAIL, parent=facilitation
    )
    other_agency = await make_organisation(
        db_session, kind=OrganisationKind.MISSION_LOCALE, parent=facilitation
    )
    employer = await make_organisation(db_session, parent=facilitation)
    elsewhere = await make_organisation(db_session, kind=OrganisationKind.FRANCE_TRAVAIL)
    p1, p2 = sorted(
        [
            await account(db_session, agency, Role.PRESCRIBER, settings),
            await account(db_session, agency, Role.PRESCRIBER, settings),
        ],
        key=lambda a: uuid.UUID(a.id),
    )
    return Territory(
        facilitation_id=str(facilitation.id),
        landlord_id=str(landlord.id),
        site_id=str(site.id),
        agency_id=str(agency.id),
        other_agency_id=str(other_agency.id),
        employer_id=str(employer.id),
        elsewhere_id=str(elsewhere.id),
        facilitator=await account(db_session, facilitation, Role.FACILITATOR, settings),
        desk=await account(db_session, landlord, Role.RECEPTION, settings),
        landlord_manager=await account(
            db_session, landlord, Role.RECEPTION, settings, is_manager=True
        ),
        p1=p1,
        p2=p2,
        manager=await account(db_session, agency, Role.PRESCRIBER, settings, is_manager=True),
        q1=await account(db_session, other_agency, Role.PRESCRIBER, settings),
        far=await account(db_session, elsewhere, Role.PRESCRIBER, settings),
    )


async def deposit(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    settings: Settings,
    desk: Account,
    *,
    place_id: str | None = None,
) -> CallbackCase:
    """A form keyed in by the landlord's front desk, then the ``intake.received`` handler."""
    form: dict[str, Any] = {
        "last_name": "Benali",
        "first_name": "Samia",
        "mobile_phone": f"06 12 34 {next(_phones)} 78",
        "needs": ["job"],
        "consent": True,
        "consent_text_version": "2026-01",
        "deposit_date": (now().date() - timedelta(days=1)).isoformat(),
    }
    if place_id is not None:
        form["place_organisation_id"] = place_id
    response = await client.post("/v1/intakes", json=form, headers=desk.headers)
    assert response.status_code == 201, response.text
    opened = await open_for_intake(
        db_session, uuid.UUID(response.json()["intake_id"]), settings, now()
    )
    assert opened is not None and opened.created
    await db_session.commit()
    return opened.case


async def rule(client: httpx.AsyncClient, caller: Account, **body: Any) -> httpx.Response:
    return await client.post("/v1/callbacks/routing-rules", json=body, headers=caller.headers)


async def assigned_alerts(db_session: AsyncSession, case_id: uuid.UUID) -> set[str]:
    rows = await db_session.scalars(
        select(col(Notification.recipient_user_id)).where(
            col(Notification.subject_id) == case_id,
            col(Notification.kind) == "callback.assigned",
        )
    )
    return {str(row) for row in rows}


async def test_a_rule_sends_the_cases_of_a_site_to_the_prescribers_in_turn(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings, territory: Territory
) -> None:
    made = await rule(
        client,
        territory.facilitator,
        organisation_id=territory.landlord_id,
        target_organisation_id=territory.agency_id,
        round_robin=True,
    )
    assert made.status_code == 201, made.text
    cases = [await deposit(client, db_session, settings, territory.desk) for _ in range(3)]
    assert {str(case.organisation_id) for case in cases} == {territory.agency_id}
    # Prescribers only, by id, in turn (the manager is a prescriber too: the third turn).
    turns = [str(case.prescriber_id) for case in cases]
    assert turns[:2] == [territory.p1.id, territory.p2.id]
    assert turns[2] in {territory.manager.id, territory.p1.id}
    # Each named prescriber got the assignment alert, and sees the case and the person.
    for case in cases[:2]:
        assert await assigned_alerts(db_session, case.id) == {str(case.prescriber_id)}
    mine = await client.get("/v1/callbacks?mine=true", headers=territory.p1.headers)
    assert str(cases[0].id) in [item["id"] for item in mine.json()["items"]]
    person = await client.get(
        f"/v1/candidates/{cases[0].candidate_id}", headers=territory.p1.headers
    )
    assert person.status_code == 200, person.text
    # The routing is the system's act, audited with the rule.
    routed = await audit_entries(db_session, action="route", resource_type="callback_case")
    assert len(routed) == 3
    assert routed[0].details["rule_id"] == made.json()["id"]
    assert routed[0].actor_type == "system"


async def test_the_sites_own_rule_wins_and_without_rule_the_case_stays_with_the_receiver(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings, territory: Territory
) -> None:
    """The facilitation structure keys in forms of several bornes (sites) of its territory."""
    everywhere = await rule(
        client,
        territory.facilitator,
        organisation_id=territory.facilitation_id,
        target_organisation_id=territory.other_agency_id,
    )
    assert everywhere.status_code == 201, everywhere.text
    at_site = await rule(
        client,
        territory.facilitator,
        organisation_id=territory.facilitation_id,
        place_organisation_id=territory.site_id,
        target_organisation_id=territory.agency_id,
    )
    assert at_site.status_code == 201, at_site.text
    site_case = await deposit(
        client, db_session, settings, territory.facilitator, place_id=territory.site_id
    )
    other_case = await deposit(
        client, db_session, settings, territory.facilitator, place_id=territory.landlord_id
    )
    assert str(site_case.organisation_id) == territory.agency_id
    assert site_case.prescriber_id is None  # no round-robin: the organisation's queue
    assert str(other_case.organisation_id) == territory.other_agency_id
    # Without the organisation-wide rule, another site's case stays with the receiver; and the
    # landlord, which has no rule, keeps its own.
    deleted = await client.delete(
        f"/v1/callbacks/routing-rules/{everywhere.json()['id']}",
        headers=territory.facilitator.headers,
    )
    assert deleted.status_code == 204, deleted.text
    unrouted = await deposit(
        client, db_session, settings, territory.facilitator, place_id=territory.landlord_id
    )
    assert str(unrouted.organisation_id) == territory.facilitation_id
    kept = await deposit(client, db_session, settings, territory.desk)
    assert str(kept.organisation_id) == territory.landlord_id


async def test_a_manager_routes_what_its_organisation_collects(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings, territory: Territory
) -> None:
    made = await rule(
        client,
        territory.landlord_manager,
        organisation_id=territory.landlord_id,
        target_organisation_id=territory.other_agency_id,
    )
    assert made.status_code == 201, made.text
    case = await deposit(client, db_session, settings, territory.desk)
    assert str(case.organisation_id) == territory.other_agency_id
    # The receiving prescriber's inbox holds it: what a prescriber did not see before.
    inbox = await client.get("/v1/callbacks", headers=territory.q1.headers)
    assert [item["id"] for item in inbox.json()["items"]] == [str(case.id)]


async def test_who_may_make_a_rule_and_what_it_may_name(
    client: httpx.AsyncClient, db_session: AsyncSession, territory: Territory
) -> None:
    body = {"organisation_id": territory.landlord_id, "target_organisation_id": territory.agency_id}
    assert_problem(await rule(client, territory.p1, **body), 403, "forbidden")
    assert_problem(await rule(client, territory.desk, **body), 403, "forbidden")
    # A manager of the target does not decide what the landlord shares with it.
    assert_problem(await rule(client, territory.manager, **body), 403, "forbidden")
    employer = await rule(
        client, territory.facilitator, **{**body, "target_organisation_id": territory.employer_id}
    )
    problem = assert_problem(employer, 422, "validation-failed")
    errors = problem["errors"]
    assert isinstance(errors, list)
    assert errors[0]["loc"] == ["body", "target_organisation_id"]
    outside = await rule(
        client, territory.facilitator, **{**body, "target_organisation_id": territory.elsewhere_id}
    )
    assert_problem(outside, 422, "validation-failed")
    not_mine = await rule(
        client, territory.facilitator, **{**body, "organisation_id": territory.elsewhere_id}
    )
    assert_problem(not_mine, 403, "forbidden")
    assert (await rule(client, territory.facilitator, **body)).status_code == 201
    twice = await rule(client, territory.facilitator, **body)
    assert_problem(twice, 409, "routing-rule-exists")
    # Managers of the organisation and of the target see the rule; a prescriber may not list.
    for caller in (territory.landlord_manager, territory.manager, territory.facilitator):
        listed = await client.get("/v1/callbacks/routing-rules", headers=caller.headers)
        assert [item["target_organisation_id"] for item in listed.json()["items"]] == [
            territory.agency_id
        ], caller
    assert_problem(
        await client.get("/v1/callbacks/routing-rules", headers=territory.p1.headers),
        403,
        "forbidden",
    )
    created = await audit_entries(
        db_session, action="create", resource_type="callback_routing_rule"
    )
    assert len(created) == 1


async def test_the_unassigned_queue_and_bulk_assignment_all_or_nothing(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings, territory: Territory
) -> None:
    await rule(
        client,
        territory.facilitator,
        organisation_id=territory.landlord_id,
        target_organisation_id=territory.agency_id,
    )
    cases = [await deposit(client, db_session, settings, territory.desk) for _ in range(3)]
    case_ids = [case.id for case in cases]
    ids = [str(case_id) for case_id in case_ids]
    queue = await client.get("/v1/callbacks?unassigned=true", headers=territory.manager.headers)
    assert queue.status_code == 200, queue.text
    assert sorted(item["id"] for item in queue.json()["items"]) == sorted(ids)
    url = "/v1/callbacks/assignments"
    # A case outside the caller's reach, a closed one or a duplicate: nothing changes.
    # Rows expire when a request rolls back: ids are kept as strings.
    far_id = str((await deposit(client, db_session, settings, territory.desk)).id)
    far = await client.post(
        url,
        json={"callback_ids": [*ids, str(uuid.uuid4())], "prescriber_id": territory.p2.id},
        headers=territory.manager.headers,
    )
    problem = assert_problem(far, 404, "not-found")
    assert "positions 3 " in str(problem["detail"])
    twice = await client.post(
        url, json={"callback_ids": [ids[0], ids[0]]}, headers=territory.manager.headers
    )
    assert_problem(twice, 422, "validation-failed")
    wrong = await client.post(
        url,
        json={"callback_ids": ids, "prescriber_id": territory.q1.id},
        headers=territory.manager.headers,
    )
    assert_problem(wrong, 422, "validation-failed")
    outcome = await client.post(
        f"/v1/callbacks/{far_id}/attempts",
        json={"channel": "phone", "result": "reached"},
        headers=territory.manager.headers,
    )
    assert outcome.status_code == 201, outcome.text
    closing = await client.post(
        f"/v1/callbacks/{far_id}/outcome",
        json={"outcome": "advice"},
        headers=territory.manager.headers,
    )
    assert closing.status_code == 200, closing.text
    closed = await client.post(
        url,
        json={"callback_ids": [*ids, str(far_id)], "prescriber_id": territory.p2.id},
        headers=territory.manager.headers,
    )
    assert_problem(closed, 409, "callback-closed")
    still = await client.get("/v1/callbacks?unassigned=true", headers=territory.manager.headers)
    assert len(still.json()["items"]) == 3
    # All of them, to one prescriber: the queue empties, each assignment alerted and audited.
    done = await client.post(
        url,
        json={"callback_ids": ids, "prescriber_id": territory.p2.id},
        headers=territory.manager.headers,
    )
    assert done.status_code == 200, done.text
    assert done.json()["assigned"] == 3
    empty = await client.get("/v1/callbacks?unassigned=true", headers=territory.manager.headers)
    assert empty.json()["items"] == []
    mine = await client.get("/v1/callbacks?mine=true", headers=territory.p2.headers)
    assert sorted(item["id"] for item in mine.json()["items"]) == sorted(ids)
    for case_id in case_ids:
        assert territory.p2.id in await assigned_alerts(db_session, case_id)
    assigned = await audit_entries(db_session, action="assign", resource_type="callback_case")
    assert len(assigned) == 3
    # A front desk may not assign; another organisation's prescriber finds none of them.
    assert_problem(
        await client.post(url, json={"callback_ids": ids}, headers=territory.desk.headers),
        403,
        "forbidden",
    )
    assert_problem(
        await client.post(url, json={"callback_ids": ids}, headers=territory.far.headers),
        404,
        "not-found",
    )


async def test_cases_opened_at_once_take_turns_without_sharing_one(
    committing_sessionmaker: SessionMaker, settings: Settings
) -> None:
    async with committing_sessionmaker() as session:
        landlord = await make_organisation(session, kind=OrganisationKind.SOCIAL_LANDLORD)
        agency = await make_organisation(session, kind=OrganisationKind.FRANCE_TRAVAIL)
        prescribers = sorted(
            [(await make_user(session, agency, Role.PRESCRIBER)).id for _ in range(2)]
        )
        session.add(
            CallbackRoutingRule(
                organisation_id=landlord.id, target_organisation_id=agency.id, round_robin=True
            )
        )
        intake_ids = []
        for _ in range(6):
            person = await make_candidate(session, landlord)
            intake = Intake(
                candidate_id=person.id,
                organisation_id=landlord.id,
                place_organisation_id=landlord.id,
                source=IntakeSource.KIOSK,
                deposit_date=now().date(),
            )
            session.add(intake)
            await session.flush()
            intake_ids.append(intake.id)
        await session.commit()

    async def open_one(intake_id: uuid.UUID) -> uuid.UUID | None:
        async with unit_of_work(committing_sessionmaker) as session:
            opened = await open_for_intake(session, intake_id, settings, now())
            assert opened is not None
            return opened.case.prescriber_id

    turns = await asyncio.gather(*(open_one(intake_id) for intake_id in intake_ids))
    # Six cases, two prescribers: three each, whatever the order the openings ran in.
    assert sorted(str(turn) for turn in turns) == sorted(str(p) for p in prescribers * 3)
