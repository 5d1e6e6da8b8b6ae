"""Why is this person not ranked? For a candidate and an offer: the rules that exclude them, or
their points per criterion and their rank (issue 13, decision 0040). Readable by whoever may read
both the offer and the candidate's matches; a read of the person, audited."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlmodel import col

from services.api.access import READ
from services.api.auth.dependencies import CurrentPrincipal
from services.api.candidates.policy import policy as candidates_policy
from services.api.deps import RequestIdDep, SessionDep, SettingsDep
from services.api.errors import NotFound
from services.api.matches.policy import policy
from services.api.matches.schemas import CRITERION_LABELS, Criterion, CriterionPoints
from services.api.offers.policy import policy as offers_policy
from services.core.clock import now
from services.core.models.candidate import Candidate
from services.core.models.offer import Offer
from services.core.ranking.diagnosis import Exclusion, PairRanking, Standing, rank_pair
from services.core.ranking.weights import Weights

router = APIRouter(tags=["rapprochements"])

STANDING_LABELS: dict[Standing, str] = {
    Standing.EXCLUDED: "Écarté du classement de l'offre",
    Standing.LISTED: "Dans la liste des candidats de l'offre",
    Standing.NOT_LISTED: "Remplit les règles de l'offre, mais n'est pas (ou pas encore) parmi "
    "les premiers retenus",
}


class ExclusionReason(BaseModel):
    code: Exclusion = Field(description="Code stable de la règle.")
    label: str = Field(description="La règle, en une phrase.")


class CandidateStanding(BaseModel):
    offer_id: uuid.UUID = Field(description="L'offre.")
    candidate_id: uuid.UUID = Field(description="Le candidat.")
    standing: Standing = Field(description="excluded, listed ou not_listed.")
    standing_label: str = Field(description="La situation en toutes lettres, en français.")
    reasons: list[ExclusionReason] = Field(
        description="Toutes les règles qui écartent la personne (vide si aucune)."
    )
    criteria: list[CriterionPoints] = Field(
        description="Les points de chaque critère, tels que le calcul les donne (vide si écarté)."
    )
    score: float | None = Field(description="Total des points, si la personne n'est pas écartée.")
    distance_km: float | None = Field(description="Distance entre le domicile et le poste, en km.")
    rank: int | None = Field(description="Rang dans la liste de l'offre, s'il y figure.")
    list_size: int = Field(description="Nombre de candidats que la liste d'une offre retient.")

    @classmethod
    def of(
        cls, offer_id: uuid.UUID, candidate_id: uuid.UUID, found: PairRanking
    ) -> CandidateStanding:
        return cls(
            offer_id=offer_id,
            candidate_id=candidate_id,
            standing=found.standing,
            standing_label=STANDING_LABELS[found.standing],
            reasons=[ExclusionReason(code=r.code, label=r.label) for r in found.reasons],
            criteria=[
                CriterionPoints(
                    criterion=Criterion(p.criterion.value),
                    label=CRITERION_LABELS[Criterion(p.criterion.value)],
                    points=round(p.points, 2),
                    explanation=p.label,
                )
                for p in found.criteria
            ],
            score=found.score,
            distance_km=found.distance_km,
            rank=found.rank,
            list_size=found.list_size,
        )


@router.get(
    "/offers/{offer_id}/candidates/{candidate_id}/ranking",
    summary="Pourquoi ce candidat est-il (ou non) classé pour cette offre ?",
    description="Les règles qui écartent le candidat de l'offre (secteur, distance, éligibilité, "
    "QPV exigé, état du candidat, localisation…), chacune avec un code stable ; sinon ses points "
    "par critère, calculés comme le classement les calcule, et son rang s'il figure dans la liste "
    "de l'offre. Il faut voir l'offre et le candidat ; la lecture est inscrite au journal d'audit.",
)
async def candidate_standing(
    offer_id: uuid.UUID,
    candidate_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    request_id: RequestIdDep,
) -> CandidateStanding:
    policy.query(principal)  # 403 for a role that never reads matches
    offer = await session.scalar(
        select(Offer).where(col(Offer.id) == offer_id, offers_policy.visible(principal))
    )
    candidate = await session.scalar(
        select(Candidate).where(
            col(Candidate.id) == candidate_id, candidates_policy.visible(principal)
        )
    )
    if offer is None or candidate is None:
        raise NotFound()
    found = await rank_pair(
        session,
        offer.id,
        candidate.id,
        weights=Weights.from_settings(settings),
        today=now().date(),
        list_size=settings.matching_top_n,
    )
    if found is None:  # pragma: no cover - both rows were just read in this transaction
        raise NotFound()
    candidates_policy.audit(
        session,
        principal,
        READ,
        candidate,
        request_id=request_id,
        details={"offer_id": str(offer.id)},
    )
    return CandidateStanding.of(offer.id, candidate.id, found)
