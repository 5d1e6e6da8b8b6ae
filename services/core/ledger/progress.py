"""A contract's progress (product.md §8.6, item 1): per lot and per company, the hours owed,
counted, declared but not yet validated, the rate, what remains, the pace expected by the day of
reading over the execution period, and whether the lot is behind it (decision 0074).

Pure: given the contract's dates, its obligations, attributions, placements and lines."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from services.core.ledger.counted import CountingRules, counted_hours
from services.core.ledger.owed import execution_days
from services.core.models.attribution import Attribution
from services.core.models.obligation import Obligation
from services.core.models.placement import Placement, StatementLine, StatementStatus

# Behind schedule: counted hours below this share of the hours expected by the day of reading.
BEHIND_BELOW = Decimal("0.9")
CENT = Decimal("0.01")


@dataclass
class Figures:
    owed: Decimal | None = None
    counted: Decimal = Decimal(0)
    pending: Decimal = Decimal(0)  # declared, not yet validated, that would count

    @property
    def rate_percent(self) -> Decimal | None:
        if not self.owed:
            return None
        return (self.counted * 100 / self.owed).quantize(CENT, rounding=ROUND_HALF_UP)

    @property
    def remaining(self) -> Decimal | None:
        return None if self.owed is None else max(self.owed - self.counted, Decimal(0))


@dataclass
class CompanyProgress:
    attribution: Attribution
    figures: Figures = field(default_factory=Figures)
    # Its own hours plus those of its subcontractors (the holder's total, §8).
    with_subcontractors: Decimal = Decimal(0)


@dataclass
class LotProgress:
    lot_id: uuid.UUID | None
    obligation: Obligation | None
    figures: Figures = field(default_factory=Figures)
    expected_by_now: Decimal | None = None
    behind_schedule: bool = False
    companies: list[CompanyProgress] = field(default_factory=list)


@dataclass
class ContractProgress:
    on: date
    elapsed_percent: Decimal
    figures: Figures
    expected_by_now: Decimal | None
    behind_schedule: bool
    lots: list[LotProgress]


def elapsed_share(start: date, end: date, on: date) -> Decimal:
    """The share of the execution period passed by the end of ``on`` (0 to 1)."""
    total = execution_days(start, end)
    if total <= 0 or on < start:
        return Decimal(0)
    if on >= end:
        return Decimal(1)
    return Decimal(execution_days(start, on)) / Decimal(total)


def _pending(rules: CountingRules, placement: Placement, line: StatementLine) -> Decimal:
    if line.status is not StatementStatus.DECLARED:
        return Decimal(0)
    as_validated = StatementLine(
        placement_id=line.placement_id,
        month=line.month,
        hours_worked=line.hours_worked,
        training_hours=line.training_hours,
        source=line.source,
        status=StatementStatus.VALIDATED,
        declared_by_type=line.declared_by_type,
        declared_at=line.declared_at,
    )
    return counted_hours(rules, placement, as_validated)


def progress(
    *,
    start: date,
    end: date,
    on: date,
    lot_ids: Sequence[uuid.UUID | None],
    obligations: Iterable[Obligation],
    attributions: Iterable[Attribution],
    lines: Iterable[tuple[Placement, StatementLine]],
) -> ContractProgress:
    """Figures as of the day ``on`` (lines of later months are left out)."""
    by_lot = {o.lot_id: o for o in obligations}
    share = elapsed_share(start, end, on)
    lots = {lot_id: LotProgress(lot_id, by_lot.get(lot_id)) for lot_id in lot_ids}
    companies: dict[uuid.UUID, CompanyProgress] = {}
    for attribution in attributions:
        lot = lots.setdefault(attribution.lot_id, LotProgress(attribution.lot_id, None))
        company = CompanyProgress(attribution)
        lot.companies.append(company)
        companies[attribution.id] = company
        if lot.obligation is not None and attribution.allocated_share_percent is not None:
            company.figures.owed = (
                lot.obligation.hours_owed * attribution.allocated_share_percent / 100
            ).quantize(CENT, rounding=ROUND_HALF_UP)
    rules = {lot_id: CountingRules.of(o) for lot_id, o in by_lot.items()}
    for placement, line in lines:
        company_ = companies.get(placement.attribution_id)
        if company_ is None or line.month > on:
            continue
        lot_rules = rules.get(company_.attribution.lot_id)
        if lot_rules is None:
            continue  # no obligation on this lot: nothing counts yet
        counted = counted_hours(lot_rules, placement, line)
        pending = _pending(lot_rules, placement, line)
        company_.figures.counted += counted
        company_.figures.pending += pending
    for company in companies.values():
        company.with_subcontractors += company.figures.counted
        parent = company.attribution.parent_attribution_id
        if parent is not None and parent in companies:
            companies[parent].with_subcontractors += company.figures.counted
    totals = Figures(owed=Decimal(0))
    expected_total = Decimal(0)
    any_behind = False
    for lot in lots.values():
        lot.figures.counted = sum((c.figures.counted for c in lot.companies), Decimal(0))
        lot.figures.pending = sum((c.figures.pending for c in lot.companies), Decimal(0))
        if lot.obligation is not None:
            lot.figures.owed = Decimal(lot.obligation.hours_owed)
            lot.expected_by_now = (lot.figures.owed * share).quantize(CENT, ROUND_HALF_UP)
            lot.behind_schedule = lot.figures.counted < lot.expected_by_now * BEHIND_BELOW
            totals.owed = (totals.owed or Decimal(0)) + lot.figures.owed
            expected_total += lot.expected_by_now
            any_behind |= lot.behind_schedule
        totals.counted += lot.figures.counted
        totals.pending += lot.figures.pending
    return ContractProgress(
        on=on,
        elapsed_percent=(share * 100).quantize(CENT, ROUND_HALF_UP),
        figures=totals,
        expected_by_now=expected_total.quantize(CENT),
        behind_schedule=any_behind,
        lots=list(lots.values()),
    )
