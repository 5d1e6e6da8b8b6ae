"""The audit log: every read and change of personal data, every admin action. Append-only."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from services.core.clock import now
from services.core.ids import uuid7


class AuditEntry(SQLModel, table=True):
    """Who (user or API key, and their organisation) did what to which resource, when, in which
    request. ``details`` holds ids and field names only, never the personal data itself.

    The migration installs a trigger refusing UPDATE and DELETE on this table.
    """

    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_resource", "resource_type", "resource_id"),
        Index("ix_audit_entry_organisation_time", "organisation_id", "occurred_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    occurred_at: datetime = Field(default_factory=now, sa_type=DateTime(timezone=True))
    actor_type: str = Field(sa_type=String(20), nullable=False)  # user | api_key | system
    actor_id: uuid.UUID | None = Field(default=None, index=True)
    organisation_id: uuid.UUID | None = Field(default=None)
    action: str = Field(sa_type=String(40), nullable=False)  # read | create | update | delete…
    resource_type: str = Field(sa_type=String(40), nullable=False)
    resource_id: uuid.UUID | None = Field(default=None)
    request_id: str | None = Field(default=None, sa_type=String(64))
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB, nullable=False)
