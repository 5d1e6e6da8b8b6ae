"""The points of each matching criterion, read from the instance settings (product.md §5)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from services.core.settings import Settings

UNKNOWN_SHARE = 0.5
"""What a fact the person did not give (availability date, weekly hours, mobility radius) earns,
as a share of the best points a declared value earns (decision 0038): never more than someone
who filled it in with the best answer, never as little as someone who declared the worst."""


class Criterion(StrEnum):
    """The five criteria of a match's score, in the order they are shown."""

    SECTOR = "sector"
    QPV = "qpv"
    AVAILABILITY = "availability"
    DISTANCE = "distance"
    ELIGIBILITY = "eligibility"


@dataclass(frozen=True, slots=True)
class Weights:
    sector: float
    sector_experience: float
    qpv: float
    qpv_priority: float
    availability: float
    availability_decay_days: int
    hours: float
    distance: float
    eligibility: float

    @classmethod
    def from_settings(cls, settings: Settings) -> Weights:
        return cls(
            sector=settings.matching_weight_sector,
            sector_experience=settings.matching_weight_sector_experience,
            qpv=settings.matching_weight_qpv,
            qpv_priority=settings.matching_weight_qpv_priority,
            availability=settings.matching_weight_availability,
            availability_decay_days=settings.matching_availability_decay_days,
            hours=settings.matching_weight_hours,
            distance=settings.matching_weight_distance,
            eligibility=settings.matching_weight_eligibility,
        )
