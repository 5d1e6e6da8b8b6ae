"""Sending notification rows: a real SMTP server, a local SMS provider, retries and digests."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import SecretStr
from sqlalchemy import select
from sqlmodel import col

from services.core.alerts.kinds import AlertKind
from services.core.alerts.raising import AlertRequest, raise_alert
from services.core.alerts.sms_status import SIGNATURE_HEADER, signature
from services.core.clock import FrozenClock
from services.core.db import SessionMaker
from services.core.models.notification import (
    DeliveryMode,
    Notification,
    NotificationChannel,
    NotificationContact,
    NotificationPreference,
    NotificationStatus,
)
from services.core.models.user import User
from services.core.settings import Settings
from services.notifications import delivery, tasks
from services.notifications.channels.gsm7 import is_gsm7, segments
from tests.api.conftest import ClientFactory
from tests.notifications.conftest import Team
from tests.notifications.servers import Request, SmtpSink, free_port, http_server, smtp_server


def smtp_settings(settings: Settings, port: int) -> Settings:
    return settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none"}
    )


def reminder(team: Team, key: str = "callback:c1:reminder") -> AlertRequest:
    return AlertRequest(
        kind=AlertKind.CALLBACK_REMINDER,
        key=key,
        recipient_user_ids=[team.prescribers[0].id],
        organisation_id=team.organisation.id,
        subject_type="callback_case",
        subject_id=uuid.uuid4(),
        context={
            "case_reference": "RAP-2026-0042",
            "days_left": 16,
            "due_date": "01/04/2026",
            "url": "https://maillon.example.org/rappels/42",
        },
    )


async def rows(sessionmaker: SessionMaker, key: str) -> list[Notification]:
    async with sessionmaker() as session:
        result = await session.execute(
            select(Notification).where(col(Notification.key) == key).order_by(col(Notification.id))
        )
        return list(result.scalars())


async def test_alert_email_reaches_a_real_smtp_server_in_french(
    committing_sessionmaker: SessionMaker, settings: Settings, team: Team, clock: FrozenClock
) -> None:
    async with committing_sessionmaker() as session:
        assert await raise_alert(session, reminder(team)) == 1
        await session.commit()
    sink = SmtpSink()
    with smtp_server(sink) as port:
        report = await delivery.sweep(committing_sessionmaker, smtp_settings(settings, port))

    assert report.as_dict() == {"sent": 1, "retried": 0, "failed": 0}
    (message,) = sink.messages
    assert message["To"] == team.prescribers[0].email
    assert message["Subject"] == "Maillon — relance : aucun rappel tenté (RAP-2026-0042)"
    body = message.get_content()
    assert "Aucune tentative de rappel n'a encore été enregistrée" in body
    assert "Dossier de rappel RAP-2026-0042 — 16 jours restants (échéance le 01/04/2026)" in body
    assert "https://maillon.example.org/rappels/42" in body
    (row,) = await rows(committing_sessionmaker, "callback:c1:reminder")
    assert row.status is NotificationStatus.SENT
    assert row.sent_at == clock.now()
    assert message["Message-ID"] == f"<{row.id}@maillon.notifications>"


async def test_an_accepted_message_is_marked_sent_before_the_smtp_session_ends(
    committing_sessionmaker: SessionMaker, settings: Settings, team: Team, clock: FrozenClock
) -> None:
    """The crash window (decision 0072): from the server's acceptance to the row's mark, nothing
    else — not the ``QUIT`` round trip, which a slow or stuck server can make last."""
    async with committing_sessionmaker() as session:
        await raise_alert(session, reminder(team))
        await session.commit()
    sink = SmtpSink(stall_quit=True)
    with smtp_server(sink) as port:
        sweeping = asyncio.create_task(
            delivery.sweep(committing_sessionmaker, smtp_settings(settings, port))
        )
        for _ in range(400):
            if sink.quitting.is_set() or sweeping.done():
                break
            await asyncio.sleep(0.05)
        assert sink.quitting.is_set() and len(sink.messages) == 1
        # The server still holds the answer to QUIT: the row is already marked.
        (row,) = await rows(committing_sessionmaker, "callback:c1:reminder")
        assert (row.status, row.sent_at, row.lease_until) == (
            NotificationStatus.SENT,
            clock.now(),
            None,
        )
        sink.release.set()
        report = await asyncio.wait_for(sweeping, timeout=30)
    assert report.as_dict() == {"sent": 1, "retried": 0, "failed": 0}


async def test_same_alert_raised_twice_is_sent_once(
    committing_sessionmaker: SessionMaker, settings: Settings, team: Team, clock: FrozenClock
) -> None:
    sink = SmtpSink()
    with smtp_server(sink) as port:
        for _ in range(2):
            async with committing_sessionmaker() as session:
                await raise_alert(session, reminder(team))
                await session.commit()
            await delivery.sweep(committing_sessionmaker, smtp_settings(settings, port))
    assert len(sink.messages) == 1


async def test_smtp_refusal_is_retried_with_backoff_then_failed_after_24_hours(
    committing_sessionmaker: SessionMaker, settings: Settings, team: Team, clock: FrozenClock
) -> None:
    async with committing_sessionmaker() as session:
        await raise_alert(session, reminder(team))
        await session.commit()
    sink = SmtpSink(refuse=True)
    key = "callback:c1:reminder"
    with smtp_server(sink) as port:
        s = smtp_settings(settings, port)
        assert (await delivery.sweep(committing_sessionmaker, s)).retried == 1
        (row,) = await rows(committing_sessionmaker, key)
        assert (row.status, row.attempts) == (NotificationStatus.PENDING, 1)
        first_retry = row.next_attempt_at
        assert first_retry > clock.now()
        # Not due yet: nothing is tried.
        assert (await delivery.sweep(committing_sessionmaker, s)).as_dict()["retried"] == 0
        delays = []
        while row.status is NotificationStatus.PENDING:
            delays.append(row.next_attempt_at - clock.now())
            clock.advance(row.next_attempt_at - clock.now())
            await delivery.sweep(committing_sessionmaker, s)
            (row,) = await rows(committing_sessionmaker, key)
    assert row.status is NotificationStatus.FAILED
    assert row.failed_at is not None
    assert row.failed_at - row.created_at <= timedelta(hours=24)
    assert row.last_error is not None and "451" in row.last_error
    # Backoff grows (exponential, capped at the maximum).
    assert delays[1] > delays[0]
    assert max(delays) <= timedelta(seconds=settings.notification_retry_max_seconds * 1.2)
    assert sink.messages == []


async def test_sms_goes_to_the_provider_in_gsm7_without_personal_data(
    committing_sessionmaker: SessionMaker, settings: Settings, team: Team, clock: FrozenClock
) -> None:
    user = team.prescribers[0]
    async with committing_sessionmaker() as session:
        session.add(NotificationContact(user_id=user.id, sms_phone="+33612345678"))
        session.add(
            NotificationPreference(
                user_id=user.id, kind=AlertKind.CALLBACK_URGENT.value, channels=["sms"]
            )
        )
        await session.commit()
        alert = reminder(team, "callback:c1:urgent")
        alert = AlertRequest(**{**alert.__dict__, "kind": AlertKind.CALLBACK_URGENT})
        await raise_alert(session, alert)
        await session.commit()

    async def provider(request: Request) -> tuple[int, bytes]:
        return 201, json.dumps({"id": f"sms-{len(server.requests)}"}).encode()

    async with http_server(provider) as server:
        s = settings.model_copy(
            update={"sms_base_url": server.url + "/api", "sms_api_key": SecretStr("cle-sms")}
        )
        assert (await delivery.sweep(committing_sessionmaker, s)).sent == 1

    (request,) = server.requests
    assert (request.method, request.path) == ("POST", "/api/messages")
    assert request.headers["authorization"] == "Bearer cle-sms"
    payload = request.json()
    assert payload["to"] == "+33612345678"
    text = payload["text"]
    assert text == "Maillon URGENT : rappel a faire, dossier RAP-2026-0042, 16 j restants."
    assert is_gsm7(text) and segments(text) == 1
    assert user.full_name not in text
    (row,) = await rows(committing_sessionmaker, "callback:c1:urgent")
    assert (row.channel, row.status, row.provider_message_id) == (
        NotificationChannel.SMS,
        NotificationStatus.SENT,
        "sms-1",
    )


async def test_sms_provider_refusal_fails_the_row_at_once(
    committing_sessionmaker: SessionMaker, settings: Settings, team: Team, clock: FrozenClock
) -> None:
    user = team.prescribers[0]
    async with committing_sessionmaker() as session:
        session.add(NotificationContact(user_id=user.id, sms_phone="+33612345678"))
        session.add(
            NotificationPreference(
                user_id=user.id, kind=AlertKind.CALLBACK_REMINDER.value, channels=["sms"]
            )
        )
        await session.commit()
        await raise_alert(session, reminder(team))
        await session.commit()

    async def provider(request: Request) -> tuple[int, bytes]:
        return 400, b'{"error":"numero invalide"}'

    async with http_server(provider) as server:
        s = settings.model_copy(update={"sms_base_url": server.url, "sms_api_key": SecretStr("k")})
        assert (await delivery.sweep(committing_sessionmaker, s)).failed == 1
    (row,) = await rows(committing_sessionmaker, "callback:c1:reminder")
    assert row.status is NotificationStatus.FAILED
    assert row.last_error == "fournisseur SMS : HTTP 400"


async def test_daily_digest_gathers_held_alerts_into_one_email(
    committing_sessionmaker: SessionMaker, settings: Settings, team: Team, clock: FrozenClock
) -> None:
    user = team.prescribers[0]
    async with committing_sessionmaker() as session:
        session.add(
            NotificationPreference(
                user_id=user.id,
                kind=AlertKind.CALLBACK_REMINDER.value,
                channels=["email"],
                mode=DeliveryMode.DIGEST,
            )
        )
        await session.commit()
        for n in (1, 2, 3):
            await raise_alert(session, reminder(team, f"callback:c{n}:reminder"))
        await session.commit()
    sink = SmtpSink()
    with smtp_server(sink) as port:
        s = smtp_settings(settings, port)
        assert (await delivery.sweep(committing_sessionmaker, s)).sent == 0
        assert await delivery.build_digests(committing_sessionmaker) == 1
        assert await delivery.build_digests(committing_sessionmaker) == 0
        assert (await delivery.sweep(committing_sessionmaker, s)).sent == 1

    (message,) = sink.messages
    assert message["Subject"] == "Maillon — votre récapitulatif du jour (3 alertes)"
    body = message.get_content()
    assert body.count("Relance : aucune tentative de rappel au 14e jour") == 3
    for n in (1, 2, 3):
        (row,) = await rows(committing_sessionmaker, f"callback:c{n}:reminder")
        assert row.status is NotificationStatus.SENT
        assert row.digest_id is not None


async def test_alert_to_a_user_deactivated_since_is_cancelled_not_sent(
    committing_sessionmaker: SessionMaker, settings: Settings, team: Team, clock: FrozenClock
) -> None:
    async with committing_sessionmaker() as session:
        await raise_alert(session, reminder(team))
        user = await session.get(User, team.prescribers[0].id)
        assert user is not None
        user.is_active = False
        await session.commit()
    sink = SmtpSink()
    with smtp_server(sink) as port:
        assert (
            await delivery.sweep(committing_sessionmaker, smtp_settings(settings, port))
        ).sent == 0
    assert sink.messages == []
    (row,) = await rows(committing_sessionmaker, "callback:c1:reminder")
    assert row.status is NotificationStatus.CANCELLED


async def test_sms_provider_busy_or_down_is_tried_again(
    committing_sessionmaker: SessionMaker, settings: Settings, team: Team, clock: FrozenClock
) -> None:
    user = team.prescribers[0]
    async with committing_sessionmaker() as session:
        session.add(NotificationContact(user_id=user.id, sms_phone="+33612345678"))
        session.add(
            NotificationPreference(
                user_id=user.id, kind=AlertKind.CALLBACK_REMINDER.value, channels=["sms"]
            )
        )
        await session.commit()
        await raise_alert(session, reminder(team))
        await session.commit()
    answers = [(429, b'{"error":"trop de requetes"}'), (201, b'{"id":"ok-1"}')]

    async def provider(request: Request) -> tuple[int, bytes]:
        return answers.pop(0)

    key = "callback:c1:reminder"
    async with http_server(provider) as server:
        s = settings.model_copy(update={"sms_base_url": server.url, "sms_api_key": SecretStr("k")})
        assert (await delivery.sweep(committing_sessionmaker, s)).retried == 1
        (row,) = await rows(committing_sessionmaker, key)
        assert (row.status, row.last_error) == (
            NotificationStatus.PENDING,
            "fournisseur SMS : HTTP 429",
        )
        clock.advance(row.next_attempt_at - clock.now())
        assert (await delivery.sweep(committing_sessionmaker, s)).sent == 1
    (row,) = await rows(committing_sessionmaker, key)
    assert (row.status, row.provider_message_id, row.attempts) == (
        NotificationStatus.SENT,
        "ok-1",
        2,
    )
    # The same client reference on each try: a provider that deduplicates by it drops a message
    # sent again (decision 0072).
    assert [r.json()["reference"] for r in server.requests] == [str(row.id)] * 2
    # The provider gone altogether: a connection error, tried again later as well.
    async with committing_sessionmaker() as session:
        await raise_alert(session, reminder(team, "callback:c2:reminder"))
        await session.commit()
    gone = settings.model_copy(
        update={"sms_base_url": f"http://127.0.0.1:{free_port()}", "sms_api_key": SecretStr("k")}
    )
    assert (await delivery.sweep(committing_sessionmaker, gone)).retried == 1
    (row,) = await rows(committing_sessionmaker, "callback:c2:reminder")
    assert (row.status, row.last_error) == (NotificationStatus.PENDING, "ConnectError")


async def test_the_digest_job_acts_at_the_digest_hour_of_working_days_only(
    committing_sessionmaker: SessionMaker, settings: Settings, team: Team, clock: FrozenClock
) -> None:
    user = team.prescribers[0]
    async with committing_sessionmaker() as session:
        session.add(
            NotificationPreference(
                user_id=user.id,
                kind=AlertKind.CALLBACK_REMINDER.value,
                channels=["email"],
                mode=DeliveryMode.DIGEST,
            )
        )
        await session.commit()
        await raise_alert(session, reminder(team))
        await session.commit()
    ctx = {"settings": settings, "sessionmaker": committing_sessionmaker}
    paris = ZoneInfo("Europe/Paris")
    hour = settings.notification_digest_hour
    # Saturday 7 March 2026, then Monday 9 at the hour before, then at the digest hour.
    for moment, expected in (
        (datetime(2026, 3, 7, hour, 2, tzinfo=paris), 0),
        (datetime(2026, 3, 9, hour - 1, 2, tzinfo=paris), 0),
        (datetime(2026, 3, 9, hour, 2, tzinfo=paris), 1),
    ):
        clock.advance(moment - clock.now())
        assert await tasks.build_daily_digests(ctx) == expected


async def test_sms_sent_through_the_provider_then_reported_out_of_order(
    committing_sessionmaker: SessionMaker,
    settings: Settings,
    team: Team,
    clock: FrozenClock,
    client_for: ClientFactory,
) -> None:
    """The whole SMS path: the fake provider accepts the message and gives its id, then sends
    its delivery reports to the API — the newest first."""
    user = team.prescribers[0]
    async with committing_sessionmaker() as session:
        session.add(NotificationContact(user_id=user.id, sms_phone="+33612345678"))
        session.add(
            NotificationPreference(
                user_id=user.id, kind=AlertKind.CALLBACK_REMINDER.value, channels=["sms"]
            )
        )
        await session.commit()
        await raise_alert(session, reminder(team))
        await session.commit()

    async def provider(request: Request) -> tuple[int, bytes]:
        return 202, json.dumps({"id": "fournisseur-42", "status": "accepted"}).encode()

    secret = "secret-des-rapports"
    async with http_server(provider) as server:
        s = settings.model_copy(update={"sms_base_url": server.url, "sms_api_key": SecretStr("k")})
        assert (await delivery.sweep(committing_sessionmaker, s)).sent == 1

    reports = [("delivered", "10:00:07"), ("sent", "10:00:03"), ("accepted", "10:00:01")]
    async with client_for(sms_callback_secret=SecretStr(secret)) as api:
        for status, at in reports:
            body = json.dumps(
                {"id": "fournisseur-42", "status": status, "timestamp": f"2026-03-02T{at}Z"}
            ).encode()
            response = await api.post(
                "/v1/notifications/sms-status",
                content=body,
                headers={SIGNATURE_HEADER: signature(secret, body)},
            )
            assert response.status_code == 204
    (row,) = await rows(committing_sessionmaker, "callback:c1:reminder")
    assert row.status is NotificationStatus.DELIVERED
    assert row.delivered_at == datetime(2026, 3, 2, 10, 0, 7, tzinfo=UTC)


async def test_finished_rows_are_purged_after_the_retention_pending_ones_never(
    committing_sessionmaker: SessionMaker, settings: Settings, team: Team, clock: FrozenClock
) -> None:
    async with committing_sessionmaker() as session:
        await raise_alert(session, reminder(team, "callback:old:reminder"))
        await raise_alert(session, reminder(team, "callback:waiting:reminder"))
        await session.commit()
    sink = SmtpSink()
    with smtp_server(sink) as port:
        s = smtp_settings(settings, port)
        claimed = await delivery.claim(committing_sessionmaker, s, 1)
        assert [c.id for c in claimed] == [
            r.id for r in await rows(committing_sessionmaker, "callback:old:reminder")
        ]
        assert (
            await delivery.deliver(committing_sessionmaker, s, claimed[0], delivery.channels_for(s))
            == "sent"
        )
    clock.advance(timedelta(days=settings.notification_retention_days - 1))
    assert await delivery.purge_finished(
        committing_sessionmaker, settings.notification_retention_days
    ) == {
        "notifications": 0,
        "webhook_deliveries": 0,
    }
    clock.advance(timedelta(days=2))
    purged = await delivery.purge_finished(
        committing_sessionmaker, settings.notification_retention_days
    )
    assert purged == {"notifications": 1, "webhook_deliveries": 0}
    assert await rows(committing_sessionmaker, "callback:old:reminder") == []
    (waiting,) = await rows(committing_sessionmaker, "callback:waiting:reminder")
    assert waiting.status is NotificationStatus.PENDING


async def test_a_refused_digest_fails_the_alerts_it_carried(
    committing_sessionmaker: SessionMaker, settings: Settings, team: Team, clock: FrozenClock
) -> None:
    user = team.prescribers[0]
    async with committing_sessionmaker() as session:
        session.add(
            NotificationPreference(
                user_id=user.id,
                kind=AlertKind.CALLBACK_REMINDER.value,
                channels=["email"],
                mode=DeliveryMode.DIGEST,
            )
        )
        await session.commit()
        await raise_alert(session, reminder(team))
        await session.commit()
    assert await delivery.build_digests(committing_sessionmaker) == 1
    sink = SmtpSink(refuse=True, refusal="550 5.1.1 Boîte aux lettres inconnue")
    with smtp_server(sink) as port:
        report = await delivery.sweep(committing_sessionmaker, smtp_settings(settings, port))
    assert report.failed == 1
    (alert,) = await rows(committing_sessionmaker, "callback:c1:reminder")
    assert alert.status is NotificationStatus.FAILED
