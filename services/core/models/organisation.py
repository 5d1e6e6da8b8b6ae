"""Organisations (structures) and the network that gives a facilitator its territory."""

from __future__ import annotations

import uuid
from enum import StrEnum

from sqlalchemy import CheckConstraint, SmallInteger, String
from sqlmodel import Field

from services.core.models.base import EnumText, TableBase


class OrganisationKind(StrEnum):
    FACILITATION = "facilitation"  # Maison de l'emploi, PLIE, guichet unique
    FRANCE_TRAVAIL = "france_travail"
    MISSION_LOCALE = "mission_locale"
    CAP_EMPLOI = "cap_emploi"
    SIAE_ACI = "siae_aci"
    SIAE_AI = "siae_ai"
    SIAE_EI = "siae_ei"
    SIAE_ETTI = "siae_etti"
    SIAE_EITI = "siae_eiti"
    GEIQ = "geiq"
    SOCIAL_LANDLORD = "social_landlord"
    EMPLOYER = "employer"
    BUYER = "buyer"
    OTHER = "other"


ORGANISATION_KIND_LABELS: dict[OrganisationKind, str] = {
    OrganisationKind.FACILITATION: "Structure d'animation de la clause (Maison de l'emploi, PLIE…)",
    OrganisationKind.FRANCE_TRAVAIL: "Agence France Travail",
    OrganisationKind.MISSION_LOCALE: "Mission locale",
    OrganisationKind.CAP_EMPLOI: "Cap emploi",
    OrganisationKind.SIAE_ACI: "SIAE — atelier et chantier d'insertion (ACI)",
    OrganisationKind.SIAE_AI: "SIAE — association intermédiaire (AI)",
    OrganisationKind.SIAE_EI: "SIAE — entreprise d'insertion (EI)",
    OrganisationKind.SIAE_ETTI: "SIAE — entreprise de travail temporaire d'insertion (ETTI)",
    OrganisationKind.SIAE_EITI: "SIAE — entreprise d'insertion par le travail indépendant (EITI)",
    OrganisationKind.GEIQ: "GEIQ",
    OrganisationKind.SOCIAL_LANDLORD: "Bailleur social",
    OrganisationKind.EMPLOYER: "Employeur",
    OrganisationKind.BUYER: "Acheteur public / maître d'ouvrage",
    OrganisationKind.OTHER: "Autre",
}


class CompanyKind(StrEnum):
    """What kind of company an organisation is, for the clause's reporting (§8.2)."""

    STANDARD = "standard"
    EI = "ei"
    ACI = "aci"
    AI = "ai"
    ETTI = "etti"
    GEIQ = "geiq"
    EA = "ea"
    ESAT = "esat"
    REGIE_QUARTIER = "regie_quartier"
    TEMP_AGENCY = "temp_agency"


COMPANY_KIND_LABELS: dict[CompanyKind, str] = {
    CompanyKind.STANDARD: "Entreprise classique",
    CompanyKind.EI: "Entreprise d'insertion (EI)",
    CompanyKind.ACI: "Atelier et chantier d'insertion (ACI)",
    CompanyKind.AI: "Association intermédiaire (AI)",
    CompanyKind.ETTI: "Entreprise de travail temporaire d'insertion (ETTI)",
    CompanyKind.GEIQ: "GEIQ",
    CompanyKind.EA: "Entreprise adaptée (EA)",
    CompanyKind.ESAT: "ESAT",
    CompanyKind.REGIE_QUARTIER: "Régie de quartier",
    CompanyKind.TEMP_AGENCY: "Entreprise de travail temporaire",
}


class SizeBracket(StrEnum):
    UNDER_10 = "<10"
    FROM_10_TO_49 = "10-49"
    FROM_50_TO_249 = "50-249"
    FROM_250 = "250+"


class Organisation(TableBase, table=True):
    """A structure. ``parent_id`` links it into a network: a facilitation structure's territory
    is itself and every organisation below it."""

    __tablename__ = "organisation"
    __table_args__ = (
        CheckConstraint(
            "retention_months IS NULL OR retention_months BETWEEN 1 AND 36",
            name="retention_months_range",
        ),
    )

    name: str = Field(sa_type=String(200), nullable=False)
    kind: OrganisationKind = Field(
        sa_type=EnumText(OrganisationKind, 30), nullable=False, index=True
    )
    # 14 digits, Luhn-checked; unique when given (agencies of one company have their own SIRET).
    siret: str | None = Field(default=None, sa_type=String(14), unique=True)
    address: str | None = Field(default=None, sa_type=String(300))
    # Checked against the commune referential on write; no foreign key, so that a new official
    # commune file (communes merge every year) never blocks on old rows.
    # None only for an organisation found in open data by its SIRET (decision 0064), whose
    # address nobody has given yet.
    commune_insee: str | None = Field(default=None, sa_type=String(5))
    parent_id: uuid.UUID | None = Field(
        default=None, foreign_key="organisation.id", index=True, ondelete="RESTRICT"
    )
    is_active: bool = Field(default=True, nullable=False)
    # Months without activity before a candidate is anonymised (product.md §9, 1–36); None: the
    # instance's default (MAILLON_RETENTION_MONTHS, 24).
    retention_months: int | None = Field(default=None, sa_type=SmallInteger)
    # A company holding or working on clause contracts (§8.2); None for the other structures.
    company_kind: CompanyKind | None = Field(default=None, sa_type=EnumText(CompanyKind, 20))
    size_bracket: SizeBracket | None = Field(default=None, sa_type=EnumText(SizeBracket, 10))
