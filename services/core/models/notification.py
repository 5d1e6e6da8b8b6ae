"""Notifications (one stored row per message), preferences and webhook subscriptions (§7).

A notification row is written before anything is sent and marked after; it is unique on
(alert key, recipient, channel), so one alert never goes twice to the same person by the same
channel. See docs/decisions/0022-notification-delivery.md and 0023-webhooks.md.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field

from services.core.models.base import EnumText, TableBase
from services.core.models.user import Role
from services.core.schema_description import schema_description


class NotificationChannel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


class NotificationStatus(StrEnum):
    PENDING = "pending"  # to send (again, after ``next_attempt_at``)
    HELD = "held"  # waiting for the recipient's daily digest
    SENT = "sent"  # accepted by the provider
    DELIVERED = "delivered"  # the provider reported delivery (SMS)
    FAILED = "failed"  # given up (24 h of failures, or refused by the provider)
    CANCELLED = "cancelled"  # no longer relevant (e.g. the callback case closed)


NOTIFICATION_STATUS_LABELS: dict[NotificationStatus, str] = {
    NotificationStatus.PENDING: "En attente d'envoi",
    NotificationStatus.HELD: "Réservée pour le récapitulatif quotidien",
    NotificationStatus.SENT: "Envoyée",
    NotificationStatus.DELIVERED: "Distribuée",
    NotificationStatus.FAILED: "Échec",
    NotificationStatus.CANCELLED: "Annulée",
}

DIGEST_KIND = "digest"
"""``kind`` of the daily digest message (itself a notification row)."""

WEBHOOK_DISABLED_KIND = "webhook.disabled"
"""``kind`` of the notice sent when a webhook subscription is disabled."""


class Notification(TableBase, table=True):
    """One message to one user by one channel."""

    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("key", "recipient_user_id", "channel"),
        # The delivery sweep only ever scans pending rows.
        Index(
            "ix_notification_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_notification_recipient_created", "recipient_user_id", "created_at"),
        Index("ix_notification_key_prefix", "key", postgresql_ops={"key": "text_pattern_ops"}),
    )

    key: str = Field(sa_type=String(200), nullable=False)
    kind: str = Field(sa_type=String(40), nullable=False)  # an AlertKind value, or "digest"
    recipient_user_id: uuid.UUID = Field(
        foreign_key="user_account.id", nullable=False, ondelete="CASCADE"
    )
    organisation_id: uuid.UUID = Field(
        foreign_key="organisation.id", nullable=False, index=True, ondelete="CASCADE"
    )
    channel: NotificationChannel = Field(sa_type=EnumText(NotificationChannel, 10), nullable=False)
    status: NotificationStatus = Field(
        default=NotificationStatus.PENDING,
        sa_type=EnumText(NotificationStatus, 20),
        nullable=False,
    )
    subject_type: str = Field(sa_type=String(40), nullable=False)
    subject_id: uuid.UUID = Field(nullable=False)
    # What the templates need, no more (no names, no phone numbers).
    context: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB, nullable=False)
    attempts: int = Field(default=0, sa_type=Integer, nullable=False)
    next_attempt_at: datetime = Field(sa_type=DateTime(timezone=True), nullable=False)
    # A sender holds the row until then; an expired lease means the sender died (retry).
    lease_until: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    sent_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    delivered_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    failed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    cancelled_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    # The provider's id (SMS) and the time of the last status it reported (callbacks apply only
    # when newer).
    provider_message_id: str | None = Field(default=None, sa_type=String(100), index=True)
    provider_status_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    last_error: str | None = Field(default=None, sa_type=String(500))
    # A held row, once gathered into a digest: the digest's row.
    digest_id: uuid.UUID | None = Field(default=None, index=True)


class DeliveryMode(StrEnum):
    IMMEDIATE = "immediate"
    DIGEST = "digest"


class NotificationPreference(TableBase, table=True):
    """A user's choice for one alert kind. No row: e-mail, immediately."""

    __tablename__ = "notification_preference"
    __table_args__ = (UniqueConstraint("user_id", "kind"),)

    user_id: uuid.UUID = Field(foreign_key="user_account.id", nullable=False, ondelete="CASCADE")
    kind: str = Field(sa_type=String(40), nullable=False)
    # Empty: opted out (refused for a mandatory kind).
    channels: list[str] = Field(default_factory=list, sa_type=ARRAY(String(10)), nullable=False)
    mode: DeliveryMode = Field(
        default=DeliveryMode.IMMEDIATE, sa_type=EnumText(DeliveryMode, 10), nullable=False
    )


class NotificationContact(TableBase, table=True):
    """Where a user receives SMS (E.164). The e-mail address is the account's."""

    __tablename__ = "notification_contact"

    user_id: uuid.UUID = Field(
        foreign_key="user_account.id", nullable=False, unique=True, ondelete="CASCADE"
    )
    sms_phone: str | None = Field(default=None, sa_type=String(20))


class WebhookSubscription(TableBase, table=True):
    """An organisation's endpoint for some public event types."""

    __tablename__ = "webhook_subscription"

    organisation_id: uuid.UUID = Field(
        foreign_key="organisation.id", nullable=False, index=True, ondelete="CASCADE"
    )
    url: str = Field(sa_type=String(2000), nullable=False)
    description: str | None = Field(default=None, sa_type=String(200))
    event_types: list[str] = Field(default_factory=list, sa_type=ARRAY(String(100)), nullable=False)
    # ``whsec_`` + base64: needed in clear to sign; shown once at creation, never read back.
    secret: str = Field(sa_type=String(100), nullable=False)
    is_active: bool = Field(default=True, nullable=False)
    # First failure of the current run of failures (None after a success).
    failing_since: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    disabled_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    created_by_user_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    deleted_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    # The role the subscription receives events with: its creator's, user or API key (decision
    # 0041). It gets what a caller of that role in its organisation may read through the API.
    role: Role = Field(sa_type=EnumText(Role, 20), nullable=False)


WEBHOOK_ROLES: frozenset[Role] = frozenset(
    {Role.ADMIN, Role.FACILITATOR, Role.PRESCRIBER, Role.EMPLOYER}
)
"""Roles that manage their organisation's subscriptions, users and API keys alike (decision
0041). Front desks read only the people of the intakes they keyed in themselves, a right no
organisation-wide subscription can follow."""


class WebhookDeliveryError(StrEnum):
    """Why a delivery attempt failed, from a fixed list (decision 0042): never the HTTP client's
    message, which could tell a subscriber how the service's network answers."""

    __get_pydantic_json_schema__ = schema_description(
        "Cause de l'échec d'un envoi, dans une liste fixe (décision 0042 ; jamais le message du "
        "client HTTP) : `timeout` (connexion établie, pas de réponse complète à temps), "
        "`connection_failed` (connexion refusée, destination injoignable ou filtrée), "
        "`tls_error`, `refused_address` (adresse interne : rien n'a été envoyé), "
        "`name_not_resolved` (nom de domaine introuvable), `http_status` (réponse hors 2xx, voir "
        "`last_status_code`), `request_failed` (autre échec de l'échange), "
        "`subscription_disabled` ou `subscription_deleted` (abonnement désactivé ou supprimé)."
    )

    TIMEOUT = "timeout"  # connected, but no complete answer in time
    CONNECTION_FAILED = "connection_failed"  # refused, unreachable or filtered alike
    TLS_ERROR = "tls_error"
    REFUSED_ADDRESS = "refused_address"  # internal address: nothing was sent
    NAME_NOT_RESOLVED = "name_not_resolved"
    HTTP_STATUS = "http_status"  # answered with a non-2xx status (``last_status_code``)
    REQUEST_FAILED = "request_failed"  # anything else the exchange broke on
    SUBSCRIPTION_DISABLED = "subscription_disabled"
    SUBSCRIPTION_DELETED = "subscription_deleted"


class WebhookDeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"  # a 2xx answer
    FAILED = "failed"  # given up after 24 h, or the subscription was disabled


class WebhookDelivery(TableBase, table=True):
    """One event for one subscription; ``body`` is the exact bytes signed and sent."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id"),
        Index(
            "ix_webhook_delivery_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_webhook_delivery_subscription_created", "subscription_id", "created_at"),
    )

    subscription_id: uuid.UUID = Field(
        foreign_key="webhook_subscription.id", nullable=False, ondelete="CASCADE"
    )
    event_id: uuid.UUID = Field(nullable=False)
    event_type: str = Field(sa_type=String(100), nullable=False)
    body: str = Field(sa_type=Text, nullable=False)
    status: WebhookDeliveryStatus = Field(
        default=WebhookDeliveryStatus.PENDING,
        sa_type=EnumText(WebhookDeliveryStatus, 20),
        nullable=False,
    )
    attempts: int = Field(default=0, sa_type=Integer, nullable=False)
    next_attempt_at: datetime = Field(sa_type=DateTime(timezone=True), nullable=False)
    lease_until: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    last_attempt_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    last_status_code: int | None = Field(default=None, sa_type=Integer)
    last_error: str | None = Field(default=None, sa_type=String(500))
    delivered_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    failed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
