"""Webhook subscriptions and their delivery log."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from services.core.models.notification import (
    WebhookDelivery,
    WebhookDeliveryError,
    WebhookDeliveryStatus,
    WebhookSubscription,
)
from services.core.models.user import Role
from services.core.webhooks import PUBLIC_EVENTS

WebhookEventType = StrEnum(  # type: ignore[misc]
    "WebhookEventType", {name.replace(".", "_").upper(): name for name in PUBLIC_EVENTS}
)


class WebhookCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://rh.example.fr/maillon/evenements",
                    "event_types": ["offer.published", "candidate.placed"],
                    "description": "SIRH : offres publiées et recrutements",
                }
            ]
        },
    )

    url: AnyHttpUrl = Field(
        description="Adresse qui recevra les POST signés (https en production)."
    )
    event_types: list[WebhookEventType] = Field(
        min_length=1, max_length=len(PUBLIC_EVENTS), description="Types d'événements choisis."
    )
    description: str | None = Field(
        default=None, max_length=200, description="Note libre pour reconnaître l'abonnement."
    )


class WebhookPublic(BaseModel):
    id: uuid.UUID = Field(description="Identifiant.")
    organisation_id: uuid.UUID = Field(description="Organisation abonnée.")
    url: str = Field(description="Adresse HTTPS qui reçoit les événements.")
    description: str | None = Field(description="Note libre.")
    event_types: list[str] = Field(
        description="Types d'événements reçus (section *webhooks* du document)."
    )
    role: Role = Field(description="Rôle avec lequel l'abonnement reçoit les événements.")
    is_active: bool = Field(
        description=(
            "L'abonnement reçoit les événements ; `false` après désactivation (échecs trop longs)."
        )
    )
    failing_since: datetime | None = Field(
        description="Début des échecs de livraison en cours ; `null` si tout passe."
    )
    disabled_at: datetime | None = Field(description="Date de désactivation automatique.")
    created_at: datetime = Field(description="Date et heure de création.")

    @classmethod
    def of(cls, row: WebhookSubscription) -> WebhookPublic:
        return cls(
            id=row.id,
            organisation_id=row.organisation_id,
            url=row.url,
            description=row.description,
            event_types=list(row.event_types),
            role=row.role,
            is_active=row.is_active,
            failing_since=row.failing_since,
            disabled_at=row.disabled_at,
            created_at=row.created_at,
        )


class WebhookCreated(WebhookPublic):
    secret: str = Field(
        description="Secret de signature (Standard Webhooks), montré cette fois seulement."
    )


class WebhookDeliveryPublic(BaseModel):
    id: uuid.UUID = Field(
        description=(
            "Identifiant de la livraison (l'en-tête `webhook-id` vaut `msg_` suivi de lui)."
        )
    )
    event_id: uuid.UUID = Field(description="Identifiant de l'événement livré.")
    event_type: str = Field(description="Type de l'événement.")
    status: WebhookDeliveryStatus = Field(
        description=(
            "`pending` (à envoyer ou à réessayer), `delivered` (réponse 2xx) ou "
            "`failed` (abandonnée)."
        )
    )
    attempts: int = Field(description="Nombre d'envois tentés.")
    last_status_code: int | None = Field(description="Statut HTTP de la dernière réponse reçue.")
    last_error: WebhookDeliveryError | None = Field(
        description="Cause du dernier échec, parmi une liste fixe : `timeout`, "
        "`connection_failed`, `tls_error`, `refused_address` (adresse interne, rien n'a été "
        "envoyé), `name_not_resolved`, `http_status` (voir `last_status_code`), "
        "`request_failed`, `subscription_disabled`, `subscription_deleted`."
    )
    created_at: datetime = Field(description="Date et heure de création.")
    last_attempt_at: datetime | None = Field(description="Dernier envoi tenté.")
    next_attempt_at: datetime | None = Field(description="Prochain envoi prévu.")
    delivered_at: datetime | None = Field(description="Date de livraison.")
    failed_at: datetime | None = Field(description="Date d'abandon.")

    @classmethod
    def of(cls, row: WebhookDelivery) -> WebhookDeliveryPublic:
        return cls(
            id=row.id,
            event_id=row.event_id,
            event_type=row.event_type,
            status=row.status,
            attempts=row.attempts,
            last_status_code=row.last_status_code,
            last_error=WebhookDeliveryError(row.last_error) if row.last_error else None,
            created_at=row.created_at,
            last_attempt_at=row.last_attempt_at,
            next_attempt_at=row.next_attempt_at
            if row.status is WebhookDeliveryStatus.PENDING
            else None,
            delivered_at=row.delivered_at,
            failed_at=row.failed_at,
        )
