"""People who sign in, and the refresh tokens they hold."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field

from services.core.models.base import EnumText, TableBase
from services.core.schema_description import schema_description


class Role(StrEnum):
    ADMIN = "admin"
    FACILITATOR = "facilitator"
    PRESCRIBER = "prescriber"
    RECEPTION = "reception"
    EMPLOYER = "employer"
    BUYER = "buyer"


ROLE_LABELS: dict[Role, str] = {
    Role.ADMIN: "Administrateur de l'instance",
    Role.FACILITATOR: "Facilitateur de la clause",
    Role.PRESCRIBER: "Prescripteur",
    Role.RECEPTION: "Accueil",
    Role.EMPLOYER: "Employeur",
    Role.BUYER: "Acheteur (maître d'ouvrage)",
}


class Permission(StrEnum):
    """Rights granted one by one, beyond what the role gives."""

    __get_pydantic_json_schema__ = schema_description(
        "Droit accordé un à un, en plus de ceux du rôle : `sensitive_data` (lire et saisir les "
        "critères sensibles, RQTH et justice)."
    )

    SENSITIVE_DATA = "sensitive_data"  # RQTH and judicial criteria (product.md §4.5)


class User(TableBase, table=True):
    """A person with an account. One organisation, one role; ``is_manager`` marks who receives
    escalations for the organisation."""

    __tablename__ = "user_account"

    email: str = Field(sa_type=String(254), unique=True, nullable=False)  # stored lower-case
    full_name: str = Field(sa_type=String(200), nullable=False)
    password_hash: str = Field(sa_type=String(200), nullable=False)
    organisation_id: uuid.UUID = Field(
        foreign_key="organisation.id", index=True, nullable=False, ondelete="RESTRICT"
    )
    role: Role = Field(sa_type=EnumText(Role, 20), nullable=False)
    is_manager: bool = Field(default=False, nullable=False)
    permissions: list[str] = Field(default_factory=list, sa_type=ARRAY(String(40)), nullable=False)
    is_active: bool = Field(default=True, nullable=False)
    last_login_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class RefreshToken(TableBase, table=True):
    """One refresh token (stored as a hash). Using it rotates it: the new one joins the same
    ``family_id``; presenting a rotated token again revokes the whole family (theft)."""

    __tablename__ = "refresh_token"

    user_id: uuid.UUID = Field(
        foreign_key="user_account.id", index=True, nullable=False, ondelete="CASCADE"
    )
    family_id: uuid.UUID = Field(nullable=False, index=True)
    token_hash: str = Field(sa_type=String(64), unique=True, nullable=False)
    expires_at: datetime = Field(sa_type=DateTime(timezone=True), nullable=False)
    used_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    revoked_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
