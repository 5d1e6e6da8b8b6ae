"""The expected pace of an obligation and the ``behind_schedule`` flag (decision 0078).

The hours owed are spread evenly over the execution (the contract's days, both ends included).
What is expected at a date is measured at the end of the last statement period already due then
(a quarter's hours are not late before its statement is): the hours owed × the days elapsed at
that end ÷ the days of execution, in whole hours (halves up, as the hours owed). An obligation is
behind schedule when its counted hours are below 90 % of what is expected: the margin absorbs a
statement being validated, not a quarter without hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from services.core.ledger.owed import execution_days, whole_hours
from services.core.ledger.schedule import periods
from services.core.models.obligation import StatementSchedule

BEHIND_BELOW = Decimal("0.9")


@dataclass(frozen=True)
class Pace:
    expected_hours: Decimal
    # The end of the last statement period due (what ``expected_hours`` is measured at); None
    # when none is due yet.
    measured_on: date | None


def pace(
    owed: Decimal,
    *,
    start: date,
    end: date,
    schedule: StatementSchedule,
    due_day: int,
    period_end: date,
    today: date,
) -> Pace:
    """The hours expected by ``period_end`` (as far as statements are due on ``today``)."""
    total = execution_days(start, end)
    if total == 0 or owed <= 0:
        return Pace(Decimal(0), None)
    measured: date | None = None
    for statement in periods(schedule, start, min(end, period_end), due_day):
        if statement.end <= period_end and statement.due <= today:
            measured = min(statement.end, end)
    if measured is None:
        return Pace(Decimal(0), None)
    elapsed = min(execution_days(start, measured), total)
    return Pace(whole_hours(owed * elapsed / total), measured)


def behind_schedule(counted: Decimal, expected: Decimal) -> bool:
    """Counted hours below 90 % of the hours expected (never while nothing is expected)."""
    return expected > 0 and counted < expected * BEHIND_BELOW
