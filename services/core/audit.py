"""Writing the audit log, in the transaction of the action it records."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.core.models.audit import AuditEntry
from services.core.security.principal import Principal


def record(
    session: AsyncSession,
    actor: Principal | None,
    action: str,
    resource_type: str,
    resource_id: uuid.UUID | None = None,
    *,
    request_id: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Add one audit entry. ``details`` carries ids and field names only, never personal data.

    ``actor`` None: the system itself (a job, a command run by an operator).
    """
    entry = AuditEntry(
        actor_type=actor.kind if actor is not None else "system",
        actor_id=actor.id if actor is not None else None,
        organisation_id=actor.organisation_id if actor is not None else None,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        request_id=request_id,
        details=dict(details or {}),
    )
    session.add(entry)
    return entry
