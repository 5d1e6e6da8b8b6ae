"""When statements are due (§8.1): per month or per calendar quarter, by a day of the next month
(default: quarterly, by the 15th)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from services.core.ledger.counted import last_of_month
from services.core.models.obligation import StatementSchedule


@dataclass(frozen=True)
class StatementPeriod:
    start: date
    end: date
    due: date


def _next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def period_of(schedule: StatementSchedule, day: date, due_day: int = 15) -> StatementPeriod:
    """The statement period that holds ``day``."""
    if schedule is StatementSchedule.MONTHLY:
        start = day.replace(day=1)
        end = last_of_month(start)
    else:
        first_month = (day.month - 1) // 3 * 3 + 1
        start = date(day.year, first_month, 1)
        end = last_of_month(date(day.year, first_month + 2, 1))
    return StatementPeriod(start, end, _next_month(end).replace(day=due_day))


def periods(
    schedule: StatementSchedule, start: date, end: date, due_day: int = 15
) -> list[StatementPeriod]:
    """Every statement period meeting the days from ``start`` to ``end``."""
    found: list[StatementPeriod] = []
    day = start
    while day <= end:
        period = period_of(schedule, day, due_day)
        found.append(period)
        day = _next_month(period.end)
    return found


def last_ended(schedule: StatementSchedule, today: date, due_day: int = 15) -> StatementPeriod:
    """The latest statement period that ended before ``today``."""
    current = period_of(schedule, today, due_day)
    return period_of(schedule, current.start.replace(day=1) - timedelta(days=1), due_day)


def months_of(period: StatementPeriod) -> list[date]:
    months, month = [], period.start
    while month <= period.end:
        months.append(month)
        month = _next_month(month)
    return months
