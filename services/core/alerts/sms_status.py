"""Delivery reports of the SMS provider: authenticated, applied only when newer, never
downgrading ``delivered``."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.clock import now
from services.core.models.notification import (
    Notification,
    NotificationChannel,
    NotificationStatus,
)

SIGNATURE_HEADER = "X-Maillon-Signature"


class ProviderStatus(StrEnum):
    ACCEPTED = "accepted"  # queued by the provider
    SENT = "sent"  # handed to the operator
    DELIVERED = "delivered"
    FAILED = "failed"  # undeliverable


def signature(secret: str, body: bytes) -> str:
    """``sha256=`` + hex HMAC-SHA256 of the raw body with the shared secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_valid(secret: str, body: bytes, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(signature(secret, body), presented)


async def apply_status(
    session: AsyncSession, provider_message_id: str, status: ProviderStatus, at: datetime
) -> bool:
    """Apply one report. Returns True when it changed the row.

    A report older than (or as old as) the last one applied is ignored — reports arrive out of
    order; ``delivered`` is final (a late ``sent`` or ``failed`` never downgrades it).
    """
    row = await session.scalar(
        select(Notification)
        .where(
            col(Notification.provider_message_id) == provider_message_id,
            col(Notification.channel) == NotificationChannel.SMS,
        )
        .with_for_update()
    )
    if row is None:
        return False
    if row.status is NotificationStatus.DELIVERED:
        return False
    if row.provider_status_at is not None and at <= row.provider_status_at:
        return False
    row.provider_status_at = at
    if status is ProviderStatus.DELIVERED:
        row.status = NotificationStatus.DELIVERED
        row.delivered_at = at
        row.failed_at = None
        row.last_error = None
    elif status is ProviderStatus.FAILED:
        row.status = NotificationStatus.FAILED
        row.failed_at = at
        row.last_error = "non distribué (rapport du fournisseur SMS)"
    else:
        # accepted / sent: the row is (back to) sent — a newer "sent" after a "failed" report
        # means the provider retried.
        row.status = NotificationStatus.SENT
        row.failed_at = None
    row.updated_at = now()
    return True
