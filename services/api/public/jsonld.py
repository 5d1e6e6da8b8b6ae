"""The public offers as schema.org ``JobPosting`` JSON-LD (an ``ItemList`` of them).

Properties follow schema.org and Google's job-posting guidelines: ``title``, ``description``,
``datePosted``, ``hiringOrganization``, ``jobLocation`` (a ``Place`` with its ``PostalAddress``)
are always given; ``validThrough`` is the offer's end date when it has one (no one can be hired
for a job after it ends), ``employmentType`` maps the contract type and weekly hours, and
``baseSalary`` is absent (offers carry no salary).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from services.api.public.feed import PublicRow
from services.api.public.wording import FULL_TIME_HOURS, description, hours_label
from services.core.clock import PARIS
from services.core.models.offer import ContractType

JSON_LD_MEDIA_TYPE = "application/ld+json"

# Contracts with an end: Google's TEMPORARY. Apprenticeship and professionalisation contracts
# are fixed-term when they have an end date (they may also be open-ended).
_FIXED_TERM = frozenset({ContractType.CDD, ContractType.MIS, ContractType.SAI, ContractType.CDDI})
_FIXED_TERM_WHEN_ENDED = frozenset({ContractType.APPRENTISSAGE, ContractType.PROFESSIONNALISATION})


class _LinkedData(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class PropertyValue(_LinkedData):
    type_: Literal["PropertyValue"] = Field(
        "PropertyValue", alias="@type", description="Type schema.org de l'objet."
    )
    name: str = Field(description="Nom de l'identifiant (`Maillon`).")
    value: str = Field(description="Identifiant de l'offre.")


class Organization(_LinkedData):
    type_: Literal["Organization"] = Field(
        "Organization", alias="@type", description="Type schema.org de l'objet."
    )
    name: str = Field(description="Nom de l'organisation qui recrute.")


class PostalAddress(_LinkedData):
    type_: Literal["PostalAddress"] = Field(
        "PostalAddress", alias="@type", description="Type schema.org de l'objet."
    )
    address_locality: str | None = Field(default=None, description="Commune du lieu de travail.")
    postal_code: str | None = Field(default=None, description="Code postal.")
    address_country: str = Field(default="FR", description="Pays (code ISO 3166-1).")


class GeoCoordinates(_LinkedData):
    type_: Literal["GeoCoordinates"] = Field(
        "GeoCoordinates", alias="@type", description="Type schema.org de l'objet."
    )
    latitude: float = Field(description="Latitude (WGS 84).")
    longitude: float = Field(description="Longitude (WGS 84).")


class Place(_LinkedData):
    type_: Literal["Place"] = Field(
        "Place", alias="@type", description="Type schema.org de l'objet."
    )
    address: PostalAddress = Field(description="Adresse du lieu de travail.")
    geo: GeoCoordinates | None = Field(default=None, description="Coordonnées du lieu de travail.")


class JobPosting(_LinkedData):
    type_: Literal["JobPosting"] = Field(
        "JobPosting", alias="@type", description="Type schema.org de l'objet."
    )
    identifier: PropertyValue = Field(description="Identifiant de l'offre dans Maillon.")
    title: str = Field(description="Intitulé du poste.")
    description: str = Field(description="Présentation du poste et de son cadre, en français.")
    date_posted: datetime = Field(description="Date de publication.")
    valid_through: datetime | None = Field(
        default=None, description="Date jusqu'à laquelle l'offre est ouverte."
    )
    employment_type: list[str] = Field(
        description="Types d'emploi schema.org (`FULL_TIME`, `PART_TIME`, `TEMPORARY`…)."
    )
    hiring_organization: Organization = Field(description="Qui recrute.")
    job_location: Place = Field(description="Lieu de travail.")
    occupational_category: str = Field(description="Code ROME du métier.")
    job_start_date: date | None = Field(default=None, description="Date de début.")
    total_job_openings: int = Field(description="Postes restant à pourvoir.")
    work_hours: str | None = Field(
        default=None, description="Temps de travail (« 35 h par semaine »)."
    )

    @classmethod
    def of(cls, row: PublicRow) -> JobPosting:
        return cls(
            identifier=PropertyValue(name="Maillon", value=str(row.id)),
            title=row.title,
            description=description(row),
            date_posted=row.published_at,
            valid_through=(
                datetime.combine(row.end_date, time(23, 59, 59), tzinfo=PARIS)
                if row.end_date
                else None
            ),
            employment_type=employment_type(row),
            hiring_organization=Organization(name=row.employer_name),
            job_location=Place(
                address=PostalAddress(
                    address_locality=row.commune_name, postal_code=row.postal_code
                ),
                geo=(
                    GeoCoordinates(latitude=row.lat, longitude=row.lon)
                    if row.lon is not None and row.lat is not None
                    else None
                ),
            ),
            occupational_category=(
                f"ROME {row.rome_code} {row.rome_label}" if row.rome_label else row.rome_code
            ),
            job_start_date=row.start_date,
            total_job_openings=row.open_positions,
            work_hours=(
                f"{hours_label(row.hours_per_week)} par semaine" if row.hours_per_week else None
            ),
        )


def employment_type(row: PublicRow) -> list[str]:
    """Google's values: time basis from the weekly hours, TEMPORARY for fixed-term contracts."""
    kinds: list[str] = []
    if row.hours_per_week is not None:
        kinds.append("FULL_TIME" if row.hours_per_week >= FULL_TIME_HOURS else "PART_TIME")
    if row.contract_type in _FIXED_TERM or (
        row.contract_type in _FIXED_TERM_WHEN_ENDED and row.end_date is not None
    ):
        kinds.append("TEMPORARY")
    return kinds or ["OTHER"]


class ListItem(_LinkedData):
    type_: Literal["ListItem"] = Field(
        "ListItem", alias="@type", description="Type schema.org de l'objet."
    )
    position: int = Field(description="Rang dans la liste complète, à partir de 1.")
    item: JobPosting = Field(description="L'offre.")


class JobPostingList(_LinkedData):
    """A page of public offers; ``numberOfItems`` counts the whole list, every page included."""

    model_config = ConfigDict(
        json_schema_extra={
            "description": "Une page d'offres publiques (schema.org `ItemList`) ; `numberOfItems` "
            "compte toute la liste, toutes pages confondues."
        }
    )

    context: Literal["https://schema.org"] = Field(
        "https://schema.org", alias="@context", description="Vocabulaire JSON-LD (schema.org)."
    )
    type_: Literal["ItemList"] = Field(
        "ItemList", alias="@type", description="Type schema.org de l'objet."
    )
    number_of_items: int = Field(
        description="Nombre d'offres de toute la liste, toutes pages confondues."
    )
    item_list_element: list[ListItem] = Field(description="Les offres de cette page.")
