"""Which statement and outcome reminders are owed on a given day (decision 0081).

A statement period is **due** from the day after it ends to its due day, **late** after; an
outcome is due from its checkpoint's day. Reminders look back a bounded time only, so that a
first run (or a ledger typed in after the fact) does not remind people of years past.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from services.core.ledger.schedule import StatementPeriod, periods
from services.core.models.obligation import StatementSchedule

STATEMENT_LOOKBACK = timedelta(days=92)
"""A late statement is reminded while its due day is less than this far behind."""

OUTCOME_LOOKBACK = timedelta(days=60)
"""An outcome is reminded while its checkpoint is less than this far behind."""


class StatementReminder(StrEnum):
    DUE = "due"  # the period has ended, its due day has not passed
    LATE = "late"  # its due day has passed


@dataclass(frozen=True)
class OwedStatement:
    period: StatementPeriod
    reminder: StatementReminder


def owed_statements(schedule: StatementSchedule, due_day: int, today: date) -> list[OwedStatement]:
    """The statement periods that call for a reminder on ``today`` (if still not received)."""
    # Every period whose due day may fall in the lookback, up to the one holding today.
    start = today - STATEMENT_LOOKBACK - timedelta(days=62)
    owed: list[OwedStatement] = []
    for period in periods(schedule, start, today, due_day):
        if period.end >= today:
            continue
        if today <= period.due:
            owed.append(OwedStatement(period, StatementReminder.DUE))
        elif today - period.due <= STATEMENT_LOOKBACK:
            owed.append(OwedStatement(period, StatementReminder.LATE))
    return owed


def outcome_reminded(due: date, today: date) -> bool:
    """Whether an outcome due on ``due`` (and not recorded) is reminded on ``today``."""
    return due <= today and today - due <= OUTCOME_LOOKBACK


def period_label(period: StatementPeriod) -> str:
    """French: « 1er trimestre 2027 », « mars 2027 »."""
    if period.start.month == period.end.month:
        return f"{MONTHS[period.start.month - 1]} {period.start.year}"
    quarter = (period.start.month - 1) // 3 + 1
    return f"{'1er' if quarter == 1 else f'{quarter}e'} trimestre {period.start.year}"


MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
