"""API keys of external HR systems (the ``integration`` users of product.md §1)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field

from services.core.models.base import EnumText, TableBase
from services.core.models.user import Role


class ApiKey(TableBase, table=True):
    """Shown once at creation; only its SHA-256 is kept, with a visible prefix to recognise it."""

    __tablename__ = "api_key"

    organisation_id: uuid.UUID = Field(
        foreign_key="organisation.id", index=True, nullable=False, ondelete="RESTRICT"
    )
    created_by_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    name: str = Field(sa_type=String(100), nullable=False)
    # The role the key acts with (never above its creator's): access rules are the same as for a
    # user of that role in the organisation, further narrowed by ``scopes``.
    role: Role = Field(sa_type=EnumText(Role, 20), nullable=False)
    prefix: str = Field(sa_type=String(16), unique=True, nullable=False)
    key_hash: str = Field(sa_type=String(64), unique=True, nullable=False)
    # "<resource>:read" / "<resource>:write", e.g. "offers:write".
    scopes: list[str] = Field(default_factory=list, sa_type=ARRAY(String(40)), nullable=False)
    expires_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    revoked_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    last_used_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
