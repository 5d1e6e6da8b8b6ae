"""Which outcome reminders are owed on a given day (decision 0081).

An outcome is due from its checkpoint's day. Reminders look back a bounded time only, so that a
first run (or a ledger typed in after the fact) does not remind people of years past. Statement
reminders are the notifications worker's ``statements`` job (decision 0077).
"""

from __future__ import annotations

from datetime import date, timedelta

OUTCOME_LOOKBACK = timedelta(days=60)
"""An outcome is reminded while its checkpoint is less than this far behind."""


def outcome_reminded(due: date, today: date) -> bool:
    """Whether an outcome due on ``due`` (and not recorded) is reminded on ``today``."""
    return due <= today and today - due <= OUTCOME_LOOKBACK
