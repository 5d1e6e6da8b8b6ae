"""Matches as clients read them: the score explained criterion by criterion, in French.

The points of each criterion are shown rounded to the hundredth, and the score shown is their
sum: a person adding up the explanation finds the score.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from services.api.validation import InvalidValue
from services.core.models.candidate import (
    CANDIDATE_STATUS_LABELS,
    QPV_STATUS_LABELS,
    Candidate,
    CandidateStatus,
    QpvStatus,
)
from services.core.models.match import MATCH_STATUS_LABELS, Match, MatchStatus
from services.core.models.offer import OFFER_STATUS_LABELS, Offer, OfferStatus
from services.core.referentials.sectors import SectorCode, get_sector


class Criterion(StrEnum):
    SECTOR = "sector"
    QPV = "qpv"
    AVAILABILITY = "availability"
    DISTANCE = "distance"
    ELIGIBILITY = "eligibility"


CRITERION_LABELS: dict[Criterion, str] = {
    Criterion.SECTOR: "Secteur",
    Criterion.QPV: "Résidence QPV",
    Criterion.AVAILABILITY: "Disponibilité",
    Criterion.DISTANCE: "Distance",
    Criterion.ELIGIBILITY: "Publics éligibles",
}

# The statuses a person may move a match to (``suggested`` is the matching worker's).
MatchTarget = Literal["contacted", "proposed_to_employer", "hired", "declined", "withdrawn"]


class MatchTransitionCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "to": "contacted",
                    "comment": "Jointe le 3 mars : intéressée, disponible dès lundi.",
                }
            ]
        },
    )

    to: MatchTarget = Field(description="Nouvel état du rapprochement.")
    comment: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
        | None
    ) = Field(default=None, description="Commentaire libre (1000 caractères au plus).")

    @field_validator("comment")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        # PostgreSQL text cannot hold U+0000: refused here rather than failing the write.
        if value is not None and "\x00" in value:
            raise InvalidValue("caractère nul interdit")
        return value


class CriterionPoints(BaseModel):
    criterion: Criterion = Field(description="Critère (secteur, QPV, disponibilité, distance…).")
    label: str = Field(description="Le critère en toutes lettres, en français.")
    points: float = Field(description="Points apportés par ce critère.")
    explanation: str = Field(description="Pourquoi ces points, en une phrase.")


class MatchCandidate(BaseModel):
    """What a match shows of the person: no contact details, no eligibility criteria."""

    model_config = ConfigDict(
        json_schema_extra={
            "description": "Ce qu'un rapprochement montre de la personne : ni coordonnées, ni "
            "critères d'éligibilité."
        }
    )

    id: uuid.UUID = Field(description="Identifiant du candidat.")
    first_name: str | None = Field(description="Prénom.")
    last_name: str | None = Field(description="Nom.")
    commune_insee: str | None = Field(description="Code INSEE de la commune de résidence.")
    commune_name: str | None = Field(description="Nom de la commune de résidence.")
    qpv_status: QpvStatus = Field(
        description=("Résidence en quartier prioritaire : `in_qpv`, `outside_qpv` ou `unknown`.")
    )
    qpv_status_label: str = Field(description="La résidence QPV en toutes lettres, en français.")
    available_from: date | None = Field(description="Date de disponibilité.")
    hours_per_week: int | None = Field(description="Heures par semaine souhaitées.")
    mobility_radius_km: int | None = Field(
        description="Distance que la personne peut parcourir, en km."
    )
    status: CandidateStatus = Field(description="État du candidat (actif, recruté…).")
    status_label: str = Field(description="L'état en toutes lettres, en français.")


class MatchOffer(BaseModel):
    id: uuid.UUID = Field(description="Identifiant de l'offre.")
    title: str = Field(description="Intitulé du poste.")
    employer_id: uuid.UUID = Field(description="Employeur.")
    rome_code: str = Field(description="Code ROME du métier.")
    sector: SectorCode | None = Field(description="Secteur de la borne correspondant au métier.")
    sector_label: str | None = Field(description="Le secteur en toutes lettres, en français.")
    commune_insee: str | None = Field(description="Code INSEE de la commune du poste.")
    start_date: date | None = Field(description="Date de début.")
    positions: int = Field(description="Nombre de postes.")
    open_positions: int = Field(description="Postes encore à pourvoir.")
    status: OfferStatus = Field(description="État de l'offre.")
    status_label: str = Field(description="L'état en toutes lettres, en français.")


class MatchPublic(BaseModel):
    id: uuid.UUID = Field(description="Identifiant.")
    status: MatchStatus = Field(
        description=(
            "Où en est la mise en relation (`suggested`, `contacted`, "
            "`proposed_to_employer`, `hired`, `declined`, `withdrawn`)."
        )
    )
    status_label: str = Field(description="L'état en toutes lettres, en français.")
    score: float = Field(description="Somme des points des critères.")
    criteria: list[CriterionPoints] = Field(
        description="Les points de chaque critère du classement."
    )
    distance_km: float | None = Field(description="Distance entre le domicile et le poste, en km.")
    rank: int | None = Field(description="Place dans la liste de l'offre au dernier calcul.")
    is_current: bool = Field(
        description="Faux quand le rapprochement n'est plus proposé par le calcul (il reste "
        "visible parce qu'une personne a agi dessus)."
    )
    computed_at: datetime = Field(description="Dernier calcul du classement.")
    status_changed_at: datetime | None = Field(description="Dernier changement d'état.")
    candidate: MatchCandidate = Field(description="La personne (sans coordonnées).")
    offer: MatchOffer = Field(description="L'offre.")

    @classmethod
    def of(
        cls, match: Match, offer: Offer, candidate: Candidate, commune_name: str | None
    ) -> MatchPublic:
        criteria = explain(match, offer, candidate)
        return cls(
            id=match.id,
            status=match.status,
            status_label=MATCH_STATUS_LABELS[match.status],
            score=round(sum(item.points for item in criteria), 2),
            criteria=criteria,
            distance_km=None if match.distance_km is None else round(match.distance_km, 1),
            rank=match.rank,
            is_current=match.is_current,
            computed_at=match.computed_at,
            status_changed_at=match.status_changed_at,
            candidate=MatchCandidate(
                id=candidate.id,
                first_name=candidate.first_name,
                last_name=candidate.last_name,
                commune_insee=candidate.commune_insee,
                commune_name=commune_name,
                qpv_status=candidate.qpv_status,
                qpv_status_label=QPV_STATUS_LABELS[candidate.qpv_status],
                available_from=candidate.available_from,
                hours_per_week=candidate.hours_per_week,
                mobility_radius_km=candidate.mobility_radius_km,
                status=candidate.status,
                status_label=CANDIDATE_STATUS_LABELS[candidate.status],
            ),
            offer=MatchOffer(
                id=offer.id,
                title=offer.title,
                employer_id=offer.employer_id,
                rome_code=offer.rome_code,
                sector=offer.sector,
                sector_label=get_sector(offer.sector).label if offer.sector else None,
                commune_insee=offer.commune_insee,
                start_date=offer.start_date,
                positions=offer.positions,
                open_positions=offer.open_positions,
                status=offer.status,
                status_label=OFFER_STATUS_LABELS[offer.status],
            ),
        )


@dataclass(frozen=True)
class _Points:
    criterion: Criterion
    points: float
    explanation: str


def _day(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def _sector(offer: Offer, candidate: Candidate) -> str:
    if offer.sector is None:
        return f"Métier {offer.rome_code} (hors des huit secteurs de la borne)"
    label = get_sector(offer.sector).label
    if offer.sector in candidate.sectors_wanted:
        return f"Secteur souhaité : {label}"
    if offer.sector in candidate.sectors_worked:
        return f"Secteur déjà exercé : {label}"
    return f"Secteur de l'offre : {label}"


def _availability(offer: Offer, candidate: Candidate) -> str:
    if candidate.status is CandidateStatus.PLACED:
        return "En poste"
    if candidate.available_from is None:
        return "Date de disponibilité non renseignée"
    if offer.start_date is not None and candidate.available_from <= offer.start_date:
        return f"Disponible dès le {_day(candidate.available_from)}, avant le début du poste"
    return f"Disponible à partir du {_day(candidate.available_from)}"


def _distance(match: Match, candidate: Candidate) -> str:
    if match.distance_km is None:
        return "Distance inconnue (domicile ou lieu de travail non situé)"
    distance = f"{round(match.distance_km, 1):g}".replace(".", ",")
    if candidate.mobility_radius_km is None:
        return f"{distance} km du lieu de travail"
    radius = candidate.mobility_radius_km
    where = "dans" if match.distance_km <= radius else "hors de"
    return f"{distance} km du lieu de travail, {where} son rayon de mobilité ({radius} km)"


def _eligibility(match: Match, offer: Offer) -> str:
    if match.eligibility_points > 0:
        return "Public éligible validé"
    if offer.requires_eligibility:
        return "Aucun critère d'éligibilité validé, alors que l'offre l'exige"
    return "Non exigé par l'offre"


def explain(match: Match, offer: Offer, candidate: Candidate) -> list[CriterionPoints]:
    """The five criteria, in a fixed order, with their points and a sentence for people.

    Sentences name no sensitive fact: eligibility says "validated", never which criterion.
    """
    items = (
        _Points(Criterion.SECTOR, match.sector_points, _sector(offer, candidate)),
        _Points(Criterion.QPV, match.qpv_points, QPV_STATUS_LABELS[candidate.qpv_status]),
        _Points(Criterion.AVAILABILITY, match.availability_points, _availability(offer, candidate)),
        _Points(Criterion.DISTANCE, match.distance_points, _distance(match, candidate)),
        _Points(Criterion.ELIGIBILITY, match.eligibility_points, _eligibility(match, offer)),
    )
    return [
        CriterionPoints(
            criterion=item.criterion,
            label=CRITERION_LABELS[item.criterion],
            points=round(item.points, 2),
            explanation=item.explanation,
        )
        for item in items
    ]
