"""A user's notification preferences and own notifications."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.api.candidates.schemas import phone_or_none
from services.core.alerts.kinds import AlertKind, label
from services.core.alerts.sms_status import ProviderStatus
from services.core.models.notification import (
    NOTIFICATION_STATUS_LABELS,
    DeliveryMode,
    Notification,
    NotificationChannel,
    NotificationStatus,
)


class KindPreference(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: AlertKind
    channels: list[NotificationChannel] = Field(
        max_length=2, description="Canaux choisis ; vide : désabonné (refusé si obligatoire)."
    )
    mode: DeliveryMode = Field(
        default=DeliveryMode.IMMEDIATE,
        description="`immediate` : une alerte à la fois ; `digest` : un récapitulatif quotidien.",
    )


class KindPreferencePublic(KindPreference):
    label: str
    mandatory: bool


class PreferencesUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sms_phone: str | None = Field(
        default=None, description="Numéro de mobile pour les SMS (format E.164 ou français)."
    )
    preferences: list[KindPreference] = Field(
        default_factory=list,
        max_length=len(AlertKind),
        description="Un choix par type d'alerte ; les types absents reprennent le réglage par "
        "défaut (courriel, immédiat).",
    )

    _phone = field_validator("sms_phone")(phone_or_none)


class PreferencesPublic(BaseModel):
    sms_phone: str | None
    preferences: list[KindPreferencePublic]


class NotificationPublic(BaseModel):
    id: uuid.UUID
    kind: str
    label: str
    channel: NotificationChannel
    status: NotificationStatus
    status_label: str
    subject_type: str
    subject_id: uuid.UUID
    context: dict[str, Any]
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    failed_at: datetime | None
    cancelled_at: datetime | None

    @classmethod
    def of(cls, row: Notification) -> NotificationPublic:
        return cls(
            id=row.id,
            kind=row.kind,
            label=label(row.kind),
            channel=row.channel,
            status=row.status,
            status_label=NOTIFICATION_STATUS_LABELS[row.status],
            subject_type=row.subject_type,
            subject_id=row.subject_id,
            context=row.context,
            attempts=row.attempts,
            created_at=row.created_at,
            sent_at=row.sent_at,
            delivered_at=row.delivered_at,
            failed_at=row.failed_at,
            cancelled_at=row.cancelled_at,
        )


class SmsStatusReport(BaseModel):
    """A delivery report of the SMS provider."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=100, description="Identifiant chez le fournisseur.")
    status: ProviderStatus
    timestamp: datetime = Field(description="Moment de l'état, avec fuseau horaire.")
