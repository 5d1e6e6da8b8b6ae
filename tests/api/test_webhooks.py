"""Webhooks: subscriptions through the API, events fanned out to signed POSTs received by a
local server, retries until success (exactly once), disabling after 24 h of failures."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import uuid
from datetime import date, timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.alerts.kinds import AlertKind
from services.core.clock import FrozenClock
from services.core.db import SessionMaker
from services.core.events import (
    CallbackOverdue,
    Event,
    MatchSuggested,
    OfferPublished,
    SuggestedMatch,
    emit,
)
from services.core.models.audit import AuditEntry
from services.core.models.callback import CallbackCase
from services.core.models.intake import Intake, IntakeSource
from services.core.models.match import Match
from services.core.models.notification import (
    WEBHOOK_DISABLED_KIND,
    Notification,
    NotificationStatus,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookSubscription,
)
from services.core.models.offer import OfferStatus
from services.core.models.organisation import Organisation, OrganisationKind
from services.core.models.user import Role
from services.core.settings import Settings
from services.core.webhooks import new_secret
from services.notifications import handlers as _handlers  # noqa: F401  (registers the handlers)
from services.notifications import webhooks
from services.notifications.consumer import consumer
from tests.api.conftest import ClientFactory, assert_problem
from tests.factories import (
    bearer,
    make_candidate,
    make_match,
    make_offer,
    make_organisation,
    make_user,
)
from tests.notifications.servers import Request, http_server

pytestmark = pytest.mark.usefixtures("reference_data")


def expected_signature(secret: str, request: Request) -> str:
    """Standard Webhooks, computed here independently of the code under test."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = (
        f"{request.headers['webhook-id']}.{request.headers['webhook-timestamp']}.".encode()
        + request.body
    )
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


async def test_subscription_secret_is_shown_once(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    facilitation = await make_organisation(db_session, kind=OrganisationKind.FACILITATION)
    facilitator = await make_user(db_session, facilitation, Role.FACILITATOR)
    headers = bearer(facilitator, settings)
    created = await client.post(
        "/v1/webhooks",
        json={
            "url": "https://sirh.exemple.fr/maillon",
            "event_types": ["offer.published", "candidate.placed", "offer.published"],
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert len(base64.b64decode(body["secret"].removeprefix("whsec_"))) == 32
    assert body["event_types"] == ["candidate.placed", "offer.published"]
    assert body["organisation_id"] == str(facilitation.id)
    assert created.headers["location"] == f"/v1/webhooks/{body['id']}"

    read = await client.get(created.headers["location"], headers=headers)
    assert read.status_code == 200
    assert "secret" not in read.json()
    listed = await client.get("/v1/webhooks", headers=headers)
    assert all("secret" not in item for item in listed.json()["items"])

    unknown = await client.post(
        "/v1/webhooks",
        json={"url": "https://sirh.exemple.fr/", "event_types": ["candidate.created"]},
        headers=headers,
    )
    assert_problem(unknown, 422, "validation-failed")

    deleted = await client.delete(created.headers["location"], headers=headers)
    assert deleted.status_code == 204
    assert (await client.get(created.headers["location"], headers=headers)).status_code == 404


async def _subscribe(
    sessionmaker: SessionMaker,
    organisation: Organisation,
    url: str,
    event_types: list[str],
    role: Role = Role.PRESCRIBER,
) -> WebhookSubscription:
    async with sessionmaker() as session:
        subscription = WebhookSubscription(
            organisation_id=organisation.id,
            url=url,
            event_types=event_types,
            secret=new_secret(),
            role=role,
        )
        session.add(subscription)
        await session.commit()
        return subscription


async def _deliver_event(sessionmaker: SessionMaker, settings: Settings, event: Event) -> uuid.UUID:
    """Emit ``event`` (committed) and run the notifications consumer on it, as the worker does."""
    async with sessionmaker() as session:
        row = emit(session, event)
        await session.commit()
    outcome = await consumer.handle(sessionmaker, row.id, job_try=1, settings=settings)
    assert outcome == "handled"
    return row.id


async def _deliveries(
    sessionmaker: SessionMaker, subscription_id: uuid.UUID
) -> list[WebhookDelivery]:
    async with sessionmaker() as session:
        return list(
            await session.scalars(
                select(WebhookDelivery).where(
                    col(WebhookDelivery.subscription_id) == subscription_id
                )
            )
        )


async def test_a_published_offer_reaches_the_receiver_signed(
    committing_sessionmaker: SessionMaker, settings: Settings, clock: FrozenClock
) -> None:
    async with committing_sessionmaker() as session:
        employer = await make_organisation(session)
        subscriber = await make_organisation(session, kind=OrganisationKind.FACILITATION)
        offer = await make_offer(session, employer, status=OfferStatus.OPEN)
        await session.commit()

    async def ok(request: Request) -> tuple[int, bytes]:
        return 204, b""

    async with http_server(ok) as receiver:
        subscription = await _subscribe(
            committing_sessionmaker, subscriber, receiver.url + "/hook", ["offer.published"]
        )
        other = await _subscribe(
            committing_sessionmaker, subscriber, receiver.url + "/other", ["candidate.placed"]
        )
        event_id = await _deliver_event(
            committing_sessionmaker, settings, OfferPublished(offer_id=offer.id)
        )
        report = await webhooks.sweep(committing_sessionmaker, settings)

    assert report.delivered == 1
    (request,) = receiver.requests
    assert request.path == "/hook"
    assert request.headers["webhook-signature"] == expected_signature(subscription.secret, request)
    assert request.headers["webhook-timestamp"] == str(int(clock.now().timestamp()))
    assert json.loads(request.body) == {
        "version": 1,
        "type": "offer.published",
        "timestamp": "2026-03-02T09:00:00Z",
        "data": {"offer_id": str(offer.id)},
    }
    (delivery,) = await _deliveries(committing_sessionmaker, subscription.id)
    assert (delivery.event_id, delivery.status) == (event_id, WebhookDeliveryStatus.DELIVERED)
    assert request.headers["webhook-id"] == f"msg_{delivery.id}"
    assert await _deliveries(committing_sessionmaker, other.id) == []


async def test_a_receiver_failing_three_times_gets_the_event_exactly_once(
    committing_sessionmaker: SessionMaker,
    settings: Settings,
    clock: FrozenClock,
    client_for: ClientFactory,
) -> None:
    async with committing_sessionmaker() as session:
        employer = await make_organisation(session)
        subscriber = await make_organisation(session, kind=OrganisationKind.FACILITATION)
        facilitator = await make_user(session, subscriber, Role.FACILITATOR)
        offer = await make_offer(session, employer, status=OfferStatus.OPEN)
        await session.commit()
    accepted: list[str] = []

    async def flaky(request: Request) -> tuple[int, bytes]:
        if len(receiver.requests) <= 3:
            return 503, b'{"error":"indisponible"}'
        accepted.append(request.headers["webhook-id"])
        return 200, b"{}"

    async with http_server(flaky) as receiver:
        subscription = await _subscribe(
            committing_sessionmaker, subscriber, receiver.url, ["offer.published"]
        )
        await _deliver_event(committing_sessionmaker, settings, OfferPublished(offer_id=offer.id))
        for _ in range(10):
            await webhooks.sweep(committing_sessionmaker, settings)
            (delivery,) = await _deliveries(committing_sessionmaker, subscription.id)
            if delivery.status is not WebhookDeliveryStatus.PENDING:
                break
            clock.advance(delivery.next_attempt_at - clock.now())
        # Further sweeps find nothing to send.
        await webhooks.sweep(committing_sessionmaker, settings)

    assert len(receiver.requests) == 4
    assert len(accepted) == 1
    # The same message id on every try, and the same bytes.
    assert {r.headers["webhook-id"] for r in receiver.requests} == {accepted[0]}
    assert len({r.body for r in receiver.requests}) == 1
    (delivery,) = await _deliveries(committing_sessionmaker, subscription.id)
    assert (delivery.status, delivery.attempts) == (WebhookDeliveryStatus.DELIVERED, 4)

    async with client_for() as api:
        log = await api.get(
            f"/v1/webhooks/{subscription.id}/deliveries", headers=bearer(facilitator, settings)
        )
    assert log.status_code == 200
    (entry,) = log.json()["items"]
    assert entry["status"] == "delivered"
    assert entry["attempts"] == 4
    assert entry["last_status_code"] == 200


async def test_persistent_failure_disables_the_subscription_and_tells_the_managers(
    committing_sessionmaker: SessionMaker, settings: Settings, clock: FrozenClock
) -> None:
    async with committing_sessionmaker() as session:
        employer = await make_organisation(session)
        subscriber = await make_organisation(session, kind=OrganisationKind.FACILITATION)
        manager = await make_user(session, subscriber, Role.PRESCRIBER, is_manager=True)
        await make_user(session, subscriber, Role.PRESCRIBER)  # not told
        offers = [await make_offer(session, employer, status=OfferStatus.OPEN) for _ in range(2)]
        await session.commit()

    async def down(request: Request) -> tuple[int, bytes]:
        return 500, b"{}"

    async with http_server(down) as receiver:
        subscription = await _subscribe(
            committing_sessionmaker, subscriber, receiver.url, ["offer.published"]
        )
        for offer in offers:
            await _deliver_event(
                committing_sessionmaker, settings, OfferPublished(offer_id=offer.id)
            )
        start = clock.now()
        disabled = 0
        while clock.now() - start < timedelta(hours=30) and not disabled:
            disabled += (await webhooks.sweep(committing_sessionmaker, settings)).disabled
            clock.advance(timedelta(minutes=30))
        tries = len(receiver.requests)
        clock.advance(timedelta(hours=2))
        await webhooks.sweep(committing_sessionmaker, settings)
        assert len(receiver.requests) == tries  # nothing is sent any more

    assert disabled == 1
    async with committing_sessionmaker() as session:
        stored = await session.get(WebhookSubscription, subscription.id)
        assert stored is not None and stored.is_active is False
        assert stored.disabled_at is not None
        assert stored.disabled_at - start >= timedelta(hours=settings.webhook_disable_after_hours)
        notices = list(
            await session.scalars(
                select(Notification).where(col(Notification.subject_id) == subscription.id)
            )
        )
    assert [(n.recipient_user_id, n.kind, n.status) for n in notices] == [
        (manager.id, WEBHOOK_DISABLED_KIND, NotificationStatus.PENDING)
    ]
    deliveries = await _deliveries(committing_sessionmaker, subscription.id)
    assert {d.status for d in deliveries} == {WebhookDeliveryStatus.FAILED}


async def test_match_suggested_alerts_the_referent_and_reaches_the_candidates_organisation(
    committing_sessionmaker: SessionMaker, settings: Settings, clock: FrozenClock
) -> None:
    """One event carrying three pairs: each organisation's subscription gets one delivery with
    the pairs of the candidates it may know of; the referent one alert for the offer."""
    async with committing_sessionmaker() as session:
        employer = await make_organisation(session)
        agency = await make_organisation(session, kind=OrganisationKind.MISSION_LOCALE)
        elsewhere = await make_organisation(session, kind=OrganisationKind.MISSION_LOCALE)
        silent = await make_organisation(session, kind=OrganisationKind.MISSION_LOCALE)
        referent = await make_user(session, agency, Role.PRESCRIBER)
        await make_user(session, agency, Role.PRESCRIBER)  # not the referent: not alerted
        candidate = await make_candidate(session, agency)
        candidate.referent_organisation_id = agency.id
        candidate.referent_prescriber_id = referent.id
        sibling = await make_candidate(session, agency)
        sibling.referent_organisation_id = agency.id
        sibling.referent_prescriber_id = referent.id
        other = await make_candidate(session, elsewhere)
        other.referent_organisation_id = elsewhere.id
        offer = await make_offer(session, employer, status=OfferStatus.OPEN)
        match = await make_match(session, offer, candidate)
        second = await make_match(session, offer, sibling)
        third = await make_match(session, offer, other)
        await session.commit()

    async def ok(request: Request) -> tuple[int, bytes]:
        return 200, b"{}"

    def pair(m: Match) -> SuggestedMatch:
        return SuggestedMatch(match_id=m.id, offer_id=m.offer_id, candidate_id=m.candidate_id)

    async with http_server(ok) as receiver:
        mine = await _subscribe(
            committing_sessionmaker, agency, receiver.url + "/agency", ["match.suggested"]
        )
        theirs = await _subscribe(
            committing_sessionmaker, elsewhere, receiver.url + "/elsewhere", ["match.suggested"]
        )
        nobody = await _subscribe(
            committing_sessionmaker, silent, receiver.url + "/silent", ["match.suggested"]
        )
        event = MatchSuggested(matches=(pair(match), pair(second), pair(third)))
        event_id = await _deliver_event(committing_sessionmaker, settings, event)
        await webhooks.sweep(committing_sessionmaker, settings)

    bodies = {r.path: json.loads(r.body) for r in receiver.requests}
    assert sorted(bodies) == ["/agency", "/elsewhere"]
    assert bodies["/agency"]["type"] == "match.suggested"
    assert bodies["/agency"]["data"] == {
        "matches": [
            {"match_id": str(m.id), "offer_id": str(offer.id), "candidate_id": str(m.candidate_id)}
            for m in (match, second)
        ]
    }
    assert bodies["/elsewhere"]["data"]["matches"] == [
        {"match_id": str(third.id), "offer_id": str(offer.id), "candidate_id": str(other.id)}
    ]
    for request in receiver.requests:
        assert candidate.first_name is not None
        assert candidate.first_name not in request.body.decode()
    assert len(await _deliveries(committing_sessionmaker, mine.id)) == 1
    assert len(await _deliveries(committing_sessionmaker, theirs.id)) == 1
    assert await _deliveries(committing_sessionmaker, nobody.id) == []
    async with committing_sessionmaker() as session:
        alerts = list(
            await session.scalars(
                select(Notification).where(
                    col(Notification.kind) == AlertKind.MATCH_SUGGESTED.value,
                    col(Notification.subject_id) == offer.id,
                )
            )
        )
    # The referent: one alert for both people they follow; ``other``'s organisation has no
    # prescriber: nobody is alerted for them.
    assert [(a.recipient_user_id, a.key) for a in alerts] == [
        (referent.id, f"offer:{offer.id}:suggested:{event_id}")
    ]
    assert alerts[0].subject_type == "offer"
    assert alerts[0].context["offer_title"] == offer.title
    assert alerts[0].context["count"] == 2


async def test_a_hanging_receiver_times_out_and_is_tried_again(
    committing_sessionmaker: SessionMaker, settings: Settings, clock: FrozenClock
) -> None:
    async with committing_sessionmaker() as session:
        employer = await make_organisation(session)
        subscriber = await make_organisation(session, kind=OrganisationKind.FACILITATION)
        offer = await make_offer(session, employer, status=OfferStatus.OPEN)
        await session.commit()
    hang = True

    async def slow(request: Request) -> tuple[int, bytes]:
        if hang:
            await asyncio.sleep(5)
        return 200, b"{}"

    impatient = settings.model_copy(update={"webhook_timeout_seconds": 0.3})
    async with http_server(slow) as receiver:
        subscription = await _subscribe(
            committing_sessionmaker, subscriber, receiver.url, ["offer.published"]
        )
        await _deliver_event(committing_sessionmaker, settings, OfferPublished(offer_id=offer.id))
        assert (await webhooks.sweep(committing_sessionmaker, impatient)).retried == 1
        (delivery,) = await _deliveries(committing_sessionmaker, subscription.id)
        assert (delivery.status, delivery.last_error) == (
            WebhookDeliveryStatus.PENDING,
            "timeout",
        )
        hang = False
        clock.advance(delivery.next_attempt_at - clock.now())
        assert (await webhooks.sweep(committing_sessionmaker, impatient)).delivered == 1


async def test_callback_overdue_reaches_the_cases_organisation_only(
    committing_sessionmaker: SessionMaker, settings: Settings, clock: FrozenClock
) -> None:
    async with committing_sessionmaker() as session:
        agency = await make_organisation(session, kind=OrganisationKind.FRANCE_TRAVAIL)
        elsewhere = await make_organisation(session, kind=OrganisationKind.FRANCE_TRAVAIL)
        candidate = await make_candidate(session, agency)
        intake = Intake(
            candidate_id=candidate.id,
            organisation_id=agency.id,
            place_organisation_id=agency.id,
            source=IntakeSource.KIOSK,
            deposit_date=date(2026, 1, 30),
        )
        session.add(intake)
        await session.flush()
        case = CallbackCase(
            candidate_id=candidate.id,
            intake_id=intake.id,
            received_by_organisation_id=agency.id,
            deposit_date=intake.deposit_date,
            due_at=clock.now(),
            organisation_id=agency.id,
        )
        session.add(case)
        await session.commit()

    async def ok(request: Request) -> tuple[int, bytes]:
        return 200, b"{}"

    async with http_server(ok) as receiver:
        for organisation in (agency, elsewhere):
            await _subscribe(
                committing_sessionmaker, organisation, receiver.url, ["callback.overdue"]
            )
        await _deliver_event(
            committing_sessionmaker, settings, CallbackOverdue(callback_id=case.id)
        )
        assert (await webhooks.sweep(committing_sessionmaker, settings)).delivered == 1
    (request,) = receiver.requests
    assert json.loads(request.body)["data"] == {"callback_id": str(case.id)}


async def test_a_disabled_subscription_is_enabled_again_with_its_failures_forgotten(
    committing_sessionmaker: SessionMaker,
    settings: Settings,
    clock: FrozenClock,
    client_for: ClientFactory,
) -> None:
    async with committing_sessionmaker() as session:
        employer = await make_organisation(session)
        subscriber = await make_organisation(session, kind=OrganisationKind.FACILITATION)
        facilitator = await make_user(session, subscriber, Role.FACILITATOR)
        offers = [await make_offer(session, employer, status=OfferStatus.OPEN) for _ in range(2)]
        await session.commit()

    async def ok(request: Request) -> tuple[int, bytes]:
        return 200, b"{}"

    async with http_server(ok) as receiver, client_for() as api:
        subscription = await _subscribe(
            committing_sessionmaker, subscriber, receiver.url, ["offer.published"]
        )
        await _deliver_event(
            committing_sessionmaker, settings, OfferPublished(offer_id=offers[0].id)
        )
        # Disabled after a day of failures, as the sweep does it.
        async with committing_sessionmaker() as session:
            stored = await session.get(WebhookSubscription, subscription.id, with_for_update=True)
            assert stored is not None
            stored.failing_since = clock.now() - timedelta(hours=25)
            await webhooks.disable(session, stored, clock.now())
            await session.commit()
        headers = bearer(facilitator, settings)
        path = f"/v1/webhooks/{subscription.id}"
        assert (await api.get(path, headers=headers)).json()["is_active"] is False

        enabled = await api.post(f"{path}/enable", headers=headers)
        assert enabled.status_code == 200, enabled.text
        body = enabled.json()
        assert (body["is_active"], body["failing_since"], body["disabled_at"]) == (
            True,
            None,
            None,
        )
        again = await api.post(f"{path}/enable", headers=headers)  # already active: no change
        assert again.status_code == 200
        await _deliver_event(
            committing_sessionmaker, settings, OfferPublished(offer_id=offers[1].id)
        )
        assert (await webhooks.sweep(committing_sessionmaker, settings)).delivered == 1
        unknown = await api.post(f"/v1/webhooks/{uuid.uuid4()}/enable", headers=headers)
        assert_problem(unknown, 404, "not-found")

    # The event of the disabled period stays failed; the next one arrived.
    (request,) = receiver.requests
    assert json.loads(request.body)["data"] == {"offer_id": str(offers[1].id)}
    deliveries = sorted(
        await _deliveries(committing_sessionmaker, subscription.id), key=lambda d: d.created_at
    )
    assert [d.status for d in deliveries] == [
        WebhookDeliveryStatus.FAILED,
        WebhookDeliveryStatus.DELIVERED,
    ]
    assert deliveries[0].last_error == "subscription_disabled"
    async with committing_sessionmaker() as session:
        entries = list(
            await session.scalars(
                select(AuditEntry).where(
                    col(AuditEntry.resource_id) == subscription.id,
                    col(AuditEntry.action) == "enable",
                )
            )
        )
    assert [(e.actor_id, e.resource_type) for e in entries] == [
        (facilitator.id, "webhook_subscription")
    ]
