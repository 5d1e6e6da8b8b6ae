"""Searching the audit log."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Select
from sqlmodel import col

from services.core.models.audit import AuditEntry


def search(
    query: Select[AuditEntry],
    *,
    actor_id: uuid.UUID | None = None,
    organisation_id: uuid.UUID | None = None,
    resource_type: str | None = None,
    resource_id: uuid.UUID | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Select[AuditEntry]:
    """Entries matching every filter given, newest first."""
    equal = {
        col(AuditEntry.actor_id): actor_id,
        col(AuditEntry.organisation_id): organisation_id,
        col(AuditEntry.resource_type): resource_type,
        col(AuditEntry.resource_id): resource_id,
        col(AuditEntry.action): action,
    }
    for column, value in equal.items():
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where(col(AuditEntry.occurred_at) >= since)
    if until is not None:
        query = query.where(col(AuditEntry.occurred_at) < until)
    return query.order_by(col(AuditEntry.occurred_at).desc(), col(AuditEntry.id).desc())
