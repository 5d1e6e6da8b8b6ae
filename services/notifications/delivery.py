"""Sending notification rows (decision 0022) under the lease of :mod:`.lease`: claim, send,
mark. E-mails carry a ``Message-ID`` and SMS a client reference derived from the row's id, the
same on every try, so a message sent again after a crash can be recognised (decision 0072).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CTE, Update, delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col

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
from services.notifications.lease import Leased, Outcome, Queue, claim_until, run_batches
from services.notifications.rendering import label, render

log = get_logger(__name__)

NOTIFICATIONS = Queue(
    Notification,
    pending=NotificationStatus.PENDING,
    done=NotificationStatus.SENT,
    done_at="sent_at",
    failed=NotificationStatus.FAILED,
)


@dataclass(frozen=True)
class Claimed(Leased):
    kind: str
    channel: NotificationChannel
    context: Mapping[str, Any]
    address: str | None


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


def lease_length(settings: Settings) -> timedelta:
    """Time to start sends for ``notification_lease_seconds``, and for the last to time out."""
    return timedelta(seconds=settings.notification_lease_seconds) + max(
        send_timeout(c, settings) for c in NotificationChannel
    )


async def claim(sessionmaker: SessionMaker, settings: Settings, limit: int) -> list[Claimed]:
    at = now()
    async with unit_of_work(sessionmaker) as session:
        rows = list(
            (await session.execute(NOTIFICATIONS.due(select(Notification), at, limit))).scalars()
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
        lease = at + lease_length(settings)
        NOTIFICATIONS.lease(rows, lease)
        return [
            Claimed(
                id=row.id,
                attempts=row.attempts,
                created_at=row.created_at,
                lease_until=lease,
                kind=row.kind,
                channel=row.channel,
                context=row.context,
                address=emails.get(row.recipient_user_id)
                if row.channel is NotificationChannel.EMAIL
                else phones.get(row.recipient_user_id),
            )
            for row in rows
        ]


def _carried_by(
    digest: uuid.UUID | CTE, status: NotificationStatus, at: datetime, **stamps: datetime
) -> Update:
    """The held alerts a digest carried share its fate (sent or failed with it). ``digest``:
    its id, or the CTE of its mark."""
    carried = (
        col(Notification.digest_id) == digest
        if isinstance(digest, uuid.UUID)
        else col(Notification.digest_id).in_(select(digest.c.id))
    )
    return (
        update(Notification)
        .where(carried, col(Notification.status) == NotificationStatus.HELD)
        .values(status=status, updated_at=at, **stamps)
    )


async def _mark_sent(
    sessionmaker: SessionMaker, item: Claimed, provider_message_id: str | None
) -> None:
    at = now()
    await NOTIFICATIONS.mark_done(
        sessionmaker,
        item.id,
        at,
        values={"provider_message_id": provider_message_id},
        # The alerts a digest carried are sent with it, in the same statement.
        then=(lambda done: _carried_by(done, NotificationStatus.SENT, at, sent_at=at))
        if item.kind == DIGEST_KIND
        else None,
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
    give_up, values = NOTIFICATIONS.failure_values(
        item, settings, error, permanent=permanent, at=at
    )
    async with unit_of_work(sessionmaker) as session:
        await session.execute(NOTIFICATIONS.failure_statement(item.id, values))
        if give_up and item.kind == DIGEST_KIND:
            # The alerts it carried failed with it (visible in each one's list).
            await session.execute(_carried_by(item.id, NotificationStatus.FAILED, at, failed_at=at))
    return give_up


async def deliver(
    sessionmaker: SessionMaker,
    settings: Settings,
    item: Claimed,
    channels: Mapping[NotificationChannel, Channel],
) -> str:
    """Send one claimed row and record the outcome: "sent", "retry", "failed" or "skipped"
    (the lease could end before the send does: the row is left to whoever holds it next).

    The row is marked sent as soon as the provider accepted, before the exchange with it ends
    (an SMTP session's ``QUIT``), in one statement committed alone (decision 0072)."""
    if not item.may_start(send_timeout(item.channel, settings)):
        return Outcome.SKIPPED
    if item.address is None:
        await _mark_failure(
            sessionmaker, settings, item, "aucune adresse pour ce canal", permanent=True
        )
        return Outcome.FAILED
    async with AsyncExitStack() as exchange:
        try:
            rendered = render(
                item.kind, item.channel, item.context, settings.notification_link_base_url
            )
            message = OutgoingMessage(item.id, item.address, rendered.subject, rendered.body)
            result = await exchange.enter_async_context(channels[item.channel].sending(message))
        except PermanentFailure as exc:
            await _mark_failure(sessionmaker, settings, item, str(exc), permanent=True)
            log.warning("notification_failed", notification_id=str(item.id), error=str(exc))
            return Outcome.FAILED
        except TemporaryFailure as exc:
            failed = await _mark_failure(sessionmaker, settings, item, str(exc), permanent=False)
            log.info("notification_retry", notification_id=str(item.id), error=str(exc))
            return Outcome.FAILED if failed else Outcome.RETRY
        except Exception as exc:  # a bug or an unexpected answer: retried like a temporary failure
            failed = await _mark_failure(
                sessionmaker, settings, item, type(exc).__name__, permanent=False
            )
            log.error("notification_error", notification_id=str(item.id), error=type(exc).__name__)
            return Outcome.FAILED if failed else Outcome.RETRY
        await _mark_sent(sessionmaker, item, result.provider_message_id)
    log.info("notification_sent", notification_id=str(item.id), channel=item.channel.value)
    return Outcome.SENT


async def sweep(
    sessionmaker: SessionMaker,
    settings: Settings,
    channels: Mapping[NotificationChannel, Channel] | None = None,
    *,
    max_batches: int = 20,
    deadline: float | None = None,
) -> SweepReport:
    """Claim and send due rows, batch after batch, until none is due (or ``max_batches``).
    ``deadline`` (``time.monotonic``): when the sweep's job would be cancelled; no batch is
    claimed that could still be under way then (decision 0087)."""
    chosen = channels if channels is not None else channels_for(settings)

    async def send(item: Claimed) -> Outcome:
        return Outcome(await deliver(sessionmaker, settings, item, chosen))

    outcomes = await run_batches(
        lambda: claim(sessionmaker, settings, settings.notification_batch_size),
        send,
        max_batches=max_batches,
        until=claim_until(deadline, lease_length(settings).total_seconds()),
    )
    return SweepReport(
        sent=outcomes[Outcome.SENT],
        retried=outcomes[Outcome.RETRY],
        failed=outcomes[Outcome.FAILED],
    )


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
