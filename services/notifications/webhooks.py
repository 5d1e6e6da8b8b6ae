"""Webhook deliveries: fan-out of public events to subscriptions, signed POSTs, retries,
automatic disabling (decision 0023); who receives what (0041), which addresses are reached
(0042).

A delivery row is written in the event handler's transaction (one per subscription and event,
unique), with the exact body; the sweep claims due rows under the lease of :mod:`.lease`, POSTs
them and marks them. Payloads carry ids only; ``webhook-id`` is the delivery's, the same on every
try, so receivers drop a delivery sent again (decision 0072).
"""

from __future__ import annotations

import ssl
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import any_, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.clock import now
from services.core.db import SessionMaker, unit_of_work
from services.core.egress import Resolver, system_resolver
from services.core.events import (
    Event,
)
from services.core.ids import uuid7
from services.core.logging import get_logger
from services.core.models.notification import (
    WEBHOOK_DISABLED_KIND,
    Notification,
    NotificationChannel,
    NotificationStatus,
    WebhookDelivery,
    WebhookDeliveryError,
    WebhookDeliveryStatus,
    WebhookSubscription,
)
from services.core.models.user import Role, User
from services.core.settings import Settings
from services.core.webhooks import PUBLIC_EVENTS, body_of
from services.notifications.channels import webhook as signing
from services.notifications.lease import Leased, Outcome, Queue, claim_until, run_batches
from services.notifications.webhook_audience import Subscriber, events_for

log = get_logger(__name__)


async def fan_out(
    session: AsyncSession, event_id: uuid.UUID, event: Event, occurred_at: datetime
) -> int:
    """One delivery row per active subscription to ``event``'s type that may read what it
    names (decision 0041), idempotent."""
    if event.type not in PUBLIC_EVENTS:
        return 0
    subscribers = [
        Subscriber(row[0], row[1], row[2])
        for row in await session.execute(
            select(
                col(WebhookSubscription.id),
                col(WebhookSubscription.organisation_id),
                col(WebhookSubscription.role),
            )
            .where(
                col(WebhookSubscription.is_active).is_(True),
                col(WebhookSubscription.deleted_at).is_(None),
                literal(event.type) == any_(col(WebhookSubscription.event_types)),
            )
            .order_by(col(WebhookSubscription.id))
        )
    ]
    if not subscribers:
        return 0
    received = await events_for(session, event, subscribers)
    if not received:
        return 0
    at = now()
    result = await session.execute(
        insert(WebhookDelivery)
        .values(
            [
                {
                    "id": uuid7(),
                    "created_at": at,
                    "updated_at": at,
                    "subscription_id": subscription_id,
                    "event_id": event_id,
                    "event_type": event.type,
                    "body": body_of(view, occurred_at),
                    "status": WebhookDeliveryStatus.PENDING,
                    "attempts": 0,
                    "next_attempt_at": at,
                }
                for subscription_id, view in received
            ]
        )
        .on_conflict_do_nothing(index_elements=["subscription_id", "event_id"])
        .returning(col(WebhookDelivery.id))
    )
    return len(result.all())


DELIVERIES = Queue(
    WebhookDelivery,
    pending=WebhookDeliveryStatus.PENDING,
    done=WebhookDeliveryStatus.DELIVERED,
    done_at="delivered_at",
    failed=WebhookDeliveryStatus.FAILED,
)


@dataclass(frozen=True)
class ClaimedDelivery(Leased):
    subscription_id: uuid.UUID
    url: str
    secret: str
    body: str


@dataclass
class WebhookSweepReport:
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    disabled: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "delivered": self.delivered,
            "retried": self.retried,
            "failed": self.failed,
            "disabled": self.disabled,
        }


def lease_seconds(settings: Settings) -> float:
    """Time to start POSTs for ``notification_lease_seconds``, and for the last to time out."""
    return settings.notification_lease_seconds + settings.webhook_timeout_seconds


async def claim(
    sessionmaker: SessionMaker, settings: Settings, limit: int
) -> list[ClaimedDelivery]:
    at = now()
    async with unit_of_work(sessionmaker) as session:
        rows = (
            await session.execute(
                DELIVERIES.due(
                    select(WebhookDelivery, WebhookSubscription)
                    .join(
                        WebhookSubscription,
                        col(WebhookSubscription.id) == col(WebhookDelivery.subscription_id),
                    )
                    .where(col(WebhookSubscription.is_active).is_(True)),
                    at,
                    limit,
                )
            )
        ).all()
        lease = at + timedelta(seconds=lease_seconds(settings))
        DELIVERIES.lease((delivery for delivery, _ in rows), lease)
        claimed: list[ClaimedDelivery] = []
        for delivery, subscription in rows:
            delivery.last_attempt_at = at
            claimed.append(
                ClaimedDelivery(
                    id=delivery.id,
                    attempts=delivery.attempts,
                    created_at=delivery.created_at,
                    lease_until=lease,
                    subscription_id=subscription.id,
                    url=subscription.url,
                    secret=subscription.secret,
                    body=delivery.body,
                )
            )
    return claimed


async def _record_success(
    sessionmaker: SessionMaker, item: ClaimedDelivery, status_code: int | None
) -> None:
    at = now()
    await DELIVERIES.mark_done(
        sessionmaker,
        item.id,
        at,
        values={"last_status_code": status_code},
        # A success ends the subscription's run of failures, in the same statement.
        then=lambda done: (
            update(WebhookSubscription)
            .where(col(WebhookSubscription.id).in_(select(done.c.subscription_id)))
            .values(failing_since=None, updated_at=at)
        ),
    )


async def _record_failure(
    sessionmaker: SessionMaker,
    settings: Settings,
    item: ClaimedDelivery,
    status_code: int | None,
    error: WebhookDeliveryError,
) -> tuple[bool, bool]:
    """Returns (this delivery failed for good, the subscription was disabled)."""
    at = now()
    give_up, values = DELIVERIES.failure_values(item, settings, error.value, permanent=False, at=at)
    async with unit_of_work(sessionmaker) as session:
        await session.execute(
            DELIVERIES.failure_statement(item.id, values | {"last_status_code": status_code})
        )
        subscription = await session.get(
            WebhookSubscription, item.subscription_id, with_for_update=True
        )
        if subscription is None or not subscription.is_active:
            return give_up, False
        if subscription.failing_since is None:
            # Failing since the oldest event that could not get through.
            subscription.failing_since = item.created_at
        if at - subscription.failing_since < timedelta(hours=settings.webhook_disable_after_hours):
            return give_up, False
        await disable(session, subscription, at)
        return True, True


async def disable(session: AsyncSession, subscription: WebhookSubscription, at: datetime) -> None:
    """Stop a subscription that failed for too long: its pending deliveries fail, and the
    organisation's managers get a notice (e-mail)."""
    subscription.is_active = False
    subscription.disabled_at = at
    await session.execute(
        update(WebhookDelivery)
        .where(
            col(WebhookDelivery.subscription_id) == subscription.id,
            col(WebhookDelivery.status) == WebhookDeliveryStatus.PENDING,
        )
        .values(
            status=WebhookDeliveryStatus.FAILED,
            failed_at=at,
            lease_until=None,
            last_error=WebhookDeliveryError.SUBSCRIPTION_DISABLED.value,
            updated_at=at,
        )
    )
    recipients = set(
        (
            await session.execute(
                select(col(User.id)).where(
                    col(User.organisation_id) == subscription.organisation_id,
                    col(User.is_active).is_(True),
                    or_(
                        col(User.is_manager).is_(True),
                        col(User.role).in_([Role.ADMIN, Role.FACILITATOR]),
                        col(User.id) == subscription.created_by_user_id,
                    ),
                )
            )
        ).scalars()
    )
    if recipients:
        await session.execute(
            insert(Notification)
            .values(
                [
                    {
                        "id": uuid7(),
                        "created_at": at,
                        "updated_at": at,
                        "key": f"webhook:{subscription.id}:disabled:{at.isoformat()}",
                        "kind": WEBHOOK_DISABLED_KIND,
                        "recipient_user_id": user_id,
                        "organisation_id": subscription.organisation_id,
                        "channel": NotificationChannel.EMAIL,
                        "status": NotificationStatus.PENDING,
                        "subject_type": "webhook_subscription",
                        "subject_id": subscription.id,
                        "context": {
                            "subscription_id": str(subscription.id),
                            "url": subscription.url,
                        },
                        "attempts": 0,
                        "next_attempt_at": at,
                    }
                    for user_id in sorted(recipients)
                ]
            )
            .on_conflict_do_nothing(index_elements=["key", "recipient_user_id", "channel"])
        )
    log.warning("webhook_disabled", subscription_id=str(subscription.id))


async def sweep(
    sessionmaker: SessionMaker,
    settings: Settings,
    *,
    resolver: Resolver = system_resolver,
    tls: ssl.SSLContext | None = None,
    max_batches: int = 20,
    deadline: float | None = None,
) -> WebhookSweepReport:
    """Send what is due. ``resolver`` turns a host name into addresses (the system's; tests give
    one that answers without asking the network); each address is checked before connecting.
    ``tls``: the certificates trusted (the system's by default). ``deadline``
    (``time.monotonic``): when the sweep's job would be cancelled; no batch is claimed that
    could still be under way then (decision 0087)."""
    report = WebhookSweepReport()
    clients = signing.PinnedClients(settings.webhook_timeout_seconds, tls)
    networks = settings.webhook_networks
    timeout = timedelta(seconds=settings.webhook_timeout_seconds)

    async def send(item: ClaimedDelivery) -> Outcome:
        if not item.may_start(timeout):
            return Outcome.SKIPPED
        result = await signing.post(
            clients,
            item.url,
            secret=item.secret,
            message_id=f"msg_{item.id}",
            timestamp=int(now().timestamp()),
            body=item.body.encode(),
            networks=networks,
            resolver=resolver,
        )
        if result.ok:
            await _record_success(sessionmaker, item, result.status_code)
            return Outcome.SENT
        failed, disabled = await _record_failure(
            sessionmaker,
            settings,
            item,
            result.status_code,
            result.error or WebhookDeliveryError.REQUEST_FAILED,
        )
        report.disabled += int(disabled)
        if result.error is WebhookDeliveryError.REFUSED_ADDRESS:
            log.warning("webhook_refused_address", subscription_id=str(item.subscription_id))
        return Outcome.FAILED if failed else Outcome.RETRY

    try:
        outcomes = await run_batches(
            lambda: claim(sessionmaker, settings, settings.notification_batch_size),
            send,
            max_batches=max_batches,
            until=claim_until(deadline, lease_seconds(settings)),
        )
    finally:
        await clients.aclose()
    report.delivered = outcomes[Outcome.SENT]
    report.retried = outcomes[Outcome.RETRY]
    report.failed = outcomes[Outcome.FAILED]
    return report
