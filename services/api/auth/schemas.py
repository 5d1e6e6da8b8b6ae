from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

from services.core.models.organisation import OrganisationKind
from services.core.models.user import Permission, Role


class TokenResponse(BaseModel):
    """RFC 6749 §5.1."""

    model_config = ConfigDict(
        json_schema_extra={"description": "Les jetons d'une connexion (RFC 6749 §5.1)."}
    )

    access_token: str = Field(description="Jeton d'accès, à envoyer en `Authorization: Bearer`.")
    token_type: str = Field(default="bearer", description="Toujours `bearer`.")
    expires_in: int = Field(description="Durée de validité du jeton d'accès, en secondes.")
    refresh_token: str = Field(
        description=(
            "Jeton de rafraîchissement (usage unique) : "
            "`grant_type=refresh_token` rend une nouvelle paire."
        )
    )


class LogoutRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"refresh_token": "rt_2kq9w7Zt4pYx0bVfGmN3"}]},
    )

    refresh_token: str = Field(
        min_length=1,
        max_length=200,
        description="Le jeton de rafraîchissement de la session à fermer.",
    )


class MeOrganisation(BaseModel):
    id: uuid.UUID = Field(description="Identifiant.")
    name: str = Field(description="Nom de l'organisation.")
    kind: OrganisationKind = Field(
        description=(
            "Sorte d'organisation (structure d'animation, bailleur, France Travail, employeur…)."
        )
    )


class Me(BaseModel):
    id: uuid.UUID = Field(description="Identifiant.")
    email: str = Field(description="Adresse e-mail, identifiant de connexion.")
    full_name: str = Field(description="Prénom et nom.")
    role: Role = Field(
        description=(
            "Rôle (`admin`, `facilitator`, `prescriber`, `reception`, `employer`)"
            " : ce qu'il peut lire et faire."
        )
    )
    role_label: str = Field(description="Le rôle en toutes lettres, en français.")
    is_manager: bool = Field(
        description="Responsable de son organisation : reçoit ses alertes et escalades."
    )
    permissions: list[Permission] = Field(
        description=(
            "Droits accordés un à un en plus du rôle (`sensitive_data` : critères"
            " sensibles, RQTH et justice)."
        )
    )
    organisation: MeOrganisation = Field(description="Son organisation.")
    territory_size: int = Field(description="Nombre d'organisations dont vous voyez les données.")
