"""Hand-built candidates and offers around a work site in Saint-Denis (93)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from services.core.models.candidate import Candidate, CandidateStatus, QpvStatus, Sex
from services.core.models.contract import Contract
from services.core.models.eligibility import EligibilityCriterion, EligibilityKind
from services.core.models.offer import Offer, OfferStatus
from services.core.models.organisation import Organisation
from services.core.referentials.sectors import SectorCode
from services.matching.profiles import build_queued_profiles
from tests.factories import make_offer

SITE = (2.3574, 48.9362)  # Saint-Denis
TODAY = date(2026, 3, 2)
START = date(2026, 4, 1)
_numbers = itertools.count(1)


def east_of_site(km: float) -> tuple[float, float]:
    """A point ``km`` east of the work site."""
    lon, lat = SITE
    return lon + km / (111.195 * math.cos(math.radians(lat))), lat


async def add_candidate(
    session: AsyncSession,
    *,
    km: float = 2.0,
    wanted: Sequence[SectorCode] = (SectorCode.CONSTRUCTION,),
    worked: Sequence[SectorCode] = (),
    rome_wishes: Sequence[str] = (),
    qpv: bool = False,
    available_from: date | None = TODAY,
    hours: int | None = None,
    radius: int | None = 15,
    status: CandidateStatus = CandidateStatus.ACTIVE,
    sex: Sex | None = None,
    birth_year: int | None = None,
    commune_insee: str | None = "93066",
) -> Candidate:
    lon, lat = east_of_site(km)
    number = next(_numbers)
    candidate = Candidate(
        first_name="Samia",
        last_name=f"Candidate{number}",
        search_name=f"candidate{number} samia",
        commune_insee=commune_insee,
        lon=lon,
        lat=lat,
        qpv_status=QpvStatus.IN_QPV if qpv else QpvStatus.OUTSIDE_QPV,
        sectors_wanted=list(wanted),
        sectors_worked=list(worked),
        rome_wishes=list(rome_wishes),
        available_from=available_from,
        hours_per_week=hours,
        mobility_radius_km=radius,
        status=status,
        sex=sex,
        birth_year=birth_year,
    )
    session.add(candidate)
    await session.flush()
    await build_queued_profiles(session)  # as the matching worker does before it ranks
    return candidate


async def add_criterion(
    session: AsyncSession,
    candidate: Candidate,
    *,
    validated_on: date | None = date(2026, 1, 10),
    expires_on: date | None = None,
    kind: EligibilityKind = EligibilityKind.DELD,
) -> EligibilityCriterion:
    criterion = EligibilityCriterion(
        candidate_id=candidate.id, kind=kind, validated_on=validated_on, expires_on=expires_on
    )
    session.add(criterion)
    await session.flush()
    return criterion


async def add_offer(
    session: AsyncSession,
    employer: Organisation,
    *,
    rome_code: str = "F1703",
    contract: Contract | None = None,
    requires_eligibility: bool = False,
    start_date: date | None = START,
    hours: Decimal | None = Decimal("35.0"),
    status: OfferStatus = OfferStatus.OPEN,
    site: tuple[float, float] = SITE,
) -> Offer:
    offer = await make_offer(
        session, employer, rome_code=rome_code, contract=contract, status=status
    )
    offer.lon, offer.lat = site
    offer.requires_eligibility = requires_eligibility
    offer.start_date = start_date
    offer.hours_per_week = hours
    await session.flush()
    return offer
