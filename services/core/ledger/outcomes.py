"""When a placement's outcomes are due (§8.5): at its end, and again 6 and 12 months later."""

from __future__ import annotations

import calendar
from datetime import date

from services.core.models.outcome import OutcomeCheckpoint

CHECKPOINT_MONTHS: dict[OutcomeCheckpoint, int] = {
    OutcomeCheckpoint.EXIT: 0,
    OutcomeCheckpoint.SIX_MONTHS: 6,
    OutcomeCheckpoint.TWELVE_MONTHS: 12,
}


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months, kept within the target month (31 August + 6 months is the
    28th or 29th of February)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def due_on(end_date: date, checkpoint: OutcomeCheckpoint) -> date:
    """The day the outcome of a placement ending on ``end_date`` is due at ``checkpoint``."""
    return add_months(end_date, CHECKPOINT_MONTHS[checkpoint])
