"""Sending notification rows: claim, send, mark (decision 0022).

1. **Claim** (one short transaction): due ``pending`` rows whose lease is free, ``FOR UPDATE
   SKIP LOCKED``; each gets ``lease_until`` and one more attempt. Committed before any sending, so
   a second sender (or a restarted one) skips them until the lease expires.
2. **Send** each row through its channel, outside any transaction.
3. **Mark** (one transaction per row) right after the provider answered: ``sent`` (with the
   provider's id), or back to ``pending`` with an exponential backoff, or ``failed`` after
   ``notification_retry_hours`` or a permanent refusal.

A worker killed between 1 and 3 leaves leased rows: they are sent again once the lease expires
(nothing lost). The only window for a duplicate is between the provider's acceptance and the
commit of 3; e-mails then carry the same ``Message-ID``.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col

from services.core.backoff import exponential_seconds
from services.core.clock import PARIS, now
from services.core.db import SessionMaker, unit_of_work
from services.core.ids import uuid7
from services.core.logging import get_logger
from services.core.models.notification import (
    DIGEST_KIND,
    Notification,
    NotificationChannel,
    NotificationContact,
    NotificationStatus,
    WebhookDelivery,
    WebhookDeliveryStatus,
)
from services.core.models.user import User
from services.core.settings import Settings
from services.notifications.channels import (
    Channel,
    OutgoingMessage,
    PermanentFailure,
    TemporaryFailure,
)
from services.notifications.channels.sms import SmsChannel
from services.notifications.channels.smtp import EmailChannel
from services.notifications.rendering import label, render

log = get_logger(__name__)


@dataclass(frozen=True)
class Claimed:
    id: uuid.UUID
    kind: str
    channel: NotificationChannel
    context: Mapping[str, Any]
    address: str | None
    attempts: int
    created_at: datetime
    lease_until: datetime


@dataclass
class SweepReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"sent": self.sent, "retried": self.retried, "failed": self.failed}


def channels_for(settings: Settings) -> dict[NotificationChannel, Channel]:
    return {
        NotificationChannel.EMAIL: EmailChannel(settings),
        NotificationChannel.SMS: SmsChannel(settings),
    }


def send_timeout(channel: NotificationChannel, settings: Settings) -> timedelta:
    seconds = (
        settings.smtp_timeout_seconds
        if channel is NotificationChannel.EMAIL
        else settings.sms_timeout_seconds
    )
    return timedelta(seconds=seconds)


def retry_delay(attempts: int, settings: Settings) -> timedelta:
    """Exponential backoff with jitter: base, 2×base, 4×base… capped."""
    seconds = exponential_seconds(
        attempts,
        settings.notification_retry_base_seconds,
        settings.notification_retry_max_seconds,
    )
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))  # noqa: S311


async def claim(sessionmaker: SessionMaker, settings: Settings, limit: int) -> list[Claimed]:
    at = now()
    async with unit_of_work(sessionmaker) as session:
        rows = list(
            (
                await session.execute(
                    select(Notification)
                    .where(
                        col(Notification.status) == NotificationStatus.PENDING,
                        col(Notification.next_attempt_at) <= at,
                        or_(
                            col(Notification.lease_until).is_(None),
                            col(Notification.lease_until) < at,
                        ),
                    )
                    .order_by(col(Notification.next_attempt_at), col(Notification.id))
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ).scalars()
        )
        if not rows:
            return []
        users = {r.recipient_user_id for r in rows}
        active = set(
            (
                await session.execute(
                    select(col(User.id)).where(
                        col(User.id).in_(users), col(User.is_active).is_(True)
                    )
                )
            ).scalars()
        )
        for row in rows:
            if row.recipient_user_id not in active:
                # Deactivated since the alert was raised: never sent.
                row.status = NotificationStatus.CANCELLED
                row.cancelled_at = at
        rows = [r for r in rows if r.recipient_user_id in active]
        emails: dict[uuid.UUID, str] = dict(
            (
                await session.execute(
                    select(col(User.id), col(User.email)).where(col(User.id).in_(users))
                )
            ).all()
        )
        phones: dict[uuid.UUID, str | None] = dict(
            (
                await session.execute(
                    select(
                        col(NotificationContact.user_id), col(NotificationContact.sms_phone)
                    ).where(col(NotificationContact.user_id).in_(users))
                )
            ).all()
        )
        # Time to start sends for ``notification_lease_seconds``, and for the last to time out.
        lease = (
            at
            + timedelta(seconds=settings.notification_lease_seconds)
            + max(send_timeout(c, settings) for c in NotificationChannel)
        )
        claimed: list[Claimed] = []
        for row in rows:
            row.lease_until = lease
            row.attempts += 1
            address = (
                emails.get(row.recipient_user_id)
                if row.channel is NotificationChannel.EMAIL
                else phones.get(row.recipient_user_id)
            )
            claimed.append(
                Claimed(
                    row.id,
                    row.kind,
                    row.channel,
                    row.context,
                    address,
                    row.attempts,
                    row.created_at,
                    lease,
                )
            )
    return claimed


async def _mark_sent(
    sessionmaker: SessionMaker, item: Claimed, provider_message_id: str | None
) -> None:
    at = now()
    async with unit_of_work(sessionmaker) as session:
        await session.execute(
            update(Notification)
            .where(col(Notification.id) == item.id)
            .values(
                status=NotificationStatus.SENT,
                sent_at=at,
                lease_until=None,
                provider_message_id=provider_message_id,
                last_error=None,
                updated_at=at,
            )
        )
        if item.kind == DIGEST_KIND:
            await session.execute(
                update(Notification)
                .where(
                    col(Notification.digest_id) == item.id,
                    col(Notification.status) == NotificationStatus.HELD,
                )
                .values(status=NotificationStatus.SENT, sent_at=at, updated_at=at)
            )


async def _mark_failure(
    sessionmaker: SessionMaker,
    settings: Settings,
    item: Claimed,
    error: str,
    *,
    permanent: bool,
) -> bool:
    """Back to pending with backoff, or failed. Returns True when failed for good."""
    at = now()
    deadline = item.created_at + timedelta(hours=settings.notification_retry_hours)
    # The last try happens at the deadline itself; a failure then is final.
    retry_at = min(at + retry_delay(item.attempts, settings), deadline)
    give_up = permanent or at >= deadline
    values: dict[str, Any] = {"lease_until": None, "last_error": error[:500], "updated_at": at}
    if give_up:
        values |= {"status": NotificationStatus.FAILED, "failed_at": at}
    else:
        values |= {"next_attempt_at": retry_at}
    async with unit_of_work(sessionmaker) as session:
        await session.execute(
            update(Notification)
            .where(
                col(Notification.id) == item.id,
                col(Notification.status) == NotificationStatus.PENDING,
            )
            .values(**values)
        )
        if give_up and item.kind == DIGEST_KIND:
            # The alerts it carried failed with it (visible in each one's list).
            await session.execute(
                update(Notification)
                .where(
                    col(Notification.digest_id) == item.id,
                    col(Notification.status) == NotificationStatus.HELD,
                )
                .values(status=NotificationStatus.FAILED, failed_at=at, updated_at=at)
            )
    return give_up


async def deliver(
    sessionmaker: SessionMaker,
    settings: Settings,
    item: Claimed,
    channels: Mapping[NotificationChannel, Channel],
) -> str:
    """Send one claimed row and record the outcome: "sent", "retry", "failed" or "skipped".

    A send starts only while it can end (or time out) before the lease does: past that, another
    sender may have claimed the row, and sending would risk a duplicate ("skipped": the row is
    left to whoever holds it next).
    """
    if now() + send_timeout(item.channel, settings) >= item.lease_until:
        return "skipped"
    if item.address is None:
        await _mark_failure(
            sessionmaker, settings, item, "aucune adresse pour ce canal", permanent=True
        )
        return "failed"
    try:
        rendered = render(
            item.kind, item.channel, item.context, settings.notification_link_base_url
        )
        message = OutgoingMessage(item.id, item.address, rendered.subject, rendered.body)
        result = await channels[item.channel].send(message)
    except PermanentFailure as exc:
        await _mark_failure(sessionmaker, settings, item, str(exc), permanent=True)
        log.warning("notification_failed", notification_id=str(item.id), error=str(exc))
        return "failed"
    except TemporaryFailure as exc:
        failed = await _mark_failure(sessionmaker, settings, item, str(exc), permanent=False)
        log.info("notification_retry", notification_id=str(item.id), error=str(exc))
        return "failed" if failed else "retry"
    except Exception as exc:  # a bug or an unexpected answer: retried like a temporary failure
        failed = await _mark_failure(
            sessionmaker, settings, item, type(exc).__name__, permanent=False
        )
        log.error("notification_error", notification_id=str(item.id), error=type(exc).__name__)
        return "failed" if failed else "retry"
    await _mark_sent(sessionmaker, item, result.provider_message_id)
    log.info("notification_sent", notification_id=str(item.id), channel=item.channel.value)
    return "sent"


async def sweep(
    sessionmaker: SessionMaker,
    settings: Settings,
    channels: Mapping[NotificationChannel, Channel] | None = None,
    *,
    max_batches: int = 20,
) -> SweepReport:
    """Claim and send due rows, batch after batch, until none is due (or ``max_batches``)."""
    channels = channels if channels is not None else channels_for(settings)
    report = SweepReport()
    for _ in range(max_batches):
        batch = await claim(sessionmaker, settings, settings.notification_batch_size)
        if not batch:
            break
        for item in batch:
            outcome = await deliver(sessionmaker, settings, item, channels)
            if outcome == "sent":
                report.sent += 1
            elif outcome == "retry":
                report.retried += 1
            elif outcome == "failed":
                report.failed += 1
    return report


def digest_key(user_id: uuid.UUID, day: str) -> str:
    return f"digest:{day}:{user_id}"


async def build_digests(sessionmaker: SessionMaker) -> int:
    """Gather each recipient's held rows into one digest row per channel (sent by the sweep).

    Idempotent per day: the digest's key holds the local date. Returns digests written.
    """
    at = now()
    day = at.astimezone(PARIS).date().isoformat()
    written = 0
    async with unit_of_work(sessionmaker) as session:
        held = list(
            (
                await session.execute(
                    select(Notification)
                    .where(
                        col(Notification.status) == NotificationStatus.HELD,
                        col(Notification.digest_id).is_(None),
                    )
                    .order_by(col(Notification.recipient_user_id), col(Notification.created_at))
                    .with_for_update(skip_locked=True)
                )
            ).scalars()
        )
        groups: dict[tuple[uuid.UUID, NotificationChannel], list[Notification]] = {}
        for row in held:
            groups.setdefault((row.recipient_user_id, row.channel), []).append(row)
        for (user_id, channel), rows in groups.items():
            digest_id = uuid7()
            items = [
                {
                    "label": label(r.kind),
                    **{
                        k: r.context.get(k)
                        for k in ("case_id", "case_reference", "case_path", "days_left", "url")
                    },
                }
                for r in rows
            ]
            inserted = await session.execute(
                insert(Notification)
                .values(
                    id=digest_id,
                    created_at=at,
                    updated_at=at,
                    key=digest_key(user_id, day),
                    kind=DIGEST_KIND,
                    recipient_user_id=user_id,
                    organisation_id=rows[0].organisation_id,
                    channel=channel,
                    status=NotificationStatus.PENDING,
                    subject_type="digest",
                    subject_id=digest_id,
                    context={"items": items, "day": day},
                    attempts=0,
                    next_attempt_at=at,
                )
                .on_conflict_do_nothing(index_elements=["key", "recipient_user_id", "channel"])
                .returning(col(Notification.id))
            )
            if inserted.first() is None:
                continue  # today's digest already went; these wait for tomorrow's
            await session.execute(
                update(Notification)
                .where(col(Notification.id).in_([r.id for r in rows]))
                .values(digest_id=digest_id, updated_at=at)
            )
            written += 1
    return written


async def purge_finished(sessionmaker: SessionMaker, retention_days: int) -> dict[str, int]:
    """Delete finished notifications and webhook deliveries older than ``retention_days``
    (pending and held rows are never purged)."""
    cutoff = now() - timedelta(days=retention_days)
    finished = [
        NotificationStatus.SENT,
        NotificationStatus.DELIVERED,
        NotificationStatus.FAILED,
        NotificationStatus.CANCELLED,
    ]
    async with unit_of_work(sessionmaker) as session:
        notifications = await session.execute(
            delete(Notification)
            .where(col(Notification.status).in_(finished), col(Notification.created_at) < cutoff)
            .returning(col(Notification.id))
        )
        deliveries = await session.execute(
            delete(WebhookDelivery)
            .where(
                col(WebhookDelivery.status) != WebhookDeliveryStatus.PENDING,
                col(WebhookDelivery.created_at) < cutoff,
            )
            .returning(col(WebhookDelivery.id))
        )
        return {
            "notifications": len(notifications.all()),
            "webhook_deliveries": len(deliveries.all()),
        }
