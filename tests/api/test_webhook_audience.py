"""Who receives which event (decision 0041): each public event type, each subscriber role,
subscriptions made through the API by users and API keys, real deliveries to a local receiver.

The world: facilitation F above a social landlord's front desk (borne), a Mission locale and an
employer; the operator (the admin's organisation); facilitation G, another territory.
Candidates: ``borne`` (collected by the landlord's borne), ``local`` (the Mission locale's),
``operator`` (registered by the operator). One open offer of the employer matches all three.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import select
from sqlmodel import col

from services.core.clock import FrozenClock
from services.core.db import SessionMaker
from services.core.events import (
    CallbackOverdue,
    CandidatePlaced,
    Event,
    MatchSuggested,
    OfferClosed,
    OfferPublished,
    SuggestedMatch,
    emit,
)
from services.core.models.api_key import ApiKey
from services.core.models.callback import CallbackCase
from services.core.models.intake import Intake, IntakeSource
from services.core.models.match import Match
from services.core.models.notification import WebhookSubscription
from services.core.models.offer import OfferStatus
from services.core.models.organisation import OrganisationKind
from services.core.models.user import Role
from services.core.security.tokens import new_api_key
from services.core.settings import Settings
from services.core.webhooks import new_secret
from services.notifications import handlers as _handlers  # noqa: F401  (registers the handlers)
from services.notifications import webhooks
from services.notifications.consumer import consumer
from tests.api.conftest import ClientFactory
from tests.factories import (
    bearer,
    make_api_key,
    make_candidate,
    make_match,
    make_offer,
    make_organisation,
    make_user,
)
from tests.notifications.servers import Request, http_server

pytestmark = pytest.mark.usefixtures("reference_data")

ALL_TYPES = [
    "offer.published",
    "offer.closed",
    "match.suggested",
    "candidate.placed",
    "callback.overdue",
]


@dataclass
class World:
    offer_id: uuid.UUID
    matches: dict[str, Match]
    candidates: dict[str, uuid.UUID]
    case_id: uuid.UUID
    # subscriber name → (how to call the API: headers) or None (written directly)
    callers: dict[str, dict[str, str]]
    legacy_reception: WebhookSubscription


async def _world(sessionmaker: SessionMaker, settings: Settings, clock: FrozenClock) -> World:
    async with sessionmaker() as session:
        facilitation = await make_organisation(session, kind=OrganisationKind.FACILITATION)
        landlord = await make_organisation(
            session, kind=OrganisationKind.SOCIAL_LANDLORD, parent=facilitation
        )
        mission = await make_organisation(
            session, kind=OrganisationKind.MISSION_LOCALE, parent=facilitation
        )
        employer = await make_organisation(session, parent=facilitation)
        operator = await make_organisation(session, kind=OrganisationKind.OTHER)
        elsewhere = await make_organisation(session, kind=OrganisationKind.FACILITATION)

        facilitator = await make_user(session, facilitation, Role.FACILITATOR)
        admin = await make_user(session, operator, Role.ADMIN)
        manager = await make_user(session, mission, Role.PRESCRIBER, is_manager=True)
        reception = await make_user(session, landlord, Role.RECEPTION)

        keys: dict[str, str] = {}
        for name, organisation, role in (
            ("employer key", employer, Role.EMPLOYER),
            ("other facilitator key", elsewhere, Role.FACILITATOR),
            ("reception key", landlord, Role.RECEPTION),
        ):
            secret = new_api_key()
            session.add(
                ApiKey(
                    organisation_id=organisation.id,
                    name=name,
                    role=role,
                    prefix=secret.prefix,
                    key_hash=secret.key_hash,
                    scopes=["webhooks:write"],
                )
            )
            keys[name] = secret.key

        borne = await make_candidate(session, landlord)
        local = await make_candidate(session, mission)
        registered = await make_candidate(session, operator)
        offer = await make_offer(session, employer, status=OfferStatus.OPEN)
        matches = {
            "borne": await make_match(session, offer, borne),
            "local": await make_match(session, offer, local),
            "operator": await make_match(session, offer, registered),
        }
        intake = Intake(
            candidate_id=local.id,
            organisation_id=mission.id,
            place_organisation_id=mission.id,
            source=IntakeSource.KIOSK,
            deposit_date=date(2026, 1, 30),
        )
        session.add(intake)
        await session.flush()
        case = CallbackCase(
            candidate_id=local.id,
            intake_id=intake.id,
            received_by_organisation_id=mission.id,
            deposit_date=intake.deposit_date,
            due_at=clock.now(),
            organisation_id=mission.id,
        )
        session.add(case)
        # A front desk's subscription made before decision 0041 (by its reception-role key).
        legacy = WebhookSubscription(
            organisation_id=landlord.id,
            url="",
            event_types=ALL_TYPES,
            secret=new_secret(),
            role=Role.RECEPTION,
        )
        session.add(legacy)
        await session.commit()
    return World(
        offer_id=offer.id,
        matches=matches,
        candidates={"borne": borne.id, "local": local.id, "operator": registered.id},
        case_id=case.id,
        callers={
            "facilitator": bearer(facilitator, settings),
            "admin": bearer(admin, settings),
            "mission locale manager": bearer(manager, settings),
            "employer key": {"X-API-Key": keys["employer key"]},
            "other facilitator key": {"X-API-Key": keys["other facilitator key"]},
            "reception user": bearer(reception, settings),
            "reception key": {"X-API-Key": keys["reception key"]},
        },
        legacy_reception=legacy,
    )


def _pair(m: Match) -> SuggestedMatch:
    return SuggestedMatch(match_id=m.id, offer_id=m.offer_id, candidate_id=m.candidate_id)


async def _handle(sessionmaker: SessionMaker, settings: Settings, event: Event) -> None:
    async with sessionmaker() as session:
        row = emit(session, event)
        await session.commit()
    assert await consumer.handle(sessionmaker, row.id, job_try=1, settings=settings) == "handled"


async def test_each_event_type_reaches_the_subscribers_whose_role_may_read_it(
    committing_sessionmaker: SessionMaker,
    settings: Settings,
    clock: FrozenClock,
    client_for: ClientFactory,
) -> None:
    world = await _world(committing_sessionmaker, settings, clock)

    async def ok(request: Request) -> tuple[int, bytes]:
        return 204, b""

    async with http_server(ok) as receiver, client_for() as api:
        # Subscriptions through the API, by users and keys alike; front desks may not subscribe.
        for name, headers in world.callers.items():
            response = await api.post(
                "/v1/webhooks",
                json={"url": f"{receiver.url}/{name.replace(' ', '-')}", "event_types": ALL_TYPES},
                headers=headers,
            )
            if name.startswith("reception"):
                assert response.status_code == 403, (name, response.text)
            else:
                assert response.status_code == 201, (name, response.text)
        roles: dict[str, str] = {}
        for headers in world.callers.values():
            listed = await api.get("/v1/webhooks", headers=headers)
            for item in listed.json().get("items", []):
                if item["url"].startswith(receiver.url):
                    roles[item["url"].rsplit("/", 1)[1]] = item["role"]
        assert roles == {
            "facilitator": "facilitator",
            "admin": "admin",
            "mission-locale-manager": "prescriber",
            "employer-key": "employer",
            "other-facilitator-key": "facilitator",
        }
        async with committing_sessionmaker() as session:
            legacy = await session.get(WebhookSubscription, world.legacy_reception.id)
            assert legacy is not None
            legacy.url = f"{receiver.url}/legacy-reception"
            await session.commit()

        m = world.matches
        for event in (
            OfferPublished(offer_id=world.offer_id),
            MatchSuggested(matches=(_pair(m["borne"]), _pair(m["local"]), _pair(m["operator"]))),
            CandidatePlaced(candidate_id=world.candidates["borne"], offer_id=world.offer_id),
            CallbackOverdue(callback_id=world.case_id),
            OfferClosed(offer_id=world.offer_id),
        ):
            await _handle(committing_sessionmaker, settings, event)
        report = await webhooks.sweep(committing_sessionmaker, settings)
    assert report.retried == report.failed == 0

    received: dict[str, list[str]] = {}
    suggested: dict[str, set[str]] = {}
    placed: dict[str, dict[str, str]] = {}
    for request in receiver.requests:
        body = json.loads(request.body)
        who = request.path.lstrip("/")
        received.setdefault(who, []).append(body["type"])
        if body["type"] == "match.suggested":
            suggested[who] = {pair["candidate_id"] for pair in body["data"]["matches"]}
        if body["type"] == "candidate.placed":
            placed[who] = body["data"]
    offers = ["offer.closed", "offer.published"]
    assert {who: sorted(types) for who, types in received.items()} == {
        # Its territory's people: the borne's and the Mission locale's, and the overdue case.
        "facilitator": sorted([*offers, "match.suggested", "candidate.placed", "callback.overdue"]),
        # The admin is no counsellor: only the people of its own organisation.
        "admin": sorted([*offers, "match.suggested"]),
        # The Mission locale's own person and case; not the borne's person it may not read.
        "mission-locale-manager": sorted([*offers, "match.suggested", "callback.overdue"]),
        # Its own offer filled; never a suggestion nor a case.
        "employer-key": sorted([*offers, "candidate.placed"]),
        # Another territory: offers only.
        "other-facilitator-key": offers,
        "legacy-reception": offers,
    }
    c = {name: str(candidate_id) for name, candidate_id in world.candidates.items()}
    assert suggested == {
        "facilitator": {c["borne"], c["local"]},
        "admin": {c["operator"]},
        "mission-locale-manager": {c["local"]},
    }
    expected_placed = {"candidate_id": c["borne"], "offer_id": str(world.offer_id)}
    assert placed == {"facilitator": expected_placed, "employer-key": expected_placed}


async def test_a_user_and_a_key_of_one_role_get_the_same_answer(
    committing_sessionmaker: SessionMaker, settings: Settings, client_for: ClientFactory
) -> None:
    """Front desks may not subscribe, neither as users nor as keys; facilitators may, both."""
    async with committing_sessionmaker() as session:
        facilitation = await make_organisation(session, kind=OrganisationKind.FACILITATION)
        landlord = await make_organisation(
            session, kind=OrganisationKind.SOCIAL_LANDLORD, parent=facilitation
        )
        callers: dict[tuple[Role, str], dict[str, str]] = {}
        for role, organisation in ((Role.RECEPTION, landlord), (Role.FACILITATOR, facilitation)):
            user = await make_user(session, organisation, role)
            callers[(role, "user")] = bearer(user, settings)
            callers[(role, "key")] = await make_api_key(
                session, organisation, role=role, scopes=["webhooks:write"]
            )
        await session.commit()
    answers: dict[tuple[Role, str], int] = {}
    async with client_for() as api:
        for (role, kind), headers in callers.items():
            response = await api.post(
                "/v1/webhooks",
                json={"url": "https://sirh.exemple.fr/hook", "event_types": ["offer.published"]},
                headers=headers,
            )
            answers[(role, kind)] = response.status_code
    assert answers == {
        (Role.RECEPTION, "user"): 403,
        (Role.RECEPTION, "key"): 403,
        (Role.FACILITATOR, "user"): 201,
        (Role.FACILITATOR, "key"): 201,
    }
    async with committing_sessionmaker() as session:
        stored = list(
            await session.scalars(
                select(col(WebhookSubscription.role)).where(
                    col(WebhookSubscription.organisation_id) == facilitation.id
                )
            )
        )
    assert stored == [Role.FACILITATOR, Role.FACILITATOR]
