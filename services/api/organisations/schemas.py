from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from stdnum.fr import siret as stdnum_siret

from services.api.patch import refuse_null
from services.api.validation import InvalidValue, insee_code
from services.core.models.organisation import (
    ORGANISATION_KIND_LABELS,
    Organisation,
    OrganisationKind,
)

INVALID_SIRET = "SIRET invalide (14 chiffres, clé de contrôle)"

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Address = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Siret = Annotated[str, Field(max_length=20, description="14 chiffres ; espaces acceptés.")]
CommuneInsee = Annotated[str, Field(max_length=5, description="Code INSEE de la commune.")]
RetentionMonths = Annotated[
    int,
    Field(
        ge=1,
        le=36,
        description="Mois sans activité avant l'anonymisation d'un candidat (1 à 36) ; "
        "null : la durée de l'instance (24 mois par défaut).",
    ),
]


def _siret(value: str | None) -> str | None:
    if value is None:
        return None
    compact = stdnum_siret.compact(value)
    if not (compact.isdigit() and stdnum_siret.is_valid(compact)):
        raise InvalidValue(INVALID_SIRET)
    return compact


class OrganisationCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Plaine Commune Habitat",
                    "kind": "social_landlord",
                    "siret": "27930004000011",
                    "address": "5 rue Jean Jaurès, 93200 Saint-Denis",
                    "commune_insee": "93066",
                    "parent_id": "0190a4c2-6f1e-7b3a-9c55-2d4e8f1a0b01",
                }
            ]
        },
    )

    name: Name = Field(description="Nom de l'organisation.")
    kind: OrganisationKind = Field(
        description="Sorte d'organisation (décide de ce que ses comptes peuvent faire)."
    )
    siret: Siret | None = Field(
        default=None, description="SIRET (14 chiffres, clé de Luhn vérifiée)."
    )
    address: Address | None = Field(default=None, description="Adresse postale.")
    commune_insee: CommuneInsee
    parent_id: uuid.UUID | None = Field(
        default=None,
        description="Structure dont elle dépend. Pour un facilitateur : par défaut, la sienne.",
    )

    _check_siret = field_validator("siret")(_siret)
    _check_insee = field_validator("commune_insee")(insee_code)


class OrganisationUpdate(BaseModel):
    """Only the fields sent change; ``null`` empties ``siret``, ``address`` and ``parent_id``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "description": "Seuls les champs envoyés changent ; `null` efface `siret`, `address` "
            "et `parent_id`.",
            "examples": [
                {"address": "12 place du Caquet, 93200 Saint-Denis", "retention_months": 24}
            ],
        },
    )

    name: Name | None = Field(default=None, description="Nom de l'organisation.")
    kind: OrganisationKind | None = Field(default=None, description="Sorte d'organisation.")
    siret: Siret | None = Field(default=None, description="SIRET ; `null` l'efface.")
    address: Address | None = Field(default=None, description="Adresse postale ; `null` l'efface.")
    commune_insee: CommuneInsee | None = Field(
        default=None, description="Code INSEE de la commune du siège."
    )
    parent_id: uuid.UUID | None = Field(
        default=None,
        description=(
            "Organisation de rattachement (la structure d'animation du "
            "territoire) ; `null` la détache."
        ),
    )
    is_active: bool | None = Field(default=None, description="`false` désactive l'organisation.")
    retention_months: RetentionMonths | None = Field(
        default=None,
        description=(
            "Durée de conservation des personnes sans activité, en mois (1 à 36) "
            "; `null` : celle de l'instance."
        ),
    )

    _check_siret = field_validator("siret")(_siret)
    _check_insee = field_validator("commune_insee")(insee_code)
    _not_null = field_validator("name", "kind", "commune_insee", "is_active")(refuse_null)


class OrganisationPublic(BaseModel):
    id: uuid.UUID = Field(description="Identifiant.")
    name: str = Field(description="Nom de l'organisation.")
    kind: OrganisationKind = Field(description="Sorte d'organisation.")
    kind_label: str = Field(description="La sorte d'organisation en toutes lettres, en français.")
    siret: str | None = Field(description="SIRET.")
    address: str | None = Field(description="Adresse postale.")
    commune_insee: str | None = Field(
        description="Commune INSEE ; absente pour une organisation trouvée dans les données "
        "ouvertes de la commande publique, tant que personne ne l'a renseignée."
    )
    parent_id: uuid.UUID | None = Field(
        description="Organisation de rattachement (structure d'animation du territoire)."
    )
    is_active: bool = Field(description="L'organisation est active.")
    retention_months: int | None = Field(
        description=(
            "Durée de conservation des personnes sans activité, en mois ; `null` "
            ": celle de l'instance."
        )
    )
    created_at: datetime = Field(description="Date et heure de création.")
    updated_at: datetime = Field(description="Date et heure de la dernière modification.")

    @classmethod
    def of(cls, organisation: Organisation) -> OrganisationPublic:
        return cls(
            id=organisation.id,
            name=organisation.name,
            kind=organisation.kind,
            kind_label=ORGANISATION_KIND_LABELS[organisation.kind],
            siret=organisation.siret,
            address=organisation.address,
            commune_insee=organisation.commune_insee,
            parent_id=organisation.parent_id,
            is_active=organisation.is_active,
            retention_months=organisation.retention_months,
            created_at=organisation.created_at,
            updated_at=organisation.updated_at,
        )
