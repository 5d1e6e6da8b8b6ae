"""Raising and cancelling alerts: what the domains call to notify people (issue 6 contract).

:func:`raise_alert` writes, in the caller's transaction, one ``notification`` row per recipient
and channel chosen by the recipient's preferences; the notifications worker sends them after
commit. Nothing is sent from here.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.alerts.kinds import MANDATORY_KINDS, AlertKind
from services.core.clock import now
from services.core.ids import uuid7
from services.core.models.notification import (
    DeliveryMode,
    Notification,
    NotificationChannel,
    NotificationContact,
    NotificationPreference,
    NotificationStatus,
)
from services.core.models.user import User

DEFAULT_CHANNELS: tuple[NotificationChannel, ...] = (NotificationChannel.EMAIL,)


@dataclass(frozen=True)
class AlertRequest:
    kind: AlertKind
    key: str  # unique per alert occurrence, e.g. f"callback:{case_id}:reminder"
    recipient_user_ids: Sequence[uuid.UUID]
    organisation_id: uuid.UUID
    subject_type: str  # "callback_case" | "match" | …
    subject_id: uuid.UUID
    # What the French templates need, no more personal data than needed.
    context: Mapping[str, str | int | None]


@dataclass(frozen=True)
class Routing:
    channels: tuple[NotificationChannel, ...]
    mode: DeliveryMode


def route(
    kind: AlertKind, preference: NotificationPreference | None, *, has_phone: bool
) -> Routing:
    """Channels and mode for one recipient and kind.

    No preference: e-mail, immediately. SMS without a phone number falls back to e-mail. A
    mandatory kind always goes, immediately, by e-mail at least when nothing else is left.
    """
    if preference is None:
        channels: list[NotificationChannel] = list(DEFAULT_CHANNELS)
        mode = DeliveryMode.IMMEDIATE
    else:
        channels = [NotificationChannel(c) for c in preference.channels]
        mode = preference.mode
    if not has_phone and NotificationChannel.SMS in channels:
        channels = [c for c in channels if c is not NotificationChannel.SMS]
        if not channels:
            channels = [NotificationChannel.EMAIL]
    if kind in MANDATORY_KINDS:
        mode = DeliveryMode.IMMEDIATE
        if not channels:
            channels = [NotificationChannel.EMAIL]
    return Routing(tuple(dict.fromkeys(channels)), mode)


ROWS_PER_INSERT = 1000
"""Notification rows per INSERT (14 parameters a row, under PostgreSQL's 32,767)."""


async def raise_alert(session: AsyncSession, alert: AlertRequest) -> int:
    """In the caller's transaction: write one `notification` row per recipient and channel chosen
    by the recipient's preferences (status pending, or held for the daily digest), idempotent on
    (key, recipient, channel): raising the same key twice writes nothing the second time. Returns
    the number of rows written. Delivery happens after commit (jobs), never inside the caller's
    transaction."""
    return await raise_alerts(session, [alert])


async def raise_alerts(session: AsyncSession, alerts: Sequence[AlertRequest]) -> int:
    """:func:`raise_alert` for many alerts at once, same rows and same idempotence: the
    recipients' state and preferences read in three queries for all of them, the rows written
    by one INSERT (per :data:`ROWS_PER_INSERT`)."""
    recipients = list(dict.fromkeys(u for alert in alerts for u in alert.recipient_user_ids))
    if not recipients:
        return 0
    kinds = sorted({alert.kind.value for alert in alerts})
    active = set(
        (
            await session.execute(
                select(col(User.id)).where(
                    col(User.id).in_(recipients), col(User.is_active).is_(True)
                )
            )
        ).scalars()
    )
    preferences = {
        (p.user_id, p.kind): p
        for p in (
            await session.execute(
                select(NotificationPreference).where(
                    col(NotificationPreference.user_id).in_(recipients),
                    col(NotificationPreference.kind).in_(kinds),
                )
            )
        ).scalars()
    }
    phones = set(
        (
            await session.execute(
                select(col(NotificationContact.user_id)).where(
                    col(NotificationContact.user_id).in_(recipients),
                    col(NotificationContact.sms_phone).is_not(None),
                )
            )
        ).scalars()
    )
    at = now()
    values: list[dict[str, Any]] = []
    for alert in alerts:
        for user_id in dict.fromkeys(alert.recipient_user_ids):
            if user_id not in active:
                continue
            routing = route(
                alert.kind,
                preferences.get((user_id, alert.kind.value)),
                has_phone=user_id in phones,
            )
            status = (
                NotificationStatus.HELD
                if routing.mode is DeliveryMode.DIGEST
                else NotificationStatus.PENDING
            )
            for channel in routing.channels:
                values.append(
                    {
                        "id": uuid7(),
                        "created_at": at,
                        "updated_at": at,
                        "key": alert.key,
                        "kind": alert.kind.value,
                        "recipient_user_id": user_id,
                        "organisation_id": alert.organisation_id,
                        "channel": channel,
                        "status": status,
                        "subject_type": alert.subject_type,
                        "subject_id": alert.subject_id,
                        "context": dict(alert.context),
                        "attempts": 0,
                        "next_attempt_at": at,
                    }
                )
    written = 0
    for start in range(0, len(values), ROWS_PER_INSERT):
        result = await session.execute(
            insert(Notification)
            .values(values[start : start + ROWS_PER_INSERT])
            .on_conflict_do_nothing(index_elements=["key", "recipient_user_id", "channel"])
            .returning(col(Notification.id))
        )
        written += len(result.all())
    return written


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def cancel_alerts(session: AsyncSession, *, key_prefix: str) -> int:
    """Cancel pending (not yet sent) notifications whose key starts with key_prefix (an outcome
    cancels what is pending for its case). Returns how many."""
    if not key_prefix:
        raise ValueError("key_prefix must not be empty")
    at = now()
    result = await session.execute(
        update(Notification)
        .where(
            col(Notification.key).like(_like_prefix(key_prefix), escape="\\"),
            col(Notification.status).in_([NotificationStatus.PENDING, NotificationStatus.HELD]),
            col(Notification.digest_id).is_(None),
        )
        .values(status=NotificationStatus.CANCELLED, cancelled_at=at, updated_at=at)
        .returning(col(Notification.id))
    )
    return len(result.all())
