"""The public offers in France Travail's vocabulary (the fields of its *Offres d'emploi v2*
API), for partners whose tools already read that shape.

``typeContrat`` and ``natureContrat`` follow France Travail's referentials: an insertion CDD is
``DDI`` / « Insertion par l'activ.éco. »; a CDI de chantier is a ``CDI``; apprenticeship and
professionalisation contracts are a ``CDD`` (with an end date) or a ``CDI`` of their own nature.
``qualificationCode`` is not given: offers do not record a qualification. ``dateDebut`` and
``dateFin`` are not in France Travail's read schema: the start and end dates are given there
because a clause job is often short and bound to works (decision 0062).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from services.api.public.feed import PublicRow
from services.api.public.wording import FULL_TIME_HOURS, description
from services.core.models.offer import CONTRACT_TYPE_LABELS, ContractType

WORK_CONTRACT = "Contrat travail"
_NATURE: dict[ContractType, str] = {
    ContractType.CDDI: "Insertion par l'activ.éco.",
    ContractType.APPRENTISSAGE: "Contrat apprentissage",
    ContractType.PROFESSIONNALISATION: "Cont. professionnalisation",
}
_TYPE: dict[ContractType, str] = {
    ContractType.CDI: "CDI",
    ContractType.CDD: "CDD",
    ContractType.MIS: "MIS",
    ContractType.SAI: "SAI",
    ContractType.CDDI: "DDI",
    ContractType.CDI_CHANTIER: "CDI",
}
_DAYS_PER_MONTH = Decimal("30.44")


class _Vocabulary(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class LieuTravail(_Vocabulary):
    libelle: str | None = Field(description="« 93 - Saint-Denis ».")
    latitude: float | None = Field(description="Latitude (WGS 84).")
    longitude: float | None = Field(description="Longitude (WGS 84).")
    code_postal: str | None = Field(description="Code postal.")
    commune: str | None = Field(description="Code INSEE de la commune.")


class Entreprise(_Vocabulary):
    nom: str = Field(description="Nom de l'entreprise qui recrute.")


class OffreFranceTravail(_Vocabulary):
    id: str = Field(description="Identifiant de l'offre dans Maillon.")
    intitule: str = Field(description="Intitulé du poste.")
    description: str = Field(description="Présentation du poste et de son cadre.")
    date_creation: datetime = Field(description="Date de publication.")
    date_actualisation: datetime = Field(description="Dernière modification.")
    lieu_travail: LieuTravail = Field(description="Lieu de travail.")
    rome_code: str = Field(description="Code ROME du métier.")
    rome_libelle: str | None = Field(description="Intitulé de la fiche ROME.")
    appellationlibelle: str | None = Field(
        alias="appellationlibelle", description="Appellation ROME du poste."
    )
    entreprise: Entreprise = Field(description="Qui recrute.")
    type_contrat: str | None = Field(description="Type de contrat (`CDI`, `CDD`, `MIS`…).")
    type_contrat_libelle: str | None = Field(description="Type et durée du contrat, en clair.")
    nature_contrat: str | None = Field(
        description="Nature du contrat (contrat de travail, apprentissage…)."
    )
    duree_travail_libelle: str | None = Field(description="« 35H/semaine ».")
    duree_travail_libelle_converti: str | None = Field(description="Temps plein ou partiel.")
    nombre_postes: int = Field(description="Postes restant à pourvoir.")
    qualification_code: str | None = Field(
        default=None,
        description="Toujours `null` : une offre de Maillon n'enregistre pas la qualification du "
        "poste (codes 1 à 9 de France Travail, de manœuvre à cadre), et rien d'autre ne permet de "
        "la déduire.",
    )
    date_debut: date | None = Field(description="Ajout de Maillon : date de début du contrat.")
    date_fin: date | None = Field(description="Ajout de Maillon : date de fin du contrat.")

    @classmethod
    def of(cls, row: PublicRow) -> OffreFranceTravail:
        kind = row.contract_type
        hours = row.hours_per_week
        return cls(
            id=str(row.id),
            intitule=row.title,
            description=description(row),
            date_creation=row.published_at,
            date_actualisation=row.updated_at,
            lieu_travail=LieuTravail(
                libelle=(
                    f"{row.department} - {row.commune_name}"
                    if row.department and row.commune_name
                    else None
                ),
                latitude=row.lat,
                longitude=row.lon,
                code_postal=row.postal_code,
                commune=row.commune_insee,
            ),
            rome_code=row.rome_code,
            rome_libelle=row.rome_label,
            appellationlibelle=row.appellation_label,
            entreprise=Entreprise(nom=row.employer_name),
            type_contrat=type_contrat(kind, row.end_date),
            type_contrat_libelle=type_contrat_libelle(kind, row.start_date, row.end_date),
            nature_contrat=(_NATURE.get(kind, WORK_CONTRACT) if kind is not None else None),
            duree_travail_libelle=f"{hours.normalize():f}H/semaine".replace(".", ",")
            if hours is not None
            else None,
            duree_travail_libelle_converti=(
                ("Temps plein" if hours >= FULL_TIME_HOURS else "Temps partiel")
                if hours is not None
                else None
            ),
            nombre_postes=row.open_positions,
            date_debut=row.start_date,
            date_fin=row.end_date,
        )


def type_contrat(kind: ContractType | None, end: date | None) -> str | None:
    if kind is None:
        return None
    return _TYPE.get(kind) or ("CDD" if end is not None else "CDI")


def duration(start: date, end: date) -> str:
    """France Travail's way: « 15 Jour(s) » under a month, else « 6 Mois »."""
    days = (end - start).days + 1
    if days < 31:
        return f"{days} Jour(s)"
    return f"{round(days / _DAYS_PER_MONTH)} Mois"


def type_contrat_libelle(
    kind: ContractType | None, start: date | None, end: date | None
) -> str | None:
    if kind is None:
        return None
    label = CONTRACT_TYPE_LABELS[kind]
    if start is not None and end is not None:
        return f"{label} - {duration(start, end)}"
    return label
