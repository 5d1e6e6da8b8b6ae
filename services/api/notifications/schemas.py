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

    kind: AlertKind = Field(description="Sorte d'alerte.")
    channels: list[NotificationChannel] = Field(
        max_length=2, description="Canaux choisis ; vide : désabonné (refusé si obligatoire)."
    )
    mode: DeliveryMode = Field(
        default=DeliveryMode.IMMEDIATE,
        description="`immediate` : une alerte à la fois ; `digest` : un récapitulatif quotidien.",
    )


class KindPreferencePublic(KindPreference):
    label: str = Field(description="La sorte d'alerte en toutes lettres, en français.")
    mandatory: bool = Field(description="Alerte obligatoire : on ne peut s'en désabonner.")


class PreferencesUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "sms_phone": "+33612345678",
                    "preferences": [
                        {
                            "kind": "callback.reminder",
                            "channels": ["email", "sms"],
                            "mode": "immediate",
                        },
                        {"kind": "match.suggested", "channels": ["email"], "mode": "digest"},
                    ],
                }
            ]
        },
    )

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
    sms_phone: str | None = Field(description="Numéro de mobile qui reçoit les SMS (E.164).")
    preferences: list[KindPreferencePublic] = Field(
        description="Le choix de canaux et de rythme pour chaque sorte d'alerte."
    )


class NotificationPublic(BaseModel):
    id: uuid.UUID = Field(description="Identifiant.")
    kind: str = Field(description="Sorte d'alerte (`callback.reminder`, `match.suggested`…).")
    label: str = Field(description="La sorte d'alerte en toutes lettres, en français.")
    channel: NotificationChannel = Field(description="Canal (`email` ou `sms`).")
    status: NotificationStatus = Field(
        description=(
            "Où en est l'envoi (`pending`, `held` pour le récapitulatif du jour, `sent`, "
            "`delivered`, `failed`, `cancelled`)."
        )
    )
    status_label: str = Field(description="L'état en toutes lettres, en français.")
    subject_type: str = Field(
        description="Sorte d'objet dont parle l'alerte (`callback_case`, `offer`…)."
    )
    subject_id: uuid.UUID = Field(description="Identifiant de cet objet.")
    context: dict[str, Any] = Field(
        description="Identifiants et dates utiles à l'affichage, sans donnée personnelle."
    )
    attempts: int = Field(description="Nombre d'envois tentés.")
    created_at: datetime = Field(description="Date et heure de création.")
    sent_at: datetime | None = Field(description="Envoi.")
    delivered_at: datetime | None = Field(description="Remise confirmée par le fournisseur.")
    failed_at: datetime | None = Field(description="Abandon de l'envoi.")
    cancelled_at: datetime | None = Field(description="Annulation (devenue sans objet).")

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

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "description": "Un compte rendu de remise d'un SMS, envoyé par le fournisseur de SMS.",
            "examples": [
                {"id": "fournisseur-42", "status": "delivered", "timestamp": "2026-03-02T10:05:00Z"}
            ],
        },
    )

    id: str = Field(min_length=1, max_length=100, description="Identifiant chez le fournisseur.")
    status: ProviderStatus = Field(
        description="État rapporté : `accepted`, `sent`, `delivered` ou `failed`."
    )
    timestamp: datetime = Field(description="Moment de l'état, avec fuseau horaire.")
