"""Starting a placement (what it counts for, frozen) and the draft a hire creates (§8.3)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.models.attribution import Attribution
from services.core.models.candidate import Candidate, QpvStatus
from services.core.models.eligibility import EligibilityCriterion, EligibilityKind
from services.core.models.match import Match
from services.core.models.obligation import Modality
from services.core.models.offer import Offer
from services.core.models.placement import AgeBracket, Placement, PlacementStatus


def age_bracket(birth_year: int | None, on: date) -> AgeBracket | None:
    """From the birth year alone (the only one kept): the age reached during the year of ``on``."""
    if birth_year is None:
        return None
    age = on.year - birth_year
    if age < 26:
        return AgeBracket.UNDER_26
    if age < 50:
        return AgeBracket.FROM_26_TO_49
    return AgeBracket.FROM_50


async def validated_criteria(session: AsyncSession, candidate_id: uuid.UUID, on: date) -> list[str]:
    """The criteria validated on or before ``on`` and not expired then, sorted."""
    rows = await session.scalars(
        select(col(EligibilityCriterion.kind))
        .where(
            col(EligibilityCriterion.candidate_id) == candidate_id,
            col(EligibilityCriterion.validated_on).is_not(None),
            col(EligibilityCriterion.validated_on) <= on,
            or_(
                col(EligibilityCriterion.expires_on).is_(None),
                col(EligibilityCriterion.expires_on) >= on,
            ),
        )
        .distinct()
    )
    return sorted(EligibilityKind(kind).value for kind in rows)


async def freeze(
    session: AsyncSession, placement: Placement, candidate: Candidate, at: datetime
) -> None:
    """Start ``placement``: freeze what it counts for, as it is on its start date."""
    criteria = await validated_criteria(session, candidate.id, placement.start_date)
    placement.eligibility_criteria = criteria
    placement.qpv_resident = (
        None
        if candidate.qpv_status is QpvStatus.UNKNOWN
        else candidate.qpv_status is QpvStatus.IN_QPV
    )
    placement.age_bracket = age_bracket(candidate.birth_year, placement.start_date)
    placement.sex = candidate.sex
    placement.eligibility_flagged = not criteria
    placement.frozen_at = at
    placement.status = PlacementStatus.ACTIVE


async def attribution_for_offer(session: AsyncSession, offer: Offer) -> Attribution | None:
    """The attribution of the offer's employer on the offer's lot (or on its contract when the
    offer names no lot and the employer has one attribution there); None when there is none or
    the choice is ambiguous."""
    if offer.contract_id is None:
        return None
    query = select(Attribution).where(
        col(Attribution.contract_id) == offer.contract_id,
        col(Attribution.organisation_id) == offer.employer_id,
    )
    if offer.lot_id is not None:
        query = query.where(col(Attribution.lot_id) == offer.lot_id)
    found = list(await session.scalars(query.limit(2)))
    return found[0] if len(found) == 1 else None


async def draft_for_hire(
    session: AsyncSession, match: Match, offer: Offer, today: date
) -> Placement | None:
    """The draft placement of a hire on a clause offer (in the hire's transaction); None when the
    offer is outside any clause contract, when no attribution of its employer is found, or when
    the match already has its placement (a hire is final: this runs once per match)."""
    if offer.contract_id is None:
        return None
    existing = await session.scalar(select(Placement).where(col(Placement.match_id) == match.id))
    if existing is not None:
        return existing
    attribution = await attribution_for_offer(session, offer)
    if attribution is None:
        return None
    placement = Placement(
        candidate_id=match.candidate_id,
        attribution_id=attribution.id,
        employer_id=offer.employer_id,
        match_id=match.id,
        modality=Modality.DIRECT_HIRE,
        contract_type=offer.contract_type,
        rome_code=offer.rome_code,
        start_date=offer.start_date if offer.start_date and offer.start_date >= today else today,
        end_date=offer.end_date
        if offer.end_date and offer.end_date >= max(today, offer.start_date or today)
        else None,
        weekly_hours=offer.hours_per_week,
        status=PlacementStatus.DRAFT,
    )
    session.add(placement)
    return placement
