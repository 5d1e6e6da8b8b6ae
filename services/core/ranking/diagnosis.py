"""Why a candidate is, or is not, ranked for an offer (issue 13): the rules that exclude the pair,
or its points per criterion and its place in the offer's list.

One statement reads the candidate, their match profile, the offer and the match row, and scores
the pair with the ranking's own expressions (:mod:`services.core.ranking.score`), so the points
shown are those the matching worker computes. Each exclusion has a stable English code and a
French sentence; every rule that applies is listed, not only the first.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.models.candidate import CandidateStatus
from services.core.models.contract import QpvPriority
from services.core.models.match_profile import DEFAULT_RADIUS_KM
from services.core.models.offer import OFFER_STATUS_LABELS, OfferStatus
from services.core.ranking import explain
from services.core.ranking.score import SCORE_SQL, km_sql, offer_points_sql, weight_params
from services.core.ranking.weights import Criterion, Weights
from services.core.referentials.sectors import SectorCode, get_sector
from services.core.schema_description import schema_description


class Exclusion(StrEnum):
    """A rule that keeps the candidate out of the offer's ranking."""

    __get_pydantic_json_schema__ = schema_description(
        "Règle qui tient le candidat hors du classement de l'offre : `offer_not_open`, "
        "`offer_not_located` (lieu de travail non situé), `anonymised`, `merged` (fiche "
        "fusionnée), `placed` (déjà en poste), `inactive`, `not_located` (personne non située), "
        "`profile_pending` (classement en cours de calcul), `sector` (secteur ni souhaité ni "
        "exercé), `rome_wish` (aucun métier souhaité ne correspond), `distance` (au-delà du rayon "
        "de mobilité), `qpv_required` (offre réservée aux résidents d'un QPV), `eligibility` "
        "(éligibilité validée exigée)."
    )

    OFFER_NOT_OPEN = "offer_not_open"
    OFFER_NOT_LOCATED = "offer_not_located"
    ANONYMISED = "anonymised"
    MERGED = "merged"
    PLACED = "placed"
    INACTIVE = "inactive"
    NOT_LOCATED = "not_located"
    PROFILE_PENDING = "profile_pending"
    SECTOR = "sector"
    ROME_WISH = "rome_wish"
    DISTANCE = "distance"
    QPV_REQUIRED = "qpv_required"
    ELIGIBILITY = "eligibility"


class Standing(StrEnum):
    EXCLUDED = "excluded"  # a rule keeps them out
    LISTED = "listed"  # in the offer's list, with a rank
    NOT_LISTED = "not_listed"  # qualifies, but not (or not yet) among the list's best


@dataclass(frozen=True, slots=True)
class Reason:
    code: Exclusion
    label: str


@dataclass(frozen=True, slots=True)
class Points:
    criterion: Criterion
    points: float
    label: str


@dataclass(frozen=True, slots=True)
class PairRanking:
    standing: Standing
    reasons: tuple[Reason, ...]
    criteria: tuple[Points, ...]  # empty when excluded
    score: float | None
    distance_km: float | None
    rank: int | None
    list_size: int


_SQL = """
SELECT c.status AS candidate_status, c.anonymised_at IS NOT NULL AS anonymised,
  c.merged_into_id IS NOT NULL AS merged,
  (c.lon IS NOT NULL OR EXISTS (SELECT 1 FROM commune AS cm WHERE cm.insee = c.commune_insee))
    AS located,
  EXISTS (SELECT 1 FROM match_profile_pending AS q WHERE q.candidate_id = c.id) AS pending,
  p.candidate_id IS NOT NULL AS profiled,
  o.status AS offer_status, (o.lon IS NOT NULL AND o.lat IS NOT NULL) AS offer_located,
  o.sector, o.rome_code, o.start_date, o.hours_per_week AS offer_hours, o.requires_eligibility,
  o.contract_id IS NOT NULL AS has_contract, coalesce(k.is_npnru, false) AS is_npnru,
  k.qpv_priority, r.reference,
  CASE WHEN o.sector IS NOT NULL THEN p.sectors @> CAST(ARRAY[o.sector] AS varchar(30)[])
       ELSE EXISTS (SELECT 1 FROM unnest(p.rome_wishes) AS w(prefix)
                    WHERE starts_with(upper(o.rome_code), w.prefix)) END AS linked,
  (o.sector IS NULL OR p.wanted @> CAST(ARRAY[o.sector] AS varchar(30)[])) AS strong,
  p.in_qpv, p.available_from, p.hours_per_week, p.radius_km, p.eligible_until,
  p.eligible_until >= CAST(:today AS date) AS eligible, d.km,
  m.rank, m.is_current,
  {points}
FROM candidate AS c
CROSS JOIN offer AS o
LEFT JOIN contract AS k ON k.id = o.contract_id
LEFT JOIN match_profile AS p ON p.candidate_id = c.id
LEFT JOIN match AS m ON m.offer_id = o.id AND m.candidate_id = c.id
CROSS JOIN LATERAL (
  SELECT CASE WHEN o.lon IS NOT NULL AND o.lat IS NOT NULL THEN {km} END AS km
) AS d
CROSS JOIN LATERAL (
  SELECT greatest(coalesce(o.start_date, CAST(:today AS date)), CAST(:today AS date)) AS reference
) AS r
WHERE c.id = :candidate_id AND o.id = :offer_id
"""


def _statement() -> str:
    points = offer_points_sql("k")
    inner = _SQL.format(points=points, km=km_sql("p.home", "o.lon", "o.lat"))
    return f"SELECT s.*, {SCORE_SQL} AS score FROM ({inner}) AS s"  # noqa: S608  (constants)


_STATEMENT = text(_statement())


def _km(value: float) -> str:
    return f"{round(value)}" if value >= 1 else "moins de 1"


def _reasons(row: Any) -> list[Reason]:
    """Every rule that keeps the pair out of the ranking, offer's first."""
    found: list[Reason] = []

    def add(code: Exclusion, label: str) -> None:
        found.append(Reason(code, label))

    offer_status = OfferStatus(row["offer_status"])
    if offer_status is not OfferStatus.OPEN:
        state = OFFER_STATUS_LABELS[offer_status].lower()
        add(Exclusion.OFFER_NOT_OPEN, f"L'offre n'est pas ouverte (état : {state})")
    if not row["offer_located"]:
        add(Exclusion.OFFER_NOT_LOCATED, "Le lieu de travail de l'offre n'est pas situé")
    status = CandidateStatus(row["candidate_status"])
    if row["merged"]:
        add(Exclusion.MERGED, "Fiche fusionnée dans celle d'une autre personne")
    elif row["anonymised"] or status is CandidateStatus.ANONYMISED:
        add(Exclusion.ANONYMISED, "Données de la personne effacées")
    elif status is CandidateStatus.PLACED:
        add(Exclusion.PLACED, "La personne est déjà en poste")
    elif status is CandidateStatus.INACTIVE:
        add(Exclusion.INACTIVE, "Le suivi de la personne est inactif")
    elif not row["located"]:
        add(
            Exclusion.NOT_LOCATED,
            "La personne n'est pas située (ni adresse géocodée ni commune connue)",
        )
    elif row["pending"] and not row["profiled"]:
        add(
            Exclusion.PROFILE_PENDING,
            "Personne enregistrée à l'instant : son classement est en cours de calcul",
        )
    if not row["profiled"]:
        return found
    if not row["linked"]:
        if row["sector"] is not None:
            name = get_sector(SectorCode(row["sector"])).label
            add(
                Exclusion.SECTOR,
                f"Le secteur de l'offre ({name}) n'est ni souhaité ni déjà exercé par la personne",
            )
        else:
            add(
                Exclusion.ROME_WISH,
                f"Aucun métier souhaité par la personne ne correspond au métier {row['rome_code']}",
            )
    radius = row["radius_km"]
    if row["km"] is not None and row["km"] > (DEFAULT_RADIUS_KM if radius is None else radius):
        limit = (
            f"rayon non renseigné, {DEFAULT_RADIUS_KM} km retenus"
            if radius is None
            else f"rayon de mobilité de {radius} km"
        )
        add(Exclusion.DISTANCE, f"Lieu de travail à {_km(row['km'])} km, au-delà du {limit}")
    if row["qpv_priority"] == QpvPriority.REQUIRED and not row["in_qpv"]:
        add(
            Exclusion.QPV_REQUIRED,
            "Le contrat réserve l'offre aux résidents d'un QPV ; résidence en QPV non établie",
        )
    if row["requires_eligibility"] and not row["eligible"]:
        add(
            Exclusion.ELIGIBILITY,
            "L'offre exige une éligibilité validée en cours ; la personne n'en a pas",
        )
    return found


def _criteria(row: Any, weights: Weights, today: date) -> tuple[Points, ...]:
    """The five criteria with the ranking's points and sentences."""
    sector = SectorCode(row["sector"]) if row["sector"] is not None else None
    applies = bool(row["requires_eligibility"] or row["has_contract"])
    labels = (
        explain.sector_label(strong=row["strong"], sector=sector, rome_code=row["rome_code"]),
        explain.qpv_label(
            in_qpv=row["in_qpv"], is_npnru=row["is_npnru"], qpv_priority=row["qpv_priority"]
        ),
        explain.availability_label(
            available_from=row["available_from"],
            reference=row["reference"],
            has_start_date=row["start_date"] is not None,
            decay_days=weights.availability_decay_days,
            candidate_hours=row["hours_per_week"],
            offer_hours=row["offer_hours"],
        ),
        explain.distance_label(km=row["km"], radius_km=row["radius_km"]),
        explain.eligibility_label(
            applies=applies, eligible_until=row["eligible_until"], today=today
        ),
    )
    columns = (
        "sector_points",
        "qpv_points",
        "availability_points",
        "distance_points",
        "eligibility_points",
    )
    return tuple(
        Points(criterion, float(row[column]), label)
        for criterion, column, label in zip(Criterion, columns, labels, strict=True)
    )


async def rank_pair(
    session: AsyncSession,
    offer_id: uuid.UUID,
    candidate_id: uuid.UUID,
    *,
    weights: Weights,
    today: date,
    list_size: int,
) -> PairRanking | None:
    """Where the candidate stands for the offer; None when either does not exist."""
    params = {**weight_params(weights, today), "offer_id": offer_id, "candidate_id": candidate_id}
    row = (await session.execute(_STATEMENT, params)).mappings().first()
    if row is None:
        return None
    reasons = tuple(_reasons(row))
    if reasons:
        return PairRanking(Standing.EXCLUDED, reasons, (), None, None, None, list_size)
    listed = row["rank"] is not None and bool(row["is_current"])
    return PairRanking(
        standing=Standing.LISTED if listed else Standing.NOT_LISTED,
        reasons=(),
        criteria=_criteria(row, weights, today),
        score=round(float(row["score"]), 2),
        distance_km=round(float(row["km"]), 1),
        rank=row["rank"] if listed else None,
        list_size=list_size,
    )


__all__ = ["Exclusion", "PairRanking", "Points", "Reason", "Standing", "rank_pair"]
