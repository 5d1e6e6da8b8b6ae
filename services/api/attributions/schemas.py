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


ROLE = (
    "Rôle de l'entreprise sur le lot : `holder` (titulaire), `co_contractor` (cotraitant d'un "
    "groupement) ou `subcontractor` (sous-traitant)."
)
SHARE = (
    "Part des heures dues du lot qui revient à l'entreprise, en pourcentage (0 à 100), quand un "
    "groupement se les répartit. Sans part, un titulaire doit tout le lot, un cotraitant ou un "
    "sous-traitant rien en propre."
)
PARENT = (
    "Pour un sous-traitant : l'attribution de son titulaire sur le même lot, dont le total "
    "compte aussi ses heures."
)
REFERENT = (
    "Le référent : un compte actif de l'entreprise attributaire, qui reçoit les relances des "
    "relevés d'heures et des sorties à saisir."
)


class AttributionUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "allocated_share_percent": "40",
                    "referent_user_id": "0190a4c2-6f1e-7b3a-9c55-2d4e8f1a0c21",
                }
            ]
        },
    )

    role: AttributionRole | None = Field(default=None, description=ROLE)
    allocated_share_percent: Percent | None = Field(
        default=None, description=f"{SHARE} `null` retire la part."
    )
    parent_attribution_id: uuid.UUID | None = Field(
        default=None, description=f"{PARENT} `null` le détache."
    )
    referent_user_id: uuid.UUID | None = Field(
        default=None, description=f"{REFERENT} `null` : plus de référent."
    )

    _not_null = field_validator("role")(refuse_null)


class AttributionPublic(BaseModel):
    id: uuid.UUID = Field(description="Identifiant.")
    contract_id: uuid.UUID = Field(description="Le marché.")
    lot_id: uuid.UUID | None = Field(description="Le lot ; `null` pour un marché sans lots.")
    organisation_id: uuid.UUID = Field(description="L'entreprise attributaire.")
    role: AttributionRole = Field(description=ROLE)
    role_label: str = Field(description="Le rôle en toutes lettres, en français.")
    allocated_share_percent: Decimal | None = Field(
        description=f"{SHARE} `null` : pas de part fixée."
    )
    parent_attribution_id: uuid.UUID | None = Field(
        description=f"{PARENT} `null` : pas de titulaire au-dessus."
    )
    referent_user_id: uuid.UUID | None = Field(
        description=f"{REFERENT} `null` : pas de référent, pas de relance."
    )
    created_at: datetime = Field(description="Date et heure de création.")
    updated_at: datetime = Field(description="Date et heure de la dernière modification.")

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
