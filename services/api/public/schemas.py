"""The public offer as JSON: what a job board or a partner may show, and nothing personal."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from services.api.public.clause import clause_context
from services.api.public.feed import PublicRow
from services.api.public.wording import description
from services.core.models.contract import CLAUSE_KIND_LABELS, ClauseKind
from services.core.models.offer import CONTRACT_TYPE_LABELS, ContractType, CoordinatesSource


class PublicEmployer(BaseModel):
    name: str = Field(description="Nom de l'organisation qui recrute.")


class PublicWorkSite(BaseModel):
    commune_insee: str | None = Field(description="Code INSEE de la commune du lieu de travail.")
    commune_name: str | None = Field(description="Nom de la commune.")
    postal_code: str | None = Field(description="Code postal principal de la commune.")
    department: str | None = Field(description="Département (code).")
    lon: float | None = Field(description="Longitude WGS84.")
    lat: float | None = Field(description="Latitude WGS84.")
    coordinates_source: CoordinatesSource | None = Field(
        description="`given` : le lieu de travail ; `commune_centroid` : le centre de la commune."
    )


class PublicClause(BaseModel):
    kind: ClauseKind | None = Field(description="Modalité de la clause ; null hors marché.")
    kind_label: str | None = Field(description="Modalité de la clause, en clair.")
    is_npnru: bool = Field(description="Marché de la rénovation urbaine (NPNRU).")
    context: str = Field(description="Le cadre du poste, en mots de tous les jours.")


class PublicOffer(BaseModel):
    """An open offer marked public (decision 0062)."""

    model_config = ConfigDict(
        json_schema_extra={
            "description": "Une offre ouverte et marquée publique (décision 0062), lisible sans "
            "compte."
        }
    )

    id: uuid.UUID = Field(description="Identifiant stable de l'offre.")
    title: str = Field(description="Intitulé du poste.")
    description: str = Field(description="Présentation du poste, en français.")
    rome_code: str = Field(description="Code ROME v4 (fiche).")
    rome_label: str | None = Field(description="Intitulé de la fiche ROME.")
    appellation_code: str | None = Field(description="Code OGR de l'appellation ROME.")
    appellation_label: str | None = Field(description="Appellation ROME.")
    contract_type: ContractType | None = Field(description="Type de contrat.")
    contract_type_label: str | None = Field(description="Type de contrat, en clair.")
    hours_per_week: Decimal | None = Field(description="Heures de travail par semaine.")
    open_positions: int = Field(description="Postes restant à pourvoir.")
    start_date: date | None = Field(description="Date de début.")
    end_date: date | None = Field(description="Date de fin (contrats à durée déterminée).")
    requires_eligibility: bool = Field(
        description="Réservé aux publics éligibles à la clause (voir `clause.context`)."
    )
    published_at: datetime = Field(description="Date de publication.")
    updated_at: datetime = Field(description="Dernière modification.")
    employer: PublicEmployer = Field(description="Qui recrute.")
    work_site: PublicWorkSite = Field(description="Où se trouve le poste.")
    clause: PublicClause = Field(description="Le cadre du poste : la clause sociale qui le crée.")

    @classmethod
    def of(cls, row: PublicRow) -> PublicOffer:
        return cls(
            id=row.id,
            title=row.title,
            description=description(row),
            rome_code=row.rome_code,
            rome_label=row.rome_label,
            appellation_code=row.appellation_code,
            appellation_label=row.appellation_label,
            contract_type=row.contract_type,
            contract_type_label=(
                CONTRACT_TYPE_LABELS[row.contract_type] if row.contract_type else None
            ),
            hours_per_week=row.hours_per_week,
            open_positions=row.open_positions,
            start_date=row.start_date,
            end_date=row.end_date,
            requires_eligibility=row.clause.requires_eligibility,
            published_at=row.published_at,
            updated_at=row.updated_at,
            employer=PublicEmployer(name=row.employer_name),
            work_site=PublicWorkSite(
                commune_insee=row.commune_insee,
                commune_name=row.commune_name,
                postal_code=row.postal_code,
                department=row.department,
                lon=row.lon,
                lat=row.lat,
                coordinates_source=row.coordinates_source,
            ),
            clause=PublicClause(
                kind=row.clause.kind,
                kind_label=CLAUSE_KIND_LABELS[row.clause.kind] if row.clause.kind else None,
                is_npnru=row.clause.is_npnru,
                context=clause_context(row.clause),
            ),
        )
