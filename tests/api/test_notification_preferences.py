"""A user's notification preferences and notifications; the SMS provider's delivery reports."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI, Request
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.app import create_app
from services.api.deps import get_session, request_transaction
from services.core.alerts.kinds import AlertKind
from services.core.alerts.raising import AlertRequest, raise_alert
from services.core.alerts.sms_status import SIGNATURE_HEADER, signature
from services.core.clock import FrozenClock
from services.core.models.notification import (
    Notification,
    NotificationChannel,
    NotificationStatus,
)
from services.core.models.organisation import OrganisationKind
from services.core.models.user import User
from services.core.settings import Settings
from tests.api.conftest import assert_problem
from tests.factories import bearer, make_organisation, make_user

SMS_SECRET = "secret-partage-du-fournisseur"


@pytest.fixture
def app(settings: Settings, db_session: AsyncSession) -> FastAPI:
    application = create_app(
        settings.model_copy(update={"sms_callback_secret": SecretStr(SMS_SECRET)})
    )

    async def session_in_test_transaction(request: Request) -> AsyncIterator[AsyncSession]:
        await db_session.commit()
        async with request_transaction(request, db_session) as session:
            yield session

    application.dependency_overrides[get_session] = session_in_test_transaction
    return application


async def _prescriber(
    db_session: AsyncSession, settings: Settings
) -> tuple[uuid.UUID, dict[str, str]]:
    organisation = await make_organisation(db_session, kind=OrganisationKind.MISSION_LOCALE)
    user = await make_user(db_session, organisation)
    return user.id, bearer(user, settings)


async def _put(
    client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, object]
) -> httpx.Response:
    current = await client.get("/v1/me/notification-preferences", headers=headers)
    return await client.put(
        "/v1/me/notification-preferences",
        json=body,
        headers={**headers, "If-Match": current.headers["etag"]},
    )


async def test_defaults_are_email_immediately_and_overdue_is_mandatory(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    _, headers = await _prescriber(db_session, settings)
    response = await client.get("/v1/me/notification-preferences", headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert body["sms_phone"] is None
    by_kind = {p["kind"]: p for p in body["preferences"]}
    assert set(by_kind) == {k.value for k in AlertKind}
    assert all(p["channels"] == ["email"] and p["mode"] == "immediate" for p in by_kind.values())
    assert by_kind["callback.overdue"]["mandatory"] is True
    assert by_kind["callback.overdue"]["label"] == "Délai de rappel de 30 jours dépassé"
    assert by_kind["callback.reminder"]["mandatory"] is False


async def test_choices_are_stored_and_route_the_next_alerts(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    user_id, headers = await _prescriber(db_session, settings)
    response = await _put(
        client,
        headers,
        {
            "sms_phone": "06 12 34 56 78",
            "preferences": [
                {"kind": "callback.urgent", "channels": ["email", "sms"]},
                {"kind": "callback.reminder", "channels": ["email"], "mode": "digest"},
                {"kind": "match.suggested", "channels": []},
            ],
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["sms_phone"] == "+33612345678"
    assert response.headers["etag"]

    user = await db_session.get(User, user_id)
    assert user is not None
    for kind in (AlertKind.CALLBACK_URGENT, AlertKind.CALLBACK_REMINDER, AlertKind.MATCH_SUGGESTED):
        await raise_alert(
            db_session,
            AlertRequest(
                kind=kind,
                key=f"test:{kind.value}",
                recipient_user_ids=[user_id],
                organisation_id=user.organisation_id,
                subject_type="callback_case",
                subject_id=uuid.uuid4(),
                context={},
            ),
        )
    rows = {
        (r.kind, r.channel, r.status)
        for r in await db_session.scalars(
            select(Notification).where(col(Notification.recipient_user_id) == user_id)
        )
    }
    assert rows == {
        ("callback.urgent", NotificationChannel.EMAIL, NotificationStatus.PENDING),
        ("callback.urgent", NotificationChannel.SMS, NotificationStatus.PENDING),
        ("callback.reminder", NotificationChannel.EMAIL, NotificationStatus.HELD),
    }


async def test_opting_out_of_a_mandatory_alert_is_refused(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    _, headers = await _prescriber(db_session, settings)
    choices: list[dict[str, object]] = [{"channels": []}, {"channels": ["email"], "mode": "digest"}]
    for choice in choices:
        response = await _put(
            client, headers, {"preferences": [{"kind": "callback.overdue", **choice}]}
        )
        assert_problem(response, 409, "mandatory-alert")
    response = await _put(
        client, headers, {"preferences": [{"kind": "callback.reminder", "channels": ["sms"]}]}
    )
    assert_problem(response, 409, "sms-phone-missing")
    response = await _put(client, headers, {"sms_phone": "pas un numéro"})
    body = assert_problem(response, 422, "validation-failed")
    assert "pas un numéro" not in json.dumps(body)


async def test_an_update_needs_the_current_etag(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    _, headers = await _prescriber(db_session, settings)
    body: dict[str, list[object]] = {"preferences": []}
    missing = await client.put("/v1/me/notification-preferences", json=body, headers=headers)
    assert missing.status_code == 428
    stale = await client.put(
        "/v1/me/notification-preferences", json=body, headers={**headers, "If-Match": '"x"'}
    )
    assert stale.status_code == 412


async def test_my_notifications_lists_only_mine(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    organisation = await make_organisation(db_session, kind=OrganisationKind.MISSION_LOCALE)
    me = await make_user(db_session, organisation)
    colleague = await make_user(db_session, organisation)
    await raise_alert(
        db_session,
        AlertRequest(
            kind=AlertKind.CALLBACK_ASSIGNED,
            key="callback:x:assigned",
            recipient_user_ids=[me.id, colleague.id],
            organisation_id=organisation.id,
            subject_type="callback_case",
            subject_id=uuid.uuid4(),
            context={"case_reference": "RAP-1", "days_left": 30},
        ),
    )
    response = await client.get("/v1/me/notifications", headers=bearer(me, settings))
    assert response.status_code == 200
    (item,) = response.json()["items"]
    assert item["kind"] == "callback.assigned"
    assert item["status"] == "pending"
    assert item["status_label"] == "En attente d'envoi"
    assert item["context"] == {"case_reference": "RAP-1", "days_left": 30}


async def _sms_row(db_session: AsyncSession) -> Notification:
    organisation = await make_organisation(db_session, kind=OrganisationKind.MISSION_LOCALE)
    user = await make_user(db_session, organisation)
    row = Notification(
        key=f"test:{uuid.uuid4()}",
        kind=AlertKind.CALLBACK_URGENT.value,
        recipient_user_id=user.id,
        organisation_id=organisation.id,
        channel=NotificationChannel.SMS,
        status=NotificationStatus.SENT,
        subject_type="callback_case",
        subject_id=uuid.uuid4(),
        next_attempt_at=datetime(2026, 3, 2, tzinfo=UTC),
        provider_message_id=f"prov-{uuid.uuid4().hex[:8]}",
    )
    db_session.add(row)
    await db_session.flush()
    return row


async def status_of(db_session: AsyncSession, row: Notification) -> NotificationStatus:
    await db_session.refresh(row)
    return row.status


async def _report(
    client: httpx.AsyncClient, provider_id: str, status: str, at: str, *, secret: str = SMS_SECRET
) -> httpx.Response:
    body = json.dumps({"id": provider_id, "status": status, "timestamp": at}).encode()
    return await client.post(
        "/v1/notifications/sms-status",
        content=body,
        headers={"content-type": "application/json", SIGNATURE_HEADER: signature(secret, body)},
    )


async def test_sms_reports_apply_when_newer_and_never_downgrade_delivered(
    client: httpx.AsyncClient, db_session: AsyncSession, clock: FrozenClock
) -> None:
    row = await _sms_row(db_session)
    pid = row.provider_message_id
    assert pid is not None

    async def status() -> NotificationStatus:
        await db_session.refresh(row)
        return row.status

    # Out of order: "delivered" (10:05) arrives before "sent" (10:01) and a late "failed".
    assert (await _report(client, pid, "delivered", "2026-03-02T10:05:00Z")).status_code == 204
    assert await status() is NotificationStatus.DELIVERED
    assert (await _report(client, pid, "sent", "2026-03-02T10:01:00Z")).status_code == 204
    assert (await _report(client, pid, "failed", "2026-03-02T10:09:00Z")).status_code == 204
    assert await status() is NotificationStatus.DELIVERED
    assert row.delivered_at == datetime(2026, 3, 2, 10, 5, tzinfo=UTC)

    other = await _sms_row(db_session)
    oid = other.provider_message_id
    assert oid is not None
    await _report(client, oid, "failed", "2026-03-02T10:03:00Z")
    await _report(client, oid, "accepted", "2026-03-02T10:00:00Z")  # older: ignored
    await db_session.refresh(other)
    assert other.status is NotificationStatus.FAILED
    await _report(client, oid, "delivered", "2026-03-02T10:04:00Z")  # newer: applied
    assert await status_of(db_session, other) is NotificationStatus.DELIVERED


async def test_sms_reports_need_the_shared_secret_not_a_token(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    row = await _sms_row(db_session)
    pid = row.provider_message_id
    assert pid is not None
    forged = await _report(client, pid, "delivered", "2026-03-02T10:05:00Z", secret="devine")
    assert_problem(forged, 401, "bad-signature")
    admin = await make_user(
        db_session, await make_organisation(db_session, kind=OrganisationKind.OTHER)
    )
    body = json.dumps({"id": pid, "status": "delivered", "timestamp": "2026-03-02T10:05:00Z"})
    with_token = await client.post(
        "/v1/notifications/sms-status",
        content=body,
        headers={"content-type": "application/json", **bearer(admin, settings)},
    )
    assert_problem(with_token, 401, "bad-signature")
    await db_session.refresh(row)
    assert row.status is NotificationStatus.SENT
    signed_garbage = b'{"id": 1}'
    response = await client.post(
        "/v1/notifications/sms-status",
        content=signed_garbage,
        headers={SIGNATURE_HEADER: signature(SMS_SECRET, signed_garbage)},
    )
    assert_problem(response, 422, "validation-failed")
