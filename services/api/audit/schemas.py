from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AuditEntryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="Identifiant.")
    occurred_at: datetime = Field(description="Moment de l'action.")
    actor_type: str = Field(description="Qui a agi : `user`, `api_key` ou `system`.")
    actor_id: uuid.UUID | None = Field(
        description="Identifiant de l'utilisateur ou de la clé d'API qui a agi."
    )
    organisation_id: uuid.UUID | None = Field(description="Organisation de l'acteur.")
    action: str = Field(
        description="Action tracée (par exemple `candidate.read`, `candidate.update`)."
    )
    resource_type: str = Field(description="Sorte de ressource concernée (`candidate`, `offer`…).")
    resource_id: uuid.UUID | None = Field(description="Identifiant de la ressource concernée.")
    request_id: str | None = Field(
        description="Identifiant de la requête HTTP (X-Request-ID) qui a porté l'action."
    )
    details: dict[str, Any] = Field(
        description=(
            "Précisions sur l'action (champs modifiés, motif…), jamais de valeur personnelle."
        )
    )
