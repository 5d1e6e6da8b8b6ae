from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

from services.core.models.organisation import OrganisationKind
from services.core.models.user import Permission, Role


class TokenResponse(BaseModel):
    """RFC 6749 §5.1."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105  (the OAuth2 token type, not a secret)
    expires_in: int = Field(description="Durée de validité du jeton d'accès, en secondes.")
    refresh_token: str


class LogoutRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(min_length=1, max_length=200)


class MeOrganisation(BaseModel):
    id: uuid.UUID
    name: str
    kind: OrganisationKind


class Me(BaseModel):
    id: uuid.UUID
    email: str
    full_name: str
    role: Role
    role_label: str
    is_manager: bool
    permissions: list[Permission]
    organisation: MeOrganisation
    territory_size: int = Field(description="Nombre d'organisations dont vous voyez les données.")
