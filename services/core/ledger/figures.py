"""The figures of a clause-progress report (decision 0078): a row's hours, the publics reached,
a territory's target."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from services.core.ledger.pace import behind_schedule

ZERO = Decimal(0)
UNDER_50 = ("<10", "10-49")
# Lengths of the placements of the period, in days (an end date included): key, up to.
LENGTHS: tuple[tuple[str, int | None], ...] = (
    ("under_1_month", 30),
    ("1_to_6_months", 183),
    ("6_to_12_months", 366),
    ("over_12_months", None),
)
OPEN_ENDED = "open_ended"
UNKNOWN = "unknown"


def percent(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    """``part`` in % of ``whole``, one decimal (halves up); None when ``whole`` is nothing."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP)


@dataclass
class Hours:
    """The hours of one row: the scope's total, a lot, a contract or a company."""

    hours_owed: Decimal = ZERO
    counted_hours: Decimal = ZERO
    counted_hours_to_date: Decimal = ZERO
    declared_not_validated: Decimal = ZERO
    rejected_hours: Decimal = ZERO
    expected_hours: Decimal = ZERO
    qpv_hours: Decimal = ZERO
    subcontracted_hours: Decimal = ZERO
    penalty_exposure: Decimal = ZERO
    statements_due: int = 0
    statements_received: int = 0
    statements_late: int = 0

    @property
    def rate_percent(self) -> Decimal | None:
        return percent(self.counted_hours_to_date, self.hours_owed)

    @property
    def remaining_hours(self) -> Decimal:
        return max(self.hours_owed - self.counted_hours_to_date, ZERO)

    @property
    def behind_schedule(self) -> bool:
        return behind_schedule(self.counted_hours_to_date, self.expected_hours)

    @property
    def qpv_share_percent(self) -> Decimal | None:
        return percent(self.qpv_hours, self.counted_hours)

    @property
    def subcontracted_share_percent(self) -> Decimal | None:
        return percent(self.subcontracted_hours, self.counted_hours)

    @property
    def statements_missing(self) -> int:
        return self.statements_due - self.statements_received


@dataclass
class Row:
    id: uuid.UUID
    name: str
    hours: Hours = field(default_factory=Hours)
    # A lot's row: its contract; a company's: its role on its lots ("holder", …).
    detail: str | None = None


@dataclass
class Publics:
    """People, counted once each, by what their first placement of the scope froze."""

    total: int = 0
    by_sex: dict[str, int] = field(default_factory=dict)
    by_age_bracket: dict[str, int] = field(default_factory=dict)
    by_criterion: dict[str, int] = field(default_factory=dict)
    by_qualification: dict[str, int] = field(default_factory=dict)
    by_qpv: dict[str, int] = field(default_factory=dict)

    def add(self, people: int, values: dict[str, str], criteria: Iterable[str]) -> None:
        self.total += people
        for name, key in values.items():
            counts: dict[str, int] = getattr(self, f"by_{name}")
            counts[key] = counts.get(key, 0) + people
        for criterion in criteria or (UNKNOWN,):
            self.by_criterion[criterion] = self.by_criterion.get(criterion, 0) + people


@dataclass(frozen=True)
class Target:
    """A territory's target for a public (share of the participants, %)."""

    public: str  # "female", "<26", "50+"
    target_percent: Decimal
    people: int
    share_percent: Decimal | None

    @property
    def met(self) -> bool | None:
        return None if self.share_percent is None else self.share_percent >= self.target_percent
