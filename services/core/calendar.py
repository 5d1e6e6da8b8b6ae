"""Working days and Paris wall-clock moments: Monday to Friday, French public holidays excluded,
Europe/Paris time. Used by the callback schedule, the daily digest and whatever else counts
working days."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

import holidays

from services.core.clock import PARIS


@lru_cache(maxsize=64)
def _holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("FR", years=year).keys())


def is_working_day(day: date) -> bool:
    """Monday to Friday, French public holidays excluded."""
    return day.weekday() < 5 and day not in _holidays(day.year)


def next_working_day(day: date) -> date:
    """The first working day strictly after ``day``."""
    day += timedelta(days=1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def add_working_days(day: date, count: int) -> date:
    for _ in range(count):
        day = next_working_day(day)
    return day


def local(day: date, at: time) -> datetime:
    """A Paris wall-clock moment, in UTC."""
    return datetime.combine(day, at, tzinfo=PARIS).astimezone(UTC)
