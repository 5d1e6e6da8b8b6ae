"""``match.suggested`` as the notifications worker takes it: one event carrying a refresh's new
pairs, one alert per offer and prescriber, nothing written twice; ``raise_alerts`` batched."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.alerts.kinds import AlertKind
from services.core.alerts.raising import AlertRequest, raise_alerts
from services.core.db import SessionMaker
from services.core.events import MatchSuggested, SuggestedMatch, emit
from services.core.jobs import HandlerContext
from services.core.models.candidate import Candidate
from services.core.models.match import Match
from services.core.models.notification import (
    DeliveryMode,
    Notification,
    NotificationChannel,
    NotificationPreference,
    NotificationStatus,
)
from services.core.models.offer import OfferStatus
from services.core.models.organisation import Organisation, OrganisationKind
from services.core.models.user import Role
from services.core.settings import Settings
from services.notifications import handlers
from services.notifications.consumer import consumer
from services.notifications.rendering import render
from tests.factories import make_candidate, make_match, make_offer, make_organisation, make_user


def _pair(match: Match) -> SuggestedMatch:
    return SuggestedMatch(
        match_id=match.id, offer_id=match.offer_id, candidate_id=match.candidate_id
    )


async def _candidate(
    session: AsyncSession, organisation: Organisation, referent: uuid.UUID | None
) -> Candidate:
    candidate = await make_candidate(session, organisation)
    candidate.referent_organisation_id = organisation.id
    candidate.referent_prescriber_id = referent
    await session.flush()
    return candidate


async def _alerts(session: AsyncSession) -> list[Notification]:
    return list(
        await session.scalars(
            select(Notification)
            .where(col(Notification.kind) == AlertKind.MATCH_SUGGESTED.value)
            .order_by(col(Notification.key), col(Notification.recipient_user_id))
        )
    )


async def test_one_event_with_many_pairs_gives_one_alert_per_offer_and_prescriber(
    committing_sessionmaker: SessionMaker, settings: Settings
) -> None:
    async with committing_sessionmaker() as session:
        employer = await make_organisation(session)
        agency = await make_organisation(session, kind=OrganisationKind.MISSION_LOCALE)
        team = await make_organisation(session, kind=OrganisationKind.FRANCE_TRAVAIL)
        lonely = await make_organisation(session, kind=OrganisationKind.MISSION_LOCALE)
        referent = await make_user(session, agency, Role.PRESCRIBER)
        first_mate = await make_user(session, team, Role.PRESCRIBER)
        second_mate = await make_user(session, team, Role.PRESCRIBER)
        await make_user(session, team, Role.PRESCRIBER, is_active=False)  # never alerted
        await make_user(session, team, Role.FACILITATOR)  # not a prescriber
        offer_a = await make_offer(session, employer, status=OfferStatus.OPEN, title="Coffreur")
        offer_b = await make_offer(session, employer, status=OfferStatus.OPEN, title="Maçon")
        followed = [await _candidate(session, agency, referent.id) for _ in range(3)]
        by_team = await _candidate(session, team, None)  # no referent: the team's prescribers
        nobody = await _candidate(session, lonely, None)  # an organisation without prescribers
        matches = [
            await make_match(session, offer_a, followed[0], rank=4),
            await make_match(session, offer_a, followed[1], rank=2),
            await make_match(session, offer_b, followed[2], rank=7),
            await make_match(session, offer_a, by_team, rank=9),
            await make_match(session, offer_b, nobody, rank=1),
        ]
        row = emit(session, MatchSuggested(matches=tuple(_pair(m) for m in matches)))
        await session.commit()

    assert await consumer.handle(committing_sessionmaker, row.id, job_try=1, settings=settings) == (
        "handled"
    )

    async with committing_sessionmaker() as session:
        alerts = await _alerts(session)
    got = {
        (a.subject_id, a.recipient_user_id): (a.context["count"], a.context["rank"]) for a in alerts
    }
    assert got == {
        (offer_a.id, referent.id): (2, 2),  # two people they follow, the best at rank 2
        (offer_b.id, referent.id): (1, 7),
        (offer_a.id, first_mate.id): (1, 9),
        (offer_a.id, second_mate.id): (1, 9),
    }
    assert {a.key for a in alerts} == {
        f"offer:{offer_a.id}:suggested:{row.id}",
        f"offer:{offer_b.id}:suggested:{row.id}",
    }
    assert {(a.subject_type, a.channel, a.status) for a in alerts} == {
        ("offer", NotificationChannel.EMAIL, NotificationStatus.PENDING)
    }
    assert {a.organisation_id for a in alerts if a.recipient_user_id == referent.id} == {agency.id}
    titles = {a.subject_id: a.context["offer_title"] for a in alerts}
    assert titles == {offer_a.id: "Coffreur", offer_b.id: "Maçon"}

    # The job delivered again: the event is done, nothing more is written.
    assert await consumer.handle(committing_sessionmaker, row.id, job_try=1, settings=settings) == (
        "duplicate"
    )
    # Even the handler run again on the same event (its "done" mark lost) writes nothing twice:
    # alerts are keyed by the event.
    event = MatchSuggested(matches=tuple(_pair(m) for m in matches))
    async with committing_sessionmaker() as session:
        await handlers.on_match_suggested(HandlerContext(session, row.id, settings), event)
        await session.commit()
    async with committing_sessionmaker() as session:
        assert len(await _alerts(session)) == 4


async def test_an_event_of_the_old_shape_still_reads(
    committing_sessionmaker: SessionMaker, settings: Settings
) -> None:
    """An outbox row written before the pairs were batched (one flat pair) is handled."""
    async with committing_sessionmaker() as session:
        employer = await make_organisation(session)
        agency = await make_organisation(session, kind=OrganisationKind.MISSION_LOCALE)
        referent = await make_user(session, agency, Role.PRESCRIBER)
        candidate = await _candidate(session, agency, referent.id)
        offer = await make_offer(session, employer, status=OfferStatus.OPEN)
        match = await make_match(session, offer, candidate, rank=3)
        row = emit(session, MatchSuggested(matches=(_pair(match),)))
        row.payload = {
            "match_id": str(match.id),
            "offer_id": str(offer.id),
            "candidate_id": str(candidate.id),
        }
        await session.commit()

    assert await consumer.handle(committing_sessionmaker, row.id, job_try=1, settings=settings) == (
        "handled"
    )
    async with committing_sessionmaker() as session:
        (alert,) = await _alerts(session)
    assert (alert.recipient_user_id, alert.context["count"], alert.context["rank"]) == (
        referent.id,
        1,
        3,
    )


async def test_raise_alerts_writes_many_alerts_at_once_with_each_ones_preferences(
    db_session: AsyncSession,
) -> None:
    org = await make_organisation(db_session, kind=OrganisationKind.MISSION_LOCALE)
    daily = await make_user(db_session, org)
    plain = await make_user(db_session, org)
    gone = await make_user(db_session, org, is_active=False)
    db_session.add(
        NotificationPreference(
            user_id=daily.id,
            kind=AlertKind.MATCH_SUGGESTED.value,
            channels=[NotificationChannel.EMAIL.value],
            mode=DeliveryMode.DIGEST,
        )
    )
    await db_session.flush()

    def alert(kind: AlertKind, key: str, users: list[uuid.UUID]) -> AlertRequest:
        return AlertRequest(
            kind=kind,
            key=key,
            recipient_user_ids=users,
            organisation_id=org.id,
            subject_type="offer",
            subject_id=uuid.uuid4(),
            context={"count": 1},
        )

    alerts = [
        alert(AlertKind.MATCH_SUGGESTED, "m:1", [daily.id, plain.id, gone.id]),
        alert(AlertKind.MATCH_SUGGESTED, "m:2", [plain.id, plain.id]),
        # The digest preference is for match.suggested only: a reminder goes at once.
        alert(AlertKind.CALLBACK_REMINDER, "c:1", [daily.id]),
    ]
    assert await raise_alerts(db_session, alerts) == 4
    assert await raise_alerts(db_session, alerts) == 0
    assert await raise_alerts(db_session, []) == 0
    rows = await db_session.execute(
        select(col(Notification.key), col(Notification.recipient_user_id), col(Notification.status))
        .where(col(Notification.organisation_id) == org.id)
        .order_by(col(Notification.key))
    )
    assert {(key, user, status) for key, user, status in rows} == {
        ("c:1", daily.id, NotificationStatus.PENDING),
        ("m:1", daily.id, NotificationStatus.HELD),
        ("m:1", plain.id, NotificationStatus.PENDING),
        ("m:2", plain.id, NotificationStatus.PENDING),
    }


@pytest.mark.parametrize("count", [1, 3])
async def test_the_alert_says_how_many_people_are_suggested(count: int) -> None:
    context: dict[str, str | int | None] = {
        "offer_title": "Coffreur",
        "count": count,
        "rank": 2,
        "url": "https://maillon.example.org/offres/1/correspondances",
    }
    mail = render(AlertKind.MATCH_SUGGESTED.value, NotificationChannel.EMAIL, context)
    if count == 1:
        assert mail.subject == "Maillon — nouveau candidat suggéré pour « Coffreur »"
        assert "Une personne que vous accompagnez figure" in mail.body
        assert "(rang 2)" in mail.body
    else:
        assert mail.subject == "Maillon — 3 nouveaux candidats suggérés pour « Coffreur »"
        assert "3 personnes que vous accompagnez figurent" in mail.body
        assert "(meilleur rang 2)" in mail.body
