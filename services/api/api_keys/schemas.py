from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from services.api.validation import AwareMoment, InvalidValue
from services.core.models.api_key import ApiKey
from services.core.models.user import ROLE_LABELS, Role
from services.core.security.principal import Access

# What a key may be allowed to touch, as "<resource>:read" or "<resource>:write" (write implies
# read). Resources of later issues are listed already, so that keys made today can be given them.
SCOPE_RESOURCES: tuple[str, ...] = (
    "organisations",
    "users",
    "contracts",
    "offers",
    "referentials",
    "candidates",
    "intakes",
    "matches",
    "callbacks",
    "webhooks",
    "obligations",
    "attributions",
    "placements",
    "hours_statements",
    "outcomes",
)
SCOPES: frozenset[str] = frozenset(
    f"{resource}:{access.value}" for resource in SCOPE_RESOURCES for access in Access
)
INVALID_SCOPE = (
    "portée inconnue : « ressource:read » ou « ressource:write » attendu, ressources : "
    + ", ".join(SCOPE_RESOURCES)
)


def _scopes(scopes: list[str]) -> list[str]:
    if any(scope not in SCOPES for scope in scopes):
        raise InvalidValue(INVALID_SCOPE)
    return sorted(set(scopes))


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "SIRH de l'agence",
                    "role": "prescriber",
                    "scopes": ["candidates:read", "offers:read"],
                    "expires_at": "2027-06-30T23:59:59+02:00",
                }
            ]
        },
    )

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] = (
        Field(description="Nom de la clé, pour la reconnaître (le logiciel qui l'utilise).")
    )
    role: Role = Field(description="Rôle avec lequel la clé agit, au plus le vôtre.")
    scopes: Annotated[
        list[Annotated[str, Field(max_length=40)]], Field(min_length=1, max_length=40)
    ] = Field(description="Portées accordées, `ressource:read` ou `ressource:write`.")
    organisation_id: uuid.UUID | None = Field(
        default=None,
        description="Organisation au nom de laquelle la clé agit : la vôtre par défaut ; "
        "un administrateur peut en choisir une autre.",
    )
    expires_at: AwareMoment | None = Field(
        default=None,
        description=(
            "Fin de validité (avec fuseau horaire) ; sans date, la clé vaut jusqu'à sa révocation."
        ),
    )

    _check_scopes = field_validator("scopes")(_scopes)


class ApiKeyPublic(BaseModel):
    id: uuid.UUID = Field(description="Identifiant.")
    name: str = Field(description="Nom de la clé.")
    organisation_id: uuid.UUID = Field(description="Organisation au nom de laquelle la clé agit.")
    role: Role = Field(description="Rôle de la clé, au plus celui de son créateur.")
    role_label: str = Field(description="Le rôle en toutes lettres, en français.")
    prefix: str = Field(description="Début de la clé, pour la reconnaître.")
    scopes: list[str] = Field(
        description="Portées accordées (`ressource:read`, `ressource:write`)."
    )
    expires_at: datetime | None = Field(description="Fin de validité ; `null` : sans fin.")
    revoked_at: datetime | None = Field(
        description="Date de révocation ; `null` : la clé est utilisable."
    )
    last_used_at: datetime | None = Field(
        description="Dernière utilisation (à quelques secondes près)."
    )
    created_by_id: uuid.UUID | None = Field(description="Utilisateur qui a créé la clé.")
    created_at: datetime = Field(description="Date et heure de création.")

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyPublic:
        return cls(
            id=key.id,
            name=key.name,
            organisation_id=key.organisation_id,
            role=key.role,
            role_label=ROLE_LABELS[key.role],
            prefix=key.prefix,
            scopes=sorted(key.scopes),
            expires_at=key.expires_at,
            revoked_at=key.revoked_at,
            last_used_at=key.last_used_at,
            created_by_id=key.created_by_id,
            created_at=key.created_at,
        )


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(
        description="La clé complète, affichée cette fois seulement : conservez-la en lieu sûr. "
        "À envoyer dans l'en-tête X-API-Key ou Authorization: Bearer."
    )
