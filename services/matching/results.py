"""What a ranking returns: the ranked rows and the explanation of their score (five criteria,
points now, French labels when first read — decision 0031)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from itertools import repeat
from typing import Any, NamedTuple

from services.core.ranking.weights import Criterion


class CriterionPoints(NamedTuple):
    # A named tuple, not a dataclass: five per ranked row, built for every ranking.
    criterion: Criterion
    points: float
    label: str


_ORDER = (
    Criterion.SECTOR,
    Criterion.QPV,
    Criterion.AVAILABILITY,
    Criterion.DISTANCE,
    Criterion.ELIGIBILITY,
)
_POSITION = {criterion: k for k, criterion in enumerate(_ORDER)}
_NEW = tuple.__new__


class Explanation:
    """The five criteria, in order; ``score`` is the sum of their points.

    The points come with the row; the French labels are built on first reading (``criteria``,
    ``label``): the matching worker stores points only, and a ranking's fifty or hundred rows
    would otherwise build 250–500 sentences nobody reads.
    """

    __slots__ = ("_criteria", "_labels", "_points")

    def __init__(
        self, points: tuple[float, ...], labels: Callable[[], tuple[str, ...]] | None = None
    ) -> None:
        self._points = points
        self._labels = labels
        self._criteria: tuple[CriterionPoints, ...] | None = None

    @classmethod
    def of(cls, criteria: tuple[CriterionPoints, ...]) -> Explanation:
        """An explanation from its five criteria, given in order."""
        if tuple(c.criterion for c in criteria) != _ORDER:
            raise ValueError("the five criteria, in order")
        made = cls(tuple(c.points for c in criteria))
        made._criteria = criteria
        return made

    @property
    def criteria(self) -> tuple[CriterionPoints, ...]:
        if self._criteria is None:
            labels = self._labels() if self._labels is not None else ("",) * len(_ORDER)
            # tuple.__new__ makes each named tuple without a Python call (five a row).
            self._criteria = tuple(
                map(_NEW, repeat(CriterionPoints), zip(_ORDER, self._points, labels, strict=False))
            )
            self._labels = None
        return self._criteria

    def points(self, criterion: Criterion) -> float:
        return self._points[_POSITION[criterion]]

    def label(self, criterion: Criterion) -> str:
        return self.criteria[_POSITION[criterion]].label

    @property
    def score(self) -> float:
        return round(sum(self._points), 2)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Explanation):
            return NotImplemented
        return self.criteria == other.criteria

    def __hash__(self) -> int:
        return hash(self.criteria)

    def __repr__(self) -> str:
        return f"Explanation({self.criteria!r})"


def explanation_of(row: Any, labels: Callable[[], tuple[str, ...]]) -> Explanation:
    """A ranked row's five points now, its labels when first read."""
    return Explanation(
        (
            row["sector_points"],
            row["qpv_points"],
            row["availability_points"],
            row["distance_points"],
            row["eligibility_points"],
        ),
        labels,
    )


class RankedCandidate(NamedTuple):
    # Named tuples, not dataclasses: one per ranked row, built for every ranking.
    candidate_id: uuid.UUID
    rank: int
    score: float
    explanation: Explanation
    distance_km: float
    available_from: date | None


class RankedOffer(NamedTuple):
    offer_id: uuid.UUID
    rank: int
    score: float
    explanation: Explanation
    distance_km: float
    start_date: date | None
