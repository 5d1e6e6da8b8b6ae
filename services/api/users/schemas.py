from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from services.api.patch import refuse_null
from services.api.validation import InvalidValue
from services.core.contact import InvalidContact, normalise_email
from services.core.models.user import ROLE_LABELS, Permission, Role, User
from services.core.security.passwords import MIN_PASSWORD_LENGTH

FullName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Password = Annotated[
    str,
    Field(
        min_length=MIN_PASSWORD_LENGTH,
        max_length=200,
        description=f"Au moins {MIN_PASSWORD_LENGTH} caractères.",
    ),
]
Permissions = Annotated[
    list[Permission], Field(max_length=20, description="Droits en plus du rôle.")
]


def account_email(value: str) -> str:
    """The address as stored, as for candidates (services.core.contact): checked, lower-case."""
    try:
        return normalise_email(value)
    except InvalidContact as error:
        raise InvalidValue(str(error)) from None


def _unique(permissions: list[Permission] | None) -> list[Permission] | None:
    return None if permissions is None else sorted(set(permissions))


class UserCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "email": "claire.martin@agence.example.fr",
                    "full_name": "Claire Martin",
                    "password": "une phrase de passe longue",
                    "organisation_id": "0190a4c2-6f1e-7b3a-9c55-2d4e8f1a0b01",
                    "role": "prescriber",
                    "is_manager": False,
                    "permissions": [],
                }
            ]
        },
    )

    email: Annotated[str, Field(max_length=254)] = Field(
        description="Adresse e-mail, identifiant de connexion (unique)."
    )
    full_name: FullName = Field(description="Prénom et nom.")
    password: Password
    organisation_id: uuid.UUID = Field(description="Organisation du compte.")
    role: Role = Field(
        description=(
            "Rôle (`admin`, `facilitator`, `prescriber`, `reception`, `employer`)"
            " : ce qu'il peut lire et faire."
        )
    )
    is_manager: bool = Field(
        default=False,
        description="Responsable de son organisation : reçoit ses alertes et escalades.",
    )
    permissions: Permissions = []

    _check_email = field_validator("email")(account_email)
    _check_permissions = field_validator("permissions")(_unique)


class UserUpdate(BaseModel):
    """Only the fields sent change. Deactivating an account signs it out everywhere."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "description": "Seuls les champs envoyés changent. Désactiver un compte le déconnecte "
            "partout.",
            "examples": [{"role": "prescriber", "is_manager": True}],
        },
    )

    full_name: FullName | None = Field(default=None, description="Prénom et nom.")
    role: Role | None = Field(
        default=None,
        description=(
            "Rôle (`admin`, `facilitator`, `prescriber`, `reception`, `employer`)"
            " : ce qu'il peut lire et faire."
        ),
    )
    is_manager: bool | None = Field(default=None, description="Responsable de son organisation.")
    permissions: Permissions | None = Field(
        default=None,
        description=(
            "Droits accordés un à un en plus du rôle (`sensitive_data` : critères"
            " sensibles, RQTH et justice)."
        ),
    )
    is_active: bool | None = Field(
        default=None, description="`false` désactive le compte et le déconnecte partout."
    )

    _check_permissions = field_validator("permissions")(_unique)
    _not_null = field_validator("full_name", "role", "is_manager", "permissions", "is_active")(
        refuse_null
    )


class PasswordChange(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "current_password": "une phrase de passe longue",
                    "new_password": "une autre phrase de passe, plus longue",
                }
            ]
        },
    )

    current_password: Annotated[
        str | None,
        Field(
            max_length=200,
            description="Obligatoire pour changer son propre mot de passe.",
        ),
    ] = None
    new_password: Password


class UserPublic(BaseModel):
    id: uuid.UUID = Field(description="Identifiant.")
    email: str = Field(description="Adresse e-mail, identifiant de connexion.")
    full_name: str = Field(description="Prénom et nom.")
    organisation_id: uuid.UUID = Field(description="Organisation du compte.")
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
    is_active: bool = Field(description="Le compte peut se connecter.")
    last_login_at: datetime | None = Field(description="Dernière connexion.")
    created_at: datetime = Field(description="Date et heure de création.")
    updated_at: datetime = Field(description="Date et heure de la dernière modification.")

    @classmethod
    def of(cls, user: User) -> UserPublic:
        known = set(Permission.__members__.values())
        return cls(
            id=user.id,
            email=user.email,
            full_name=user.full_name,
            organisation_id=user.organisation_id,
            role=user.role,
            role_label=ROLE_LABELS[user.role],
            is_manager=user.is_manager,
            permissions=sorted(Permission(p) for p in user.permissions if p in known),
            is_active=user.is_active,
            last_login_at=user.last_login_at,
            created_at=user.created_at,
            updated_at=user.updated_at,
        )
