"""Counted hours (§8.4): the validated hours of a statement line that the obligation's rules count.

- only ``validated`` lines, of a started placement;
- a placement counts when its modality is allowed, and the participant held (at the start) a
  criterion among the eligible publics (any criterion when the obligation names none), or was
  accepted as an exception by a facilitator;
- nothing of a month outside the placement's dates;
- training hours only when the obligation lets them count;
- a CDI's hours only during its first ``cdi_cap_years`` years, when the obligation caps them.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from services.core.models.obligation import Modality, Obligation
from services.core.models.offer import ContractType
from services.core.models.placement import (
    Placement,
    PlacementStatus,
    StatementLine,
    StatementStatus,
)

CAPPED_CONTRACT_TYPES = frozenset({ContractType.CDI})


@dataclass(frozen=True)
class CountingRules:
    training_counts: bool = False
    cdi_cap_years: int | None = None
    allowed_modalities: frozenset[Modality] = frozenset(Modality)
    eligible_publics: frozenset[str] = frozenset()

    @classmethod
    def of(cls, obligation: Obligation) -> CountingRules:
        return cls(
            training_counts=obligation.training_counts,
            cdi_cap_years=obligation.cdi_cap_years,
            allowed_modalities=frozenset(Modality(m) for m in obligation.allowed_modalities),
            eligible_publics=frozenset(obligation.eligible_publics),
        )


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def last_of_month(month: date) -> date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def month_within(month: date, start: date, end: date | None) -> bool:
    """Whether the month starting on ``month`` meets the days from ``start`` to ``end``."""
    return last_of_month(month) >= start and (end is None or month <= end)


def eligible(rules: CountingRules, placement: Placement) -> bool:
    if placement.exception_reason:
        return True
    held = set(placement.eligibility_criteria)
    if not held:
        return False
    return not rules.eligible_publics or bool(held & rules.eligible_publics)


def placement_counts(rules: CountingRules, placement: Placement) -> bool:
    return (
        placement.status is PlacementStatus.ACTIVE
        and Modality(placement.modality) in rules.allowed_modalities
        and eligible(rules, placement)
    )


def within_cdi_cap(rules: CountingRules, placement: Placement, month: date) -> bool:
    if rules.cdi_cap_years is None or placement.contract_type not in CAPPED_CONTRACT_TYPES:
        return True
    return month < add_years(placement.start_date, rules.cdi_cap_years)


def counted_hours(rules: CountingRules, placement: Placement, line: StatementLine) -> Decimal:
    """The hours of ``line`` the obligation counts."""
    if line.status is not StatementStatus.VALIDATED or not placement_counts(rules, placement):
        return Decimal(0)
    if not month_within(line.month, placement.start_date, placement.end_date):
        return Decimal(0)
    if not within_cdi_cap(rules, placement, line.month):
        return Decimal(0)
    if rules.training_counts:
        return line.hours_worked
    return line.hours_worked - line.training_hours


def total_counted(
    rules: CountingRules, lines: Iterable[tuple[Placement, StatementLine]]
) -> Decimal:
    return sum((counted_hours(rules, p, line) for p, line in lines), Decimal(0))
