"""raise_alert / cancel_alerts: rows per recipient and channel, idempotent, preferences applied."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.alerts.kinds import AlertKind
from services.core.alerts.raising import AlertRequest, cancel_alerts, raise_alert
from services.core.models.notification import (
    DeliveryMode,
    Notification,
    NotificationChannel,
    NotificationContact,
    NotificationPreference,
    NotificationStatus,
)
from services.core.models.organisation import OrganisationKind
from tests.factories import make_organisation, make_user


def _alert(kind: AlertKind, key: str, recipients: list[uuid.UUID], org: uuid.UUID) -> AlertRequest:
    return AlertRequest(
        kind=kind,
        key=key,
        recipient_user_ids=recipients,
        organisation_id=org,
        subject_type="callback_case",
        subject_id=uuid.uuid4(),
        context={"case_reference": "R-0001", "days_left": 16},
    )


async def _rows(session: AsyncSession, key: str) -> list[Notification]:
    result = await session.execute(
        select(Notification).where(col(Notification.key) == key).order_by(col(Notification.id))
    )
    return list(result.scalars())


async def test_same_alert_raised_twice_writes_once(db_session: AsyncSession) -> None:
    org = await make_organisation(db_session, kind=OrganisationKind.MISSION_LOCALE)
    a = await make_user(db_session, org)
    b = await make_user(db_session, org)
    alert = _alert(AlertKind.CALLBACK_REMINDER, "callback:x:reminder", [a.id, b.id, a.id], org.id)

    assert await raise_alert(db_session, alert) == 2
    assert await raise_alert(db_session, alert) == 0

    rows = await _rows(db_session, "callback:x:reminder")
    assert {(r.recipient_user_id, r.channel, r.status) for r in rows} == {
        (a.id, NotificationChannel.EMAIL, NotificationStatus.PENDING),
        (b.id, NotificationChannel.EMAIL, NotificationStatus.PENDING),
    }


async def test_preferences_route_channels_digest_and_opt_out(db_session: AsyncSession) -> None:
    org = await make_organisation(db_session, kind=OrganisationKind.MISSION_LOCALE)
    sms_user = await make_user(db_session, org)
    digest_user = await make_user(db_session, org)
    opted_out = await make_user(db_session, org)
    inactive = await make_user(db_session, org, is_active=False)
    db_session.add(NotificationContact(user_id=sms_user.id, sms_phone="+33612345678"))
    kind = AlertKind.CALLBACK_URGENT
    db_session.add_all(
        [
            NotificationPreference(user_id=sms_user.id, kind=kind.value, channels=["email", "sms"]),
            NotificationPreference(
                user_id=digest_user.id,
                kind=kind.value,
                channels=["email"],
                mode=DeliveryMode.DIGEST,
            ),
            NotificationPreference(user_id=opted_out.id, kind=kind.value, channels=[]),
        ]
    )
    await db_session.flush()
    recipients = [sms_user.id, digest_user.id, opted_out.id, inactive.id]

    assert await raise_alert(db_session, _alert(kind, "k:urgent", recipients, org.id)) == 3

    rows = await _rows(db_session, "k:urgent")
    assert {(r.recipient_user_id, r.channel, r.status) for r in rows} == {
        (sms_user.id, NotificationChannel.EMAIL, NotificationStatus.PENDING),
        (sms_user.id, NotificationChannel.SMS, NotificationStatus.PENDING),
        (digest_user.id, NotificationChannel.EMAIL, NotificationStatus.HELD),
    }


async def test_mandatory_kind_ignores_opt_out_and_digest(db_session: AsyncSession) -> None:
    org = await make_organisation(db_session, kind=OrganisationKind.MISSION_LOCALE)
    manager = await make_user(db_session, org, is_manager=True)
    kind = AlertKind.CALLBACK_OVERDUE
    db_session.add(
        NotificationPreference(
            user_id=manager.id, kind=kind.value, channels=[], mode=DeliveryMode.DIGEST
        )
    )
    await db_session.flush()

    assert await raise_alert(db_session, _alert(kind, "k:overdue", [manager.id], org.id)) == 1
    (row,) = await _rows(db_session, "k:overdue")
    assert (row.channel, row.status) == (NotificationChannel.EMAIL, NotificationStatus.PENDING)


async def test_cancel_alerts_cancels_only_unsent_rows_of_the_prefix(
    db_session: AsyncSession,
) -> None:
    org = await make_organisation(db_session, kind=OrganisationKind.MISSION_LOCALE)
    user = await make_user(db_session, org)
    for key in ("callback:a_1:reminder", "callback:a_1:urgent", "callback:a_10:reminder"):
        await raise_alert(db_session, _alert(AlertKind.CALLBACK_REMINDER, key, [user.id], org.id))
    (sent,) = await _rows(db_session, "callback:a_1:urgent")
    sent.status = NotificationStatus.SENT
    await db_session.flush()

    # "_" is not a wildcard: callback:a_10 is not a case of callback:a_1.
    assert await cancel_alerts(db_session, key_prefix="callback:a_1:") == 1

    statuses = {
        key: [r.status for r in await _rows(db_session, key)]
        for key in ("callback:a_1:reminder", "callback:a_1:urgent", "callback:a_10:reminder")
    }
    assert statuses == {
        "callback:a_1:reminder": [NotificationStatus.CANCELLED],
        "callback:a_1:urgent": [NotificationStatus.SENT],
        "callback:a_10:reminder": [NotificationStatus.PENDING],
    }
