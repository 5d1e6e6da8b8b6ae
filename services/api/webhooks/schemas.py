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
    model_config = ConfigDict(extra="forbid")

    url: AnyHttpUrl = Field(
        description="Adresse qui recevra les POST signés (https en production)."
    )
    event_types: list[WebhookEventType] = Field(
        min_length=1, max_length=len(PUBLIC_EVENTS), description="Types d'événements choisis."
    )
    description: str | None = Field(default=None, max_length=200)


class WebhookPublic(BaseModel):
    id: uuid.UUID
    organisation_id: uuid.UUID
    url: str
    description: str | None
    event_types: list[str]
    role: Role = Field(description="Rôle avec lequel l'abonnement reçoit les événements.")
    is_active: bool
    failing_since: datetime | None
    disabled_at: datetime | None
    created_at: datetime

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
    id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    status: WebhookDeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: WebhookDeliveryError | None = Field(
        description="Cause du dernier échec, parmi une liste fixe : `timeout`, "
        "`connection_failed`, `tls_error`, `refused_address` (adresse interne, rien n'a été "
        "envoyé), `name_not_resolved`, `http_status` (voir `last_status_code`), "
        "`request_failed`, `subscription_disabled`, `subscription_deleted`."
    )
    created_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    failed_at: datetime | None

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
