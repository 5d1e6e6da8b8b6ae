"""Hours owed by an obligation, from its method's parameters (decision 0074).

Each method gives an exact figure first (``Decimal``); it is rounded once, at the end, to a whole
hour: half an hour and more upwards (``ROUND_HALF_UP``), less downwards. ``per_invoiced_tranche``
counts complete tranches only (a tranche begun is not owed). A parameter missing for the method
gives 0 h owed, never an error: the obligation may be typed in several steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from services.core.models.obligation import Obligation, ObligationMethod

HUNDRED = Decimal(100)
DAYS_PER_YEAR = Decimal(365)


@dataclass(frozen=True)
class Declared:
    """What the declarations of the operation add up to."""

    hours_worked: Decimal = Decimal(0)
    amount_invoiced: Decimal = Decimal(0)


def whole_hours(exact: Decimal) -> Decimal:
    """An exact number of hours rounded to the whole hour, halves upwards."""
    return exact.quantize(Decimal(1), rounding=ROUND_HALF_UP)


def labour_share(
    amount: Decimal, labour_percent: Decimal, rate_percent: Decimal, hourly_cost: Decimal
) -> Decimal:
    """amount × labour share × insertion rate ÷ hourly cost."""
    if hourly_cost <= 0:
        return Decimal(0)
    return whole_hours(amount * labour_percent / HUNDRED * rate_percent / HUNDRED / hourly_cost)


def per_invoiced_tranche(invoiced: Decimal, threshold: Decimal, tranche: Decimal) -> Decimal:
    """One hour per complete tranche invoiced beyond the threshold."""
    if tranche <= 0 or invoiced <= threshold:
        return Decimal(0)
    return ((invoiced - threshold) / tranche).quantize(Decimal(1), rounding=ROUND_FLOOR)


def share_of_hours_worked(hours_worked: Decimal, percent: Decimal) -> Decimal:
    return whole_hours(hours_worked * percent / HUNDRED)


def execution_days(start: date, end: date) -> int:
    """Days of execution, both ends included."""
    return max((end - start).days + 1, 0)


def hours_per_year(per_year: Decimal, start: date, end: date) -> Decimal:
    """N hours a year of execution, pro rata of the days (365 a year)."""
    return whole_hours(per_year * execution_days(start, end) / DAYS_PER_YEAR)


def hours_owed(
    obligation: Obligation, *, start: date, end: date, declared: Declared = Declared()
) -> Decimal:
    """The hours ``obligation`` owes over an execution from ``start`` to ``end``."""
    o = obligation
    zero = Decimal(0)
    match ObligationMethod(o.method):
        case ObligationMethod.FIXED_HOURS:
            return o.fixed_hours if o.fixed_hours is not None else zero
        case ObligationMethod.LABOUR_SHARE:
            if None in (o.amount, o.labour_share_percent, o.insertion_rate_percent, o.hourly_cost):
                return zero
            assert o.amount is not None and o.labour_share_percent is not None
            assert o.insertion_rate_percent is not None and o.hourly_cost is not None
            return labour_share(
                o.amount, o.labour_share_percent, o.insertion_rate_percent, o.hourly_cost
            )
        case ObligationMethod.PER_INVOICED_TRANCHE:
            if o.tranche_amount is None or o.tranche_threshold is None:
                return zero
            return per_invoiced_tranche(
                declared.amount_invoiced, o.tranche_threshold, o.tranche_amount
            )
        case ObligationMethod.SHARE_OF_HOURS_WORKED:
            if o.hours_share_percent is None:
                return zero
            return share_of_hours_worked(declared.hours_worked, o.hours_share_percent)
        case ObligationMethod.HOURS_PER_YEAR:
            if o.hours_per_year is None:
                return zero
            return hours_per_year(o.hours_per_year, start, end)
