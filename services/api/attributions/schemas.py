from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.api.obligations.schemas import Percent
from services.api.patch import refuse_null
from services.core.models.attribution import (
    ATTRIBUTION_ROLE_LABELS,
    Attribution,
    AttributionRole,
)


class AttributionCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "lot_id": "0190a4c2-6f1e-7b3a-9c55-2d4e8f1a0d01",
                    "organisation_id": "0190a4c2-6f1e-7b3a-9c55-2d4e8f1a0b04",
                    "role": "co_contractor",
                    "allocated_share_percent": "60",
                    "referent_user_id": "0190a4c2-6f1e-7b3a-9c55-2d4e8f1a0c21",
                }
            ]
        },
    )

    lot_id: uuid.UUID | None = Field(
        default=None, description="Le lot ; absent pour un marché sans lots."
    )
    organisation_id: uuid.UUID = Field(description="L'entreprise attributaire.")
    role: AttributionRole = Field(
        description="Rôle de l'entreprise sur le lot : `holder` (titulaire), `co_contractor` "
        "(cotraitant d'un groupement) ou `subcontractor` (sous-traitant, rattaché à son "
        "titulaire par `parent_attribution_id`)."
    )
    allocated_share_percent: Percent | None = Field(
        default=None, description="Part des heures du lot qui lui revient (groupements)."
    )
    parent_attribution_id: uuid.UUID | None = Field(
        default=None, description="Pour un sous-traitant : l'attribution de son titulaire."
    )
    referent_user_id: uuid.UUID | None = Field(
        default=None, description="Le référent qui reçoit les relances de relevés d'heures."
    )


class AttributionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: AttributionRole | None = None
    allocated_share_percent: Percent | None = None
    parent_attribution_id: uuid.UUID | None = None
    referent_user_id: uuid.UUID | None = None

    _not_null = field_validator("role")(refuse_null)


class AttributionPublic(BaseModel):
    id: uuid.UUID
    contract_id: uuid.UUID
    lot_id: uuid.UUID | None
    organisation_id: uuid.UUID
    role: AttributionRole
    role_label: str
    allocated_share_percent: Decimal | None
    parent_attribution_id: uuid.UUID | None
    referent_user_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, a: Attribution) -> AttributionPublic:
        return cls(
            id=a.id,
            contract_id=a.contract_id,
            lot_id=a.lot_id,
            organisation_id=a.organisation_id,
            role=a.role,
            role_label=ATTRIBUTION_ROLE_LABELS[a.role],
            allocated_share_percent=a.allocated_share_percent,
            parent_attribution_id=a.parent_attribution_id,
            referent_user_id=a.referent_user_id,
            created_at=a.created_at,
            updated_at=a.updated_at,
        )
