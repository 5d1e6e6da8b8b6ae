"""Webhook deliveries: fan-out of public events to subscriptions, signed POSTs, retries,
automatic disabling (decision 0023).

A delivery row is written in the event handler's transaction (one per subscription and event,
unique), with the exact body; the sweep claims due rows under a lease (``FOR UPDATE SKIP
LOCKED``), POSTs them and marks them. Payloads carry ids only.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import ColumnElement, any_, literal, or_, select, true, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.clock import now
from services.core.db import SessionMaker, unit_of_work
from services.core.events import (
    CallbackOverdue,
    CandidatePlaced,
    Event,
    MatchSuggested,
    OfferClosed,
    OfferPublished,
)
from services.core.ids import uuid7
from services.core.logging import get_logger
from services.core.models.callback import CallbackCase
from services.core.models.candidate import Candidate, CandidateShare
from services.core.models.notification import (
    WEBHOOK_DISABLED_KIND,
    Notification,
    NotificationChannel,
    NotificationStatus,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookSubscription,
)
from services.core.models.offer import Offer
from services.core.models.user import Role, User
from services.core.settings import Settings
from services.notifications.channels import webhook as signing
from services.notifications.delivery import retry_delay

log = get_logger(__name__)

PUBLIC_EVENTS: dict[str, str] = {
    OfferPublished.type: "Offre publiée",
    OfferClosed.type: "Offre clôturée",
    MatchSuggested.type: "Candidats suggérés pour des offres",
    CallbackOverdue.type: "Délai de rappel de 30 jours dépassé",
    CandidatePlaced.type: "Candidat recruté",
}
"""Event types a subscription may choose, with their French labels."""


def body_of(event: Event, occurred_at: datetime) -> str:
    """The exact JSON sent and signed: ``{"type", "timestamp", "data"}`` (ids only)."""
    return json.dumps(
        {
            "type": event.type,
            "timestamp": occurred_at.isoformat().replace("+00:00", "Z"),
            "data": event.model_dump(mode="json", exclude=set(event.internal_fields)),
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )


async def candidates_organisations(
    session: AsyncSession, candidate_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, set[uuid.UUID]]:
    """The organisations each candidate is shared with or referred to (two queries for all)."""
    ids = sorted(set(candidate_ids))
    found: dict[uuid.UUID, set[uuid.UUID]] = {candidate_id: set() for candidate_id in ids}
    if not ids:
        return found
    for candidate_id, organisation_id in await session.execute(
        select(col(CandidateShare.candidate_id), col(CandidateShare.organisation_id)).where(
            col(CandidateShare.candidate_id).in_(ids)
        )
    ):
        found[candidate_id].add(organisation_id)
    for candidate_id, referent in await session.execute(
        select(col(Candidate.id), col(Candidate.referent_organisation_id)).where(
            col(Candidate.id).in_(ids)
        )
    ):
        if referent is not None:
            found[candidate_id].add(referent)
    return found


async def _candidate_organisations(
    session: AsyncSession, candidate_id: uuid.UUID
) -> set[uuid.UUID]:
    return (await candidates_organisations(session, [candidate_id]))[candidate_id]


async def concerned_organisations(session: AsyncSession, event: Event) -> set[uuid.UUID] | None:
    """Organisations whose subscriptions receive ``event`` (None: every organisation, for what
    every authenticated caller may read, like a published offer)."""
    if isinstance(event, OfferPublished | OfferClosed):
        return None
    if isinstance(event, MatchSuggested):
        known = await candidates_organisations(session, [m.candidate_id for m in event.matches])
        return set().union(*known.values())
    if isinstance(event, CandidatePlaced):
        organisations = await _candidate_organisations(session, event.candidate_id)
        employer = await session.scalar(
            select(col(Offer.employer_id)).where(col(Offer.id) == event.offer_id)
        )
        return organisations | ({employer} if employer else set())
    if isinstance(event, CallbackOverdue):
        organisation = await session.scalar(
            select(col(CallbackCase.organisation_id)).where(
                col(CallbackCase.id) == event.callback_id
            )
        )
        return {organisation} if organisation else set()
    return set()


def _bodies(
    event: Event,
    occurred_at: datetime,
    subscriptions: Sequence[tuple[uuid.UUID, uuid.UUID]],
    known: dict[uuid.UUID, set[uuid.UUID]] | None,
) -> list[tuple[uuid.UUID, str]]:
    """The body each subscription gets: the event as it is, except ``match.suggested``, whose
    pairs are cut to those of candidates the subscription's organisation may know of (decision
    0025: one delivery per event and subscription, its pairs together)."""
    if not isinstance(event, MatchSuggested) or known is None:
        body = body_of(event, occurred_at)
        return [(subscription_id, body) for subscription_id, _ in subscriptions]
    bodies: list[tuple[uuid.UUID, str]] = []
    for subscription_id, organisation_id in subscriptions:
        pairs = tuple(m for m in event.matches if organisation_id in known[m.candidate_id])
        if pairs:
            bodies.append((subscription_id, body_of(MatchSuggested(matches=pairs), occurred_at)))
    return bodies


async def fan_out(
    session: AsyncSession, event_id: uuid.UUID, event: Event, occurred_at: datetime
) -> int:
    """One delivery row per active subscription to ``event``'s type (idempotent)."""
    known: dict[uuid.UUID, set[uuid.UUID]] | None = None
    if isinstance(event, MatchSuggested):
        known = await candidates_organisations(session, [m.candidate_id for m in event.matches])
        organisations: set[uuid.UUID] | None = set().union(*known.values())
    else:
        organisations = await concerned_organisations(session, event)
    if organisations is not None and not organisations:
        return 0
    scope: ColumnElement[bool] = (
        true()
        if organisations is None
        else col(WebhookSubscription.organisation_id).in_(sorted(organisations))
    )
    subscriptions = [
        (row[0], row[1])
        for row in await session.execute(
            select(col(WebhookSubscription.id), col(WebhookSubscription.organisation_id))
            .where(
                col(WebhookSubscription.is_active).is_(True),
                col(WebhookSubscription.deleted_at).is_(None),
                literal(event.type) == any_(col(WebhookSubscription.event_types)),
                scope,
            )
            .order_by(col(WebhookSubscription.id))
        )
    ]
    bodies = _bodies(event, occurred_at, subscriptions, known)
    if not bodies:
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
                    "body": body,
                    "status": WebhookDeliveryStatus.PENDING,
                    "attempts": 0,
                    "next_attempt_at": at,
                }
                for subscription_id, body in bodies
            ]
        )
        .on_conflict_do_nothing(index_elements=["subscription_id", "event_id"])
        .returning(col(WebhookDelivery.id))
    )
    return len(result.all())


@dataclass(frozen=True)
class ClaimedDelivery:
    id: uuid.UUID
    subscription_id: uuid.UUID
    url: str
    secret: str
    body: str
    attempts: int
    created_at: datetime
    lease_until: datetime


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


async def claim(
    sessionmaker: SessionMaker, settings: Settings, limit: int
) -> list[ClaimedDelivery]:
    at = now()
    async with unit_of_work(sessionmaker) as session:
        rows = (
            await session.execute(
                select(WebhookDelivery, WebhookSubscription)
                .join(
                    WebhookSubscription,
                    col(WebhookSubscription.id) == col(WebhookDelivery.subscription_id),
                )
                .where(
                    col(WebhookDelivery.status) == WebhookDeliveryStatus.PENDING,
                    col(WebhookDelivery.next_attempt_at) <= at,
                    or_(
                        col(WebhookDelivery.lease_until).is_(None),
                        col(WebhookDelivery.lease_until) < at,
                    ),
                    col(WebhookSubscription.is_active).is_(True),
                )
                .order_by(col(WebhookDelivery.next_attempt_at), col(WebhookDelivery.id))
                .limit(limit)
                .with_for_update(of=WebhookDelivery, skip_locked=True)
            )
        ).all()
        # Time to start POSTs for ``notification_lease_seconds``, and for the last to time out.
        lease = at + timedelta(
            seconds=settings.notification_lease_seconds + settings.webhook_timeout_seconds
        )
        claimed: list[ClaimedDelivery] = []
        for delivery, subscription in rows:
            delivery.lease_until = lease
            delivery.attempts += 1
            delivery.last_attempt_at = at
            claimed.append(
                ClaimedDelivery(
                    delivery.id,
                    subscription.id,
                    subscription.url,
                    subscription.secret,
                    delivery.body,
                    delivery.attempts,
                    delivery.created_at,
                    lease,
                )
            )
    return claimed


async def _record_success(
    sessionmaker: SessionMaker, item: ClaimedDelivery, status_code: int | None
) -> None:
    at = now()
    async with unit_of_work(sessionmaker) as session:
        await session.execute(
            update(WebhookDelivery)
            .where(col(WebhookDelivery.id) == item.id)
            .values(
                status=WebhookDeliveryStatus.DELIVERED,
                delivered_at=at,
                lease_until=None,
                last_status_code=status_code,
                last_error=None,
                updated_at=at,
            )
        )
        await session.execute(
            update(WebhookSubscription)
            .where(col(WebhookSubscription.id) == item.subscription_id)
            .values(failing_since=None, updated_at=at)
        )


async def _record_failure(
    sessionmaker: SessionMaker,
    settings: Settings,
    item: ClaimedDelivery,
    status_code: int | None,
    error: str,
) -> tuple[bool, bool]:
    """Returns (this delivery failed for good, the subscription was disabled)."""
    at = now()
    deadline = item.created_at + timedelta(hours=settings.notification_retry_hours)
    # The last try happens at the deadline itself; a failure then is final.
    retry_at = min(at + retry_delay(item.attempts, settings), deadline)
    give_up = at >= deadline
    values: dict[str, Any] = {
        "lease_until": None,
        "last_status_code": status_code,
        "last_error": error[:500],
        "updated_at": at,
    }
    if give_up:
        values |= {"status": WebhookDeliveryStatus.FAILED, "failed_at": at}
    else:
        values |= {"next_attempt_at": retry_at}
    async with unit_of_work(sessionmaker) as session:
        await session.execute(
            update(WebhookDelivery).where(col(WebhookDelivery.id) == item.id).values(**values)
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
            last_error="abonnement désactivé après des échecs répétés",
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
    client: httpx.AsyncClient | None = None,
    max_batches: int = 20,
) -> WebhookSweepReport:
    report = WebhookSweepReport()
    own_client = client is None
    http = client or httpx.AsyncClient(
        timeout=settings.webhook_timeout_seconds, follow_redirects=False
    )
    try:
        for _ in range(max_batches):
            batch = await claim(sessionmaker, settings, settings.notification_batch_size)
            if not batch:
                break
            for item in batch:
                if now() + timedelta(seconds=settings.webhook_timeout_seconds) >= item.lease_until:
                    continue  # the lease could end mid-POST: left to the next holder
                result = await signing.post(
                    http,
                    item.url,
                    secret=item.secret,
                    message_id=f"msg_{item.id}",
                    timestamp=int(now().timestamp()),
                    body=item.body.encode(),
                )
                if result.ok:
                    await _record_success(sessionmaker, item, result.status_code)
                    report.delivered += 1
                    continue
                failed, disabled = await _record_failure(
                    sessionmaker, settings, item, result.status_code, result.error or "erreur"
                )
                report.disabled += int(disabled)
                if failed:
                    report.failed += 1
                else:
                    report.retried += 1
    finally:
        if own_client:
            await http.aclose()
    return report
